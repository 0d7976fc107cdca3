using System.Globalization;
using HilRig.Fixtures;

namespace HilRig.Suites;

/// <summary>
/// Repeated DFU readback on every Core (env HILRIG_SOAK_CYCLES, default 5): wears the flash and takes long, so it
/// is explicit and runs only with --filter Category=Soak.
/// </summary>
[Soak]
[Parallelizable(ParallelScope.Children)]
public sealed class SoakSuite
{
    private static int Cycles =>
        int.TryParse(Environment.GetEnvironmentVariable("HILRIG_SOAK_CYCLES"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 5;

    [TestCaseSource(typeof(SlotCases), nameof(SlotCases.Occupied))]
    public async Task Flash_survives_repeated_readback_cycles(SlotCase slot)
    {
        var report = await RigRun.RunAndJudgeAsync(slot, new SoakProcedure(new ScreeningProcedure("dfu-readback"), Cycles));

        Assert.That(report.Steps, Has.Count.EqualTo(Cycles));
    }
}
