using HilRig.Core.Procedures;
using HilRig.Reports.Results;
using HilRig.Reports.Statistics;

namespace HilRig.Tests.Reports;

public class YieldTests
{
    // A: screen 1 pass                                 → first pass yes, final yes
    // B: screen 1 fail, 2 pass                         → no, yes
    // C: screen 1 rig fault, 2 pass                    → no (the rig fault cost a retest), yes
    // D: screen 1 fail, 2 fail                         → no, no
    // E: screen 1 pass; ota 1 fail, ota 2 pass         → no (ota attempt 1 failed), yes
    // Listed out of attempt order on purpose: the store need not return them sorted.
    private static readonly AttemptRecord[] History =
    [
        new("A", "screen", 1, Verdict.Pass),
        new("B", "screen", 2, Verdict.Pass),
        new("B", "screen", 1, Verdict.Fail),
        new("C", "screen", 2, Verdict.Pass),
        new("C", "screen", 1, Verdict.RigFault),
        new("D", "screen", 1, Verdict.Fail),
        new("D", "screen", 2, Verdict.Fail),
        new("E", "ota", 2, Verdict.Pass),
        new("E", "screen", 1, Verdict.Pass),
        new("E", "ota", 1, Verdict.Fail),
    ];

    [Test]
    public void First_pass_yield_counts_devices_that_passed_every_test_on_attempt_one()
    {
        // only A → 1/5 = 0.2
        var y = Yield.FirstPass(History);
        Assert.That((y.Passed, y.Devices), Is.EqualTo((1, 5)));
        Assert.That(y.Rate, Is.EqualTo(0.2));
    }

    [Test]
    public void Final_yield_counts_devices_whose_last_attempt_of_every_test_passed()
    {
        // A, B, C, E → 4/5 = 0.8
        var y = Yield.Final(History);
        Assert.That((y.Passed, y.Devices), Is.EqualTo((4, 5)));
        Assert.That(y.Rate, Is.EqualTo(0.8));
    }

    [Test]
    public void Yield_can_be_taken_for_one_test_operation()
    {
        // screen only: first pass A, E → 2/5; final A, B, C, E → 4/5
        Assert.That(Yield.FirstPass(History, "screen"), Is.EqualTo(new YieldResult(2, 5)));
        Assert.That(Yield.Final(History, "screen"), Is.EqualTo(new YieldResult(4, 5)));
    }

    [Test]
    public void An_attempt_recorded_twice_is_refused()
    {
        AttemptRecord[] twice = [new("A", "screen", 1, Verdict.Pass), new("A", "screen", 2, Verdict.Fail), new("A", "screen", 2, Verdict.Pass)];
        var ex = Assert.Throws<ArgumentException>(() => Yield.FirstPass(twice));
        Assert.That(ex!.Message, Does.Contain("attempt 2 appears twice"));
    }
}
