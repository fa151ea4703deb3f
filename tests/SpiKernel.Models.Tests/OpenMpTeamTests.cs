using SpiKernel.Models.Compute;
using static TorchSharp.torch;

namespace SpiKernel.Models.Tests;

/// <summary>The .NET kernels' parallel loop on libtorch's OpenMP team.</summary>
public class OpenMpTeamTests
{
    [Fact]
    public void Parts_run_once_each_on_libtorchs_team()
    {
        Assert.True(OperatingSystem.IsLinux() ? OpenMpTeam.Available : true, "libtorch's libgomp was not found: the kernels would run on one thread");
        int before = get_num_threads();
        set_num_threads(2);
        try
        {
            var runs = new int[7];
            var threads = new int[7];
            OpenMpTeam.For(7, p =>
            {
                Interlocked.Increment(ref runs[p]);
                threads[p] = Environment.CurrentManagedThreadId;
            });
            Assert.All(runs, r => Assert.Equal(1, r));
            if (OpenMpTeam.Available) Assert.True(threads.Distinct().Count() == 2, "two team threads, two threads running parts");
        }
        finally
        {
            set_num_threads(before);
        }
    }

    [Fact]
    public void A_part_that_throws_fails_the_loop()
    {
        int ran = 0;
        var e = Assert.Throws<InvalidOperationException>(() => OpenMpTeam.For(4, p =>
        {
            Interlocked.Increment(ref ran);
            if (p == 1) throw new InvalidOperationException("part 1");
        }));
        Assert.Equal("part 1", e.Message);
        Assert.True(ran >= 2);
    }

    [Theory]
    [InlineData(100, 3, 1)]
    [InlineData(131_077, 2, 8)]
    [InlineData(5, 4, 8)]
    public void Ranges_cover_the_count_once_cut_at_the_alignment(int count, int parts, int align)
    {
        int next = 0;
        for (int p = 0; p < parts; p++)
        {
            (int start, int length) = OpenMpTeam.Range(count, p, parts, align);
            Assert.Equal(next, start);
            Assert.True(length >= 0);
            Assert.True(start % align == 0 || length == 0);
            next = start + length;
        }
        Assert.Equal(count, next);
    }
}
