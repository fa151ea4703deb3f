using System.Security.Cryptography;
using Google.Protobuf;
using Onnx;
using SpiKernel.Evaluators.Models;

namespace SpiKernel.Evaluators.Tests;

/// <summary>A model's hash covers the weights it keeps in a file beside it: new weights there are a new model to evaluate --resume.</summary>
public class ExternalDataHashTests
{
    [Fact]
    public void Should_ChangeTheModelsHash_When_OnlyItsExternalWeightsChange()
    {
        using var dir = new TempFolder();
        string path = ForeignModels.ReluMaxPool(dir.File("m.onnx"));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)))[..12], ModelInfo.HashOf(path)); // no external data: the file's bytes

        // the classifier's weights moved into w.bin, as ONNX's external data format keeps large tensors
        ModelProto proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        TensorProto fc = proto.Graph.Initializer.Single(t => t.Name == "fc.weight");
        byte[] weights = fc.RawData.ToByteArray();
        Assert.Equal(640 * sizeof(float), weights.Length);
        fc.RawData = ByteString.Empty;
        fc.DataLocation = TensorProto.Types.DataLocation.External;
        fc.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "w.bin" });
        fc.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = weights.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        File.WriteAllBytes(path, proto.ToByteArray());
        File.WriteAllBytes(dir.File("w.bin"), weights);
        string before = ModelInfo.Load(path).Sha256; // ONNX Runtime loads it, weights from beside it
        Assert.Equal(before, ModelInfo.HashOf(path));

        weights[0] ^= 0x40; // one weight changed, the .onnx file not
        File.WriteAllBytes(dir.File("w.bin"), weights);
        string after = ModelInfo.Load(path).Sha256;
        Assert.NotEqual(before, after);
        Assert.Equal(after, ModelInfo.HashOf(path));
    }
}
