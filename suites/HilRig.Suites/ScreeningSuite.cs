using HilRig.Fixtures;

namespace HilRig.Suites;

/// <summary>`hilrig screen` per slot: identify, DFU readback, and the Core boots its application again.</summary>
[Screening]
[Parallelizable(ParallelScope.Children)]
public sealed class ScreeningSuite
{
    private static readonly ScreeningProcedure Screen = new("screening");

    [TestCaseSource(typeof(SlotCases), nameof(SlotCases.Occupied))]
    public async Task Core_passes_screening_and_goes_out_ship_ready(SlotCase slot)
    {
        var report = await RigRun.RunAndJudgeAsync(slot, Screen);

        if (slot.DeviceId is { } expected)
            Assert.That(report.DeviceId, Is.EqualTo(expected), "the Core in the slot is the one the rig expects");
        Assert.That(report.Steps.Select(s => s.Name), Does.Contain(ScreeningProcedure.BootStep));
    }
}
