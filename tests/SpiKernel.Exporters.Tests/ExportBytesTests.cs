using System.Security.Cryptography;
using Google.Protobuf;
using Onnx;
using SpiKernel.Core;
using SpiKernel.Models.Architecture;
using SpiKernel.Models.Network;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace SpiKernel.Exporters.Tests;

/// <summary>
/// Pins the exact bytes the exporter writes for a few architectures, layouts and precisions, so a refactoring that
/// changes any node, name, attribute, initializer or their order is caught. The weights and BatchNorm statistics are
/// written from an integer formula (no random generator, no training: the same numbers on every machine); the tool
/// version (producer version and <c>spikernel.tool_version</c>) is blanked before hashing so a release does not move
/// the hashes. A deliberate change of the graph updates the expected hashes (the failure message lists them) and
/// raises <see cref="SnnOnnxExporter.FormatVersion"/> with <see cref="PinnedFormat"/>: a resumed run exports again only then.
/// </summary>
public class ExportBytesTests
{
    /// <summary>The exporter format the hashes below are of.</summary>
    private const int PinnedFormat = 1;

    [Fact]
    public void Should_PinTheBytesOfTheCurrentFormat() =>
        Assert.True(SnnOnnxExporter.FormatVersion == PinnedFormat, "the exporter's format changed: pin its bytes again (and update PinnedFormat)");

    private const string Tail = "input=1x12x12 channels=4 hidden=8 classes=3 cluster=2";

    public static TheoryData<string, TimestepLayout, WeightPrecision, string> Cases() => new()
    {
        { $"cell=\"0303 0030 0002 0000\" kernels=1,3 {Tail} timesteps=3", TimestepLayout.Batched, WeightPrecision.Float32, "fda2f6ad1edb88d0356648e7d172386224d61168a50ca221bc2f60aa4f27cadd" },
        { $"cell=\"0303 0030 0002 0000\" kernels=1,3 {Tail} timesteps=3", TimestepLayout.Step, WeightPrecision.Float32, "50f9b0cd21185b0d326f3b5c3a373eed481903c92b8002e10cd4d27f4ae61ab9" },
        { $"cell=\"0303 0030 0002 0000\" kernels=1,3 {Tail} timesteps=3", TimestepLayout.Batched, WeightPrecision.Int8, "523694a078ccb0d11e9fb17c936402c17e1c7b467f90f692769a593b7cc17faa" },
        { $"cell=\"0303 0030 2002 0200\" kernels=1,3 {Tail} timesteps=3", TimestepLayout.Batched, WeightPrecision.Float32, "2c90d7b0910f1e95bfefbb0ece354a74652156fa6800724d6d821908fd41e794" },
        { $"cell=\"0303 0030 2002 0200\" kernels=1,3 {Tail} timesteps=3", TimestepLayout.Step, WeightPrecision.Int8, "d40172e2f2cb4dd5bea63a7573cabcfa83688e29b29942ebbd8ac1bb32817c1b" },
        { $"cell=\"0526 0043 0005 0000\" kernels=1,3,5,7 {Tail} sap=2 timesteps=4 reset=soft", TimestepLayout.Batched, WeightPrecision.Float32, "0f1fd3147f5b543da8f46daade61b5282b25ab51b6c9aaf1a94c35e875041741" },
        { $"cell=\"0526 0043 0005 0000\" kernels=1,3,5,7 {Tail} sap=2 timesteps=4 reset=soft", TimestepLayout.Step, WeightPrecision.Int8, "5d4a962e54a78a096528a26f3d39599f0a5bf6fb6680abf0ecf32b8e1e5b4e8c" },
        { $"cell=\"0360 4002 0501 0000\" kernels=1,3,5,7 {Tail} timesteps=2 v-reset=0.25", TimestepLayout.Batched, WeightPrecision.Int8, "6f00e52cedb43bda3c0d4df178ac82f1dcc25601b2b0e7cad820d0ca62955574" },
        { $"cell=\"0360 4002 0501 0000\" kernels=1,3,5,7 {Tail} timesteps=2 v-reset=0.25", TimestepLayout.Step, WeightPrecision.Float32, "557be0e141d3709badfd5afbc4bbb0a823582c8440f3445507b094624e7002c6" },
        { $"cell=\"0303 0030 2002 0200\" kernels=1,3 {Tail} timesteps=1", TimestepLayout.Batched, WeightPrecision.Float32, "d4ee5c434ba9f5049013270963e3b54e17ba8741501aef5d20baf820cd7bc2b0" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Should_WritePinnedBytes_When_FixedWeightsAreExported(string architecture, TimestepLayout layout, WeightPrecision precision, string sha256)
    {
        using SpikingNetwork net = FixedNetwork(SnnArchitecture.Parse(architecture));
        ModelProto model = SnnOnnxExporter.Export(net, new ExportOptions(layout, precision), new ModelFacts([0.5f], [0.25f], ["a", "b", "c"], "pinned", 0.5));
        string actual = Hash(model);
        Assert.True(actual == sha256, $"{architecture} {layout} {precision}: sha256 {actual}");
    }

    /// <summary>The network of <paramref name="arch"/> with every parameter and buffer set from an integer formula.</summary>
    internal static SpikingNetwork FixedNetwork(SnnArchitecture arch)
    {
        var net = new SpikingNetwork(arch);
        uint state = 12345;
        using (no_grad())
        {
            foreach ((string name, Tensor t) in net.state_dict())
            {
                bool positive = name.EndsWith("running_var", StringComparison.Ordinal);
                var values = new float[t.numel()];
                for (int i = 0; i < values.Length; i++)
                {
                    state = state * 1664525u + 1013904223u;
                    int k = (int)(state >> 20) % 1001; // 0 … 1000
                    values[i] = positive ? 0.25f + k / 1000f : (k - 500) / 1000f;
                }
                using Tensor v = tensor(values, t.shape);
                t.copy_(v);
            }
        }
        net.eval();
        return net;
    }

    /// <summary>SHA-256 of the serialised model with the tool version blanked.</summary>
    internal static string Hash(ModelProto model)
    {
        ModelProto m = model.Clone();
        m.ProducerVersion = "";
        foreach (StringStringEntryProto p in m.MetadataProps)
            if (p.Key == MetadataKeys.ToolVersion) p.Value = "";
        return Convert.ToHexStringLower(SHA256.HashData(m.ToByteArray()));
    }
}
