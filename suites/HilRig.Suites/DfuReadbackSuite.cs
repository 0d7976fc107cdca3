using HilRig.Core.Spark;
using HilRig.Fixtures;

namespace HilRig.Suites;

/// <summary>DFU write/readback of the factory, backup and OTA regions on every Core, all slots at once.</summary>
[DfuReadback]
[Parallelizable(ParallelScope.Children)]
public sealed class DfuReadbackSuite
{
    private static readonly ScreeningProcedure Readback = new("dfu-readback");

    [TestCaseSource(typeof(SlotCases), nameof(SlotCases.Occupied))]
    public async Task External_flash_reads_back_as_written_and_is_restored(SlotCase slot)
    {
        var report = await RigRun.RunAndJudgeAsync(slot, Readback);

        var readback = report.Readback!;
        Assert.That(readback.Regions.Select(r => r.Region), Is.EquivalentTo(SparkMemoryMap.ImageRegions.Select(r => r.Name)), "every image region was tested");
        Assert.That(readback.Regions.Select(r => r.RestoreVerified), Is.All.True, "each region's original content is back");
    }
}
