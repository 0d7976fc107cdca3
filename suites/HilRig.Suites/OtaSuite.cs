using HilRig.Fixtures;

namespace HilRig.Suites;

/// <summary>
/// OTA update cycle: the new image lands in the OTA region, the bootloader applies it and the Core comes back
/// online. Runs the procedure registered as <see cref="ProcedureCatalog.Ota"/>.
/// </summary>
[Ota]
[Parallelizable(ParallelScope.Children)]
public sealed class OtaSuite
{
    [TestCaseSource(typeof(SlotCases), nameof(SlotCases.Occupied))]
    public async Task Ota_update_is_applied_and_the_Core_comes_back(SlotCase slot)
    {
        await RigRun.RunAndJudgeAsync(slot, ProcedureCatalog.Ota);
    }
}
