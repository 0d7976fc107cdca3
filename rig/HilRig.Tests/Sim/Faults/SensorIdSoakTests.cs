using HilRig.Composition;
using HilRig.Core.Procedures;
using HilRig.Core.Config;
using HilRig.Sim.Faults;

namespace HilRig.Tests.Chaos;

/// <summary>
/// A colour sensor that answers a wrong chip id at random (<c>sim.faults.sensorId</c>, issue 14 item 7) on a soak that
/// watches the LEDs: each loop checks the id before it leans on the LED evidence, so every wrong id is a `sensor-id`
/// retry the rig recorded (read again right, or given up on in a sensor rig-fault row), never a verdict on a healthy Core.
/// </summary>
public class SensorIdSoakTests
{
    [Test]
    public void Every_wrong_sensor_id_is_a_recorded_retry_or_a_sensor_rig_fault_and_no_healthy_Core_fails()
    {
        var chaos = ChaosSoakTests.ChaosConfig();
        var config = chaos with
        {
            Slots = [.. chaos.Slots.Where(s => s.Number is 1 or 2)],
            Sim = chaos.Sim with { Faults = new SimFaultSettings(SensorId: 0.45) },
        };
        using var session = RigSession.Open(config);
        var plan = ChaosSoakTests.Plan(4, config.Sim.Seed, readbackEvery: 0) with { PowerCycleEvery = 0 };
        var result = session.RunAsync(() => new SoakRunner(session.Life, plan).RunAsync(session.Select(null))).GetAwaiter().GetResult();
        var ledger = session.Sim!.Faults.Ledger;
        foreach (var f in ledger) TestContext.Out.WriteLine(f);
        foreach (var row in result.Rows.Where(r => r.Verdict != Verdict.Pass || r.Retries.Count > 0))
            TestContext.Out.WriteLine($"slot {row.Slot} cycle {row.Cycle} {row.Test}: {row.Verdict.ToName()} {row.FailureMode}: {row.Signature} [{string.Join("; ", row.Retries.Select(x => $"{x.Kind}{(x.GaveUp ? " gave up" : "")}"))}]");

        Assert.That(ledger.Count(f => f.Kind == FaultKind.SensorId), Is.GreaterThan(0), "the dice placed no wrong id: the test proves nothing");
        Assert.That(result.Rows.Where(r => r.Verdict == Verdict.Fail).Select(r => $"slot {r.Slot} cycle {r.Cycle} {r.Test}: {r.FailureMode}: {r.Signature}"), Is.Empty);
        var recorded = result.Rows.SelectMany(r => r.Retries).ToList();
        foreach (var slot in new[] { 1, 2 })
            Assert.That(recorded.Count(r => r.Slot == slot && r.Kind == "sensor-id"), Is.EqualTo(ledger.Count(f => f.Slot == slot && f.Kind == FaultKind.SensorId)), $"slot {slot}: wrong ids injected vs recorded");
        Assert.That(recorded, Has.Count.EqualTo(ledger.Count));
        foreach (var row in result.Rows.Where(r => r.Retries.Any(x => x.GaveUp)))
            Assert.That((row.Verdict, row.FailureMode), Is.EqualTo((Verdict.RigFault, FailureModes.SensorFault)), $"slot {row.Slot} cycle {row.Cycle} {row.Test} gave up on a wrong id");
        // the OTA and factory reset loops are judged on their LED evidence: most cycles still pass
        Assert.That(result.Rows.Count(r => r.Verdict == Verdict.Pass && r.Test == SoakRunner.FactoryResetTest), Is.GreaterThan(0));
    }
}

public class SensorGoneBeforeSoakTests
{
    [Test]
    public void A_colour_sensor_that_stopped_answering_makes_the_loops_sensor_rig_faults_never_a_fail()
    {
        var chaos = ChaosSoakTests.ChaosConfig();
        var config = chaos with { Slots = [.. chaos.Slots.Where(s => s.Number is 1)], Sim = chaos.Sim with { Faults = new SimFaultSettings() } };
        using var session = RigSession.Open(config);
        session.Sim!.Slot(1).Sensor!.Nack = true;
        var plan = ChaosSoakTests.Plan(1, config.Sim.Seed, readbackEvery: 0) with { PowerCycleEvery = 0 };
        var result = session.RunAsync(() => new SoakRunner(session.Life, plan).RunAsync(session.Select(null))).GetAwaiter().GetResult();
        foreach (var row in result.Rows) TestContext.Out.WriteLine($"{row.Test}: {row.Verdict.ToName()} {row.FailureMode}: {row.Signature}");

        Assert.That(result.Rows.Select(r => r.Verdict), Has.None.EqualTo(Verdict.Fail));
        Assert.That(result.Rows.Select(r => (r.Verdict, r.FailureMode)), Has.Some.EqualTo((Verdict.RigFault, FailureModes.SensorFault)));
    }
}
