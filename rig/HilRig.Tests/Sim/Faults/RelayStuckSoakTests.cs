using HilRig.Composition;
using HilRig.Core.Config;
using HilRig.Core.Procedures;
using HilRig.Sim.Faults;

namespace HilRig.Tests.Chaos;

/// <summary>
/// A relay that sticks (issue 14, item 7) on a soak that cold-boots every cycle: every stick the simulator injected is
/// a `relay-stuck` retry the rig recorded (recovered, or given up on in a rig-fault row), never unaccounted and never a
/// verdict on a healthy Core.
/// </summary>
public class RelayStuckSoakTests
{
    private static readonly RigSessionOptions NoLeds = new() { ObserveLeds = false, CalibrateAtOpen = false };

    [TestCase(0.3, 6)]
    [TestCase(0.5, 4)]
    public void Every_injected_relay_stick_is_a_recorded_retry_or_a_relay_rig_fault(double rate, int cycles)
    {
        var chaos = ChaosSoakTests.ChaosConfig();
        // two healthy Cores, sticking relays and nothing else
        var config = chaos with
        {
            Slots = [.. chaos.Slots.Where(s => s.Number is 1 or 2)],
            Sim = chaos.Sim with { Faults = new SimFaultSettings(RelayStuck: rate) },
        };
        using var session = RigSession.Open(config, NoLeds);
        var plan = ChaosSoakTests.Plan(cycles, config.Sim.Seed, readbackEvery: 2) with { PowerCycleEvery = 1 };
        var result = session.RunAsync(() => new SoakRunner(session.Life, plan).RunAsync(session.Select(null))).GetAwaiter().GetResult();
        var ledger = session.Sim!.Faults.Ledger;
        foreach (var f in ledger) TestContext.Out.WriteLine(f);
        foreach (var row in result.Rows.Where(r => r.Verdict != Verdict.Pass || r.Retries.Count > 0))
            TestContext.Out.WriteLine($"slot {row.Slot} cycle {row.Cycle} {row.Test}: {row.Verdict.ToName()} {row.FailureMode}: {row.Signature} [{string.Join("; ", row.Retries.Select(x => $"{x.Kind}{(x.GaveUp ? " gave up" : "")}"))}]");

        Assert.That(ledger.Count(f => f.Kind == FaultKind.RelayStuck), Is.GreaterThan(0), "the dice placed no stick: the test proves nothing");
        Assert.That(result.Rows.Where(r => r.Verdict == Verdict.Fail).Select(r => $"slot {r.Slot} cycle {r.Cycle} {r.Test}: {r.FailureMode}: {r.Signature}"), Is.Empty);
        var recorded = result.Rows.SelectMany(r => r.Retries).ToList();
        foreach (var slot in new[] { 1, 2 })
            Assert.That(recorded.Count(r => r.Slot == slot && r.Kind == "relay-stuck"), Is.EqualTo(ledger.Count(f => f.Slot == slot && f.Kind == FaultKind.RelayStuck)), $"slot {slot}: sticks injected vs recorded");
        Assert.That(recorded, Has.Count.EqualTo(ledger.Count));
        foreach (var row in result.Rows.Where(r => r.Retries.Any(x => x.GaveUp)))
            Assert.That((row.Verdict, row.FailureMode), Is.EqualTo((Verdict.RigFault, FailureModes.RelayFault)), $"slot {row.Slot} cycle {row.Cycle} {row.Test} gave up on a relay retry");
    }
}
