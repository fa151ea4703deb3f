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
        { $"cell=\"0303 0030 0002 0000\" kernels=1,3 {Tail} timesteps=3", TimestepLayout.Batched, WeightPrecision.Float32, "f9048449ec4440bbe25ee5bd250a5ca6f1f0be1aaa7d430d1557171488d097c1" },
        { $"cell=\"0303 0030 0002 0000\" kernels=1,3 {Tail} timesteps=3", TimestepLayout.Step, WeightPrecision.Float32, "00f7783b1283cfc52e3f940f0e40285f18be096d25805e703a69a00578b526f2" },
        { $"cell=\"0303 0030 0002 0000\" kernels=1,3 {Tail} timesteps=3", TimestepLayout.Batched, WeightPrecision.Int8, "c1d58db2cf446290aff2758f67ac8668a7c0f3f500c8c331207463c3a41a855c" },
        { $"cell=\"0303 0030 2002 0200\" kernels=1,3 {Tail} timesteps=3", TimestepLayout.Batched, WeightPrecision.Float32, "4f1400f8f807ee34128438b525f276bd8c188f8e5262c7f1cb85a24a74159152" },
        { $"cell=\"0303 0030 2002 0200\" kernels=1,3 {Tail} timesteps=3", TimestepLayout.Step, WeightPrecision.Int8, "ffc3dc473d7f4e4729b0e08ef907fa939d888fb60bb80585c4d7c2a14b129c16" },
        { $"cell=\"0526 0043 0005 0000\" kernels=1,3,5,7 {Tail} sap=2 timesteps=4 reset=soft", TimestepLayout.Batched, WeightPrecision.Float32, "02e43a727a6e0dd81787ef9548ad4dbb134483dc84e353dd4d7c67babf306bf4" },
        { $"cell=\"0526 0043 0005 0000\" kernels=1,3,5,7 {Tail} sap=2 timesteps=4 reset=soft", TimestepLayout.Step, WeightPrecision.Int8, "fe946d77789d161b218b19f69c14be65d80d0913c090fe6b36a9087ccbff4965" },
        { $"cell=\"0360 4002 0501 0000\" kernels=1,3,5,7 {Tail} timesteps=2 v-reset=0.25", TimestepLayout.Batched, WeightPrecision.Int8, "cc7e4ca19f81d63e8b5289106edae33ad5da0c84527556a235e7a17acc1f4197" },
        { $"cell=\"0360 4002 0501 0000\" kernels=1,3,5,7 {Tail} timesteps=2 v-reset=0.25", TimestepLayout.Step, WeightPrecision.Float32, "faebfebb12d0b10e19adcc60fbee05aad453e89861efde59e72e6b533ee3cfb9" },
        { $"cell=\"0303 0030 2002 0200\" kernels=1,3 {Tail} timesteps=1", TimestepLayout.Batched, WeightPrecision.Float32, "478934680237d9f06e1eadf72154f27410702d086a61e23a9bcb8ce44e7fdf4d" },
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
