using HilRig.Composition;
using HilRig.Core.Procedures;

namespace HilRig.Tests.EndToEnd;

/// <summary>Screening keeps each slot's LED timeline as evidence, and a broken colour sensor is the rig's fault.</summary>
public class ScreeningLedTests
{
    private static Dictionary<int, SlotOutcome> Screen(RigSession session, string slots) =>
        session.RunAsync(() => new Screening(session.Usb, session.Time).RunAsync(session.Select(slots))).GetAwaiter().GetResult()
            .ToDictionary(o => o.Slot);

    [Test]
    public void Each_outcome_carries_the_slots_LED_timeline_with_flashing_yellow_while_in_DFU()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores((2, "{ stuckBits: 12 }"))));
        var outcomes = Screen(session, "1-2");

        foreach (var outcome in outcomes.Values)
        {
            var led = outcome.Evidence.Led!;
            var text = string.Join(", ", led.Select(s => $"{s.Start:0.0}-{s.End:0.0} s {s.State}"));
            Assert.Multiple(() =>
            {
                Assert.That(led[0].Start, Is.Zero, text);
                Assert.That(led[^1].End, Is.EqualTo(outcome.DeviceTime.TotalSeconds).Within(0.1), text);
                Assert.That(led.Zip(led.Skip(1)).All(p => p.First.End <= p.Second.Start + 1e-9), Is.True, $"segments in order: {text}");
                var dfu = led.Where(s => s.State == "flashing yellow").ToList();
                Assert.That(dfu, Is.Not.Empty, text);
                Assert.That(dfu.Sum(s => s.End - s.Start), Is.GreaterThan(2), $"the readback runs in DFU: {text}");
                Assert.That(led.Select(s => s.Confidence), Is.All.InRange(0.0, 1.0));
            });
        }
        Assert.That(outcomes[1].Verdict, Is.EqualTo(Verdict.Pass));
        Assert.That(outcomes[2].Verdict, Is.EqualTo(Verdict.Fail), "the LED evidence does not change a flash verdict");
    }

    [Test]
    public void A_slot_whose_sensor_NACKs_is_a_sensor_fault_rig_fault_while_the_others_pass()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores()));
        session.Sim!.Slot(3).Sensor!.Nack = true;
        var outcomes = Screen(session, "2-4");

        Assert.Multiple(() =>
        {
            Assert.That(outcomes[3].Verdict, Is.EqualTo(Verdict.RigFault));
            Assert.That(outcomes[3].FailureMode, Is.EqualTo(FailureModes.SensorFault));
            Assert.That(outcomes[3].Signature, Does.Contain("colour sensor").And.Contain("slot 3").And.Contain("NACK"));
            Assert.That(outcomes[2].Verdict, Is.EqualTo(Verdict.Pass), outcomes[2].Signature);
            Assert.That(outcomes[4].Verdict, Is.EqualTo(Verdict.Pass), outcomes[4].Signature);
        });
    }

    [Test]
    public void A_sensor_that_dies_during_the_readback_turns_the_slot_into_a_rig_fault_never_a_DUT_verdict()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores((6, "{ stuckBits: 12 }"))));
        var sim = session.Sim!;
        var outcome = session.RunAsync(async () =>
        {
            var slot = session.Slot(6);
            var screening = new Screening(session.Usb, session.Time);
            // the sensor stops answering once the Core is in DFU, well into the procedure
            var progress = new SyncProgress(p => { if (p.Step == "readback") sim.Slot(6).Sensor!.Nack = true; });
            return await screening.RunSlotAsync(slot, progress);
        }).GetAwaiter().GetResult();

        Assert.That(outcome.Verdict, Is.EqualTo(Verdict.RigFault));
        Assert.That(outcome.FailureMode, Is.EqualTo(FailureModes.SensorFault));
        Assert.That(outcome.Signature, Does.Contain("during").And.Contain("the readback alone said fail"));
        Assert.That(outcome.Evidence.Readback, Is.Not.Null, "what the readback found is kept as evidence");
    }

    private sealed class SyncProgress(Action<SlotProgress> report) : IProgress<SlotProgress>
    {
        public void Report(SlotProgress value) => report(value);
    }
}
