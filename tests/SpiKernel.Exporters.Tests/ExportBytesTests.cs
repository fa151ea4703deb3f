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
/// the hashes. A deliberate change of the graph updates the expected hashes (the failure message lists them).
/// </summary>
public class ExportBytesTests
{
    private const string Tail = "input=1x12x12 channels=4 hidden=8 classes=3 cluster=2";

    public static TheoryData<string, TimestepLayout, WeightPrecision, string> Cases() => new()
    {
        { $"cell=\"0303 0030 0002 0000\" kernels=1,3 {Tail} timesteps=3", TimestepLayout.Batched, WeightPrecision.Float32, "8eb97d5392a5d98d11b234b77b2e6b86e3b8a953f3396ad5b50f766def44f633" },
        { $"cell=\"0303 0030 0002 0000\" kernels=1,3 {Tail} timesteps=3", TimestepLayout.Step, WeightPrecision.Float32, "3906711bd7b2f1e6139d9f496216b9a1b82d448c5942188ae966be4cb1f17260" },
        { $"cell=\"0303 0030 0002 0000\" kernels=1,3 {Tail} timesteps=3", TimestepLayout.Batched, WeightPrecision.Int8, "29b4870fc484d81374ea3f9ff35635a4995490c2391bbd8936cf92589b61ad02" },
        { $"cell=\"0303 0030 2002 0200\" kernels=1,3 {Tail} timesteps=3", TimestepLayout.Batched, WeightPrecision.Float32, "2f51e7aaf86e4d24d011df70902eac89979cc1d3bc7798dbd3a1d348f5e72049" },
        { $"cell=\"0303 0030 2002 0200\" kernels=1,3 {Tail} timesteps=3", TimestepLayout.Step, WeightPrecision.Int8, "3a331f8995c575c1bf6cb2db2836f59843dfc42aa3b43e19caf3befe473e812f" },
        { $"cell=\"0526 0043 0005 0000\" kernels=1,3,5,7 {Tail} sap=2 timesteps=4 reset=soft", TimestepLayout.Batched, WeightPrecision.Float32, "c595a7d00889af6773c616b18eb38f6518959e45dfa64010c1f0ad66203b5cf1" },
        { $"cell=\"0526 0043 0005 0000\" kernels=1,3,5,7 {Tail} sap=2 timesteps=4 reset=soft", TimestepLayout.Step, WeightPrecision.Int8, "5bd9c0d93409c8a50cb92cbd088f38438076bae6e0a8b6b7aa8cc07607f50d30" },
        { $"cell=\"0360 4002 0501 0000\" kernels=1,3,5,7 {Tail} timesteps=2 v-reset=0.25", TimestepLayout.Batched, WeightPrecision.Int8, "b3c189617daa90c800b366073d6825058dd911db85c43c0db9799df1517e0642" },
        { $"cell=\"0360 4002 0501 0000\" kernels=1,3,5,7 {Tail} timesteps=2 v-reset=0.25", TimestepLayout.Step, WeightPrecision.Float32, "c759b6d7336ebaebbd517a0bc362e7acc80a00493f1d018461e9112dd5392078" },
        { $"cell=\"0303 0030 2002 0200\" kernels=1,3 {Tail} timesteps=1", TimestepLayout.Batched, WeightPrecision.Float32, "928c8e2176be33a408b16c3ce4d23334968db61403bd2e24529d22cb5667057e" },
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
