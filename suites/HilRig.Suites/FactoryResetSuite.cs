using HilRig.Fixtures;

namespace HilRig.Suites;

/// <summary>
/// Factory reset (MODE held 10 s): the factory image comes back and the Core reaches listening mode. Runs the
/// procedure registered as <see cref="ProcedureCatalog.FactoryReset"/>.
/// </summary>
[FactoryReset]
[Parallelizable(ParallelScope.Children)]
public sealed class FactoryResetSuite
{
    [TestCaseSource(typeof(SlotCases), nameof(SlotCases.Occupied))]
    public async Task Factory_reset_restores_the_factory_image(SlotCase slot)
    {
        await RigRun.RunAndJudgeAsync(slot, ProcedureCatalog.FactoryReset);
    }
}
