using HilRig.Composition;
using HilRig.Core.Procedures;

namespace HilRig.Tests.EndToEnd;

/// <summary>The readback names the fault the chip really has, whatever the seed places where.</summary>
public class FaultClassificationTests
{
    private static (SlotOutcome Outcome, HilRig.Sim.Device.VirtualCore Core) ScreenSlot1(string flash, int seed)
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores((1, flash)), seed));
        var outcome = session.RunAsync(() => new Screening(session.Usb, session.Time).RunSlotAsync(session.Slot(1))).GetAwaiter().GetResult();
        return (outcome, session.Sim!.Slot(1).Core);
    }

    [TestCase(1), TestCase(2), TestCase(3), TestCase(4), TestCase(5), TestCase(6)]
    public void Sectors_that_do_not_erase_are_named_exactly(int seed)
    {
        var (outcome, core) = ScreenSlot1($"{{ badSectors: {seed % 3 + 1} }}", seed);
        Assert.That(outcome.Verdict, Is.EqualTo(Verdict.Fail));
        var named = outcome.Evidence.Readback!.BitErrors.EraseFailedSectors;
        Assert.That(named, Is.EquivalentTo(core.Chip.BadSectorAddresses.Select(a => $"0x{a:X6}")), outcome.Signature);
    }

    [TestCase(1), TestCase(2), TestCase(3), TestCase(4), TestCase(5), TestCase(6)]
    public void Stuck_cells_are_counted_by_direction_and_never_called_an_erase_failure(int seed)
    {
        var count = 5 + seed * 7;
        var (outcome, core) = ScreenSlot1($"{{ stuckBits: {count} }}", seed);
        var bits = outcome.Evidence.Readback!.BitErrors;
        Assert.That(outcome.Verdict, Is.EqualTo(Verdict.Fail));
        Assert.That(bits.EraseFailedSectors, Is.Empty, outcome.Signature);
        // Each stuck cell shows once against the pattern it contradicts (erased 1s or programmed 0s).
        Assert.That(bits.StuckAt0, Is.EqualTo(core.Chip.StuckCells.Count(c => !c.StuckAtOne)), outcome.Signature);
        Assert.That(bits.StuckAt1, Is.EqualTo(core.Chip.StuckCells.Count(c => c.StuckAtOne)), outcome.Signature);
    }
}
