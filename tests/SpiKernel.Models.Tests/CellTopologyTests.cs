using SpiKernel.Models.Architecture;

namespace SpiKernel.Models.Tests;

public class CellTopologyTests
{
    [Fact]
    public void Should_ZeroRowAndColumn_When_NodeCannotReachOutput()
    {
        // node 2 gets a conv from node 0 but feeds nothing
        CellTopology pruned = CellTopology.Parse("0320 0003 0000 0000").Pruned();
        Assert.Equal("0300 0003 0000 0000", pruned.ToString());
    }

    [Fact]
    public void Should_ZeroRowAndColumn_When_NodeIsUnreachableFromInput()
    {
        // node 2 feeds node 3 and node 1 (feedback) but nothing reaches node 2
        CellTopology pruned = CellTopology.Parse("0300 0003 0103 0000").Pruned();
        Assert.Equal("0300 0003 0000 0000", pruned.ToString());
    }

    [Fact]
    public void Should_KeepNode_When_ReachableOnlyThroughFeedbackEdge()
    {
        // 0→2 (conv), 2→1 feedback (skip), 1→3 (conv): node 1 is reached through the backward edge
        CellTopology cell = CellTopology.Parse("0033 0003 0100 0000");
        Assert.Equal(cell, cell.Pruned());
        Assert.True(cell.IsBackward);
    }

    [Fact]
    public void Should_KeepSnasnetCell_When_Pruned()
    {
        Assert.Equal(CellTopology.SnasnetCifar10, CellTopology.SnasnetCifar10.Pruned());
        Assert.True(CellTopology.SnasnetCifar10.IsBackward);
        Assert.False(CellTopology.Parse("0332 0003 0003 0000").IsBackward);
    }

    [Fact]
    public void Should_WriteBase36Codes_When_CodeIsAboveNine()
    {
        CellTopology c = CellTopology.Parse("0a0b 00c0 000z 0000");
        Assert.Equal(10, c[0, 1]);
        Assert.Equal(35, c[2, 3]);
        Assert.Equal("0a0b 00c0 000z 0000", c.ToString());
    }
}
