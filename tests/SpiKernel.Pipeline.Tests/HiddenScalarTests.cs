using System.Reflection;
using System.Reflection.Emit;
using TorchSharp;
using static TorchSharp.torch;

namespace SpiKernel.Pipeline.Tests;

/// <summary>
/// No method of the library's assemblies (and the CLI's) calls a TorchSharp member that makes a Scalar and hands libtorch its bare
/// handle, which a collection on another thread can free mid-call (docs/train.md, "Fixed: a scalar freed under
/// libtorch"): a number converted to a Scalar (<c>x * 2.0</c>, <c>x.ge(0.5)</c>), <c>add</c> without its α, the
/// <c>+</c> operator (an <c>add</c>), and the <c>ToDouble</c>-style readers. Read from the compiled IL of every method,
/// lambdas and local functions included, so a new call site fails here whether or not a stress test happens to hit it.
/// </summary>
public class HiddenScalarTests
{
    [Fact]
    public void Should_MakeNoTemporaryScalar_When_TheLibraryCallsTorchSharp()
    {
        Assembly[] ours = [typeof(Models.Network.SpikingNetwork).Assembly, typeof(Training.Trainer).Assembly, typeof(Exporters.SnnOnnxExporter).Assembly,
            typeof(Cli.Program).Assembly];
        var found = new SortedSet<string>(StringComparer.Ordinal);
        int calls = 0;
        foreach (Type type in ours.SelectMany(a => a.GetTypes()))
        {
            const BindingFlags declared = BindingFlags.DeclaredOnly | BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic;
            foreach (MethodBase method in type.GetMethods(declared).Cast<MethodBase>().Concat(type.GetConstructors(declared)))
            {
                byte[]? il = method.GetMethodBody()?.GetILAsByteArray();
                if (il is null) continue;
                foreach (int token in MethodTokens(il))
                {
                    MethodBase? callee = Resolve(method, token);
                    if (callee is null) continue;
                    calls++;
                    if (MakesScalar(callee)) found.Add($"{type.FullName}.{method.Name} calls {callee.DeclaringType?.Name}.{callee.Name}({string.Join(", ", callee.GetParameters().Select(p => p.ParameterType.Name))})");
                }
            }
        }
        Assert.True(calls > 1000, $"only {calls} calls read: the IL walk is broken");
        Assert.True(found.Count == 0, "temporary Scalars handed to libtorch:\n" + string.Join("\n", found));
    }

    [Fact]
    public void Should_FindTheCallsItLooksFor_When_ACompiledMethodHasThem()
    {
        MethodInfo sample = typeof(HiddenScalarTests).GetMethod(nameof(Offender), BindingFlags.NonPublic | BindingFlags.Static)!;
        MethodBase[] callees = MethodTokens(sample.GetMethodBody()!.GetILAsByteArray()!).Select(t => Resolve(sample, t)).OfType<MethodBase>().ToArray();
        Assert.Equal(["op_Multiply", "op_Implicit", "ge", "add_", "op_Addition", "ToDouble"],
            callees.Where(c => c.Name is "op_Implicit" or "op_Multiply" or "ge" or "add_" or "op_Addition" or "ToDouble").Select(c => c.Name));
        Assert.Equal(5, callees.Count(MakesScalar)); // ge(Scalar) itself is fine: its Scalar came from op_Implicit
    }

    private static double Offender(Tensor x, Tensor y)
    {
        using Tensor a = x * 2.0;
        using Tensor fired = a.ge(0.5);
        a.add_(y);
        using Tensor b = a + y;
        return b.ToDouble();
    }

    private static bool MakesScalar(MethodBase callee)
    {
        Type? owner = callee.DeclaringType;
        ParameterInfo[] parameters = callee.GetParameters();
        bool onTensor = owner == typeof(Tensor) || (parameters.Length > 0 && parameters[0].ParameterType == typeof(Tensor) && callee.IsStatic);
        return (owner == typeof(Scalar) && callee.Name == "op_Implicit")
            || (owner == typeof(Tensor) && callee.Name is "add" or "add_" && parameters.Length == 1)
            || (owner == typeof(Tensor) && callee.Name == "op_Addition")
            // x * 2.0, 1.0 - x, x < 0.5: TorchSharp's operators with a number make the Scalar inside
            || (owner == typeof(Tensor) && callee.Name.StartsWith("op_", StringComparison.Ordinal) && parameters.Any(p => p.ParameterType.IsPrimitive))
            || (onTensor && callee.Name is "ToDouble" or "ToSingle" or "ToInt64" or "ToInt32" or "ToInt16" or "ToByte" or "ToBoolean" or "ToHalf");
    }

    private static MethodBase? Resolve(MethodBase caller, int token)
    {
        try
        {
            Type[]? typeArgs = caller.DeclaringType is { IsGenericType: true } t ? t.GetGenericArguments() : null;
            Type[]? methodArgs = caller.IsGenericMethod ? caller.GetGenericArguments() : null;
            return caller.Module.ResolveMethod(token, typeArgs, methodArgs);
        }
        catch (Exception e) when (e is ArgumentException or BadImageFormatException or MissingMethodException)
        {
            return null;
        }
    }

    private static readonly Dictionary<short, OpCode> Codes = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!).ToDictionary(c => c.Value);

    // the metadata tokens of every call, callvirt, newobj, ldftn, ldvirtftn and jmp in an IL body
    private static IEnumerable<int> MethodTokens(byte[] il)
    {
        for (int at = 0; at < il.Length;)
        {
            short value = il[at] == 0xFE ? (short)(0xFE00 | il[at + 1]) : il[at];
            OpCode code = Codes[value];
            at += code.Size;
            if (code.OperandType == OperandType.InlineMethod) yield return BitConverter.ToInt32(il, at);
            at += code.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, at),
                _ => 4,
            };
        }
    }
}
