using HilRig.Cli.Commands;
using HilRig.Composition;
using HilRig.Core.Campaigns;
using HilRig.Core.Procedures;
using HilRig.Reports.Statistics;

namespace HilRig.Tests.Campaigns;

/// <summary>
/// The decision rule fed by the real soak engine on the simulator, one rig in process: each look runs the plan's
/// candidate item and its baseline item (the rig's eight slots, same Cores, same seed) and the rule looks after the
/// pair, as a campaign will once agents run the items. Lot SST25-1402B (slots 5-8) holds slow chips ({ slow: 3 },
/// 75 ms erases): the candidate's 30 ms SPI busy timeout breaks their factory resets, BL14 waits them out.
/// </summary>
[Category("Integration")]
public class CampaignOnSimulatorTests
{
    private const string SlowLot = "SST25-1402B";
    private static readonly RigSessionOptions NoLeds = new() { ObserveLeds = false, CalibrateAtOpen = false };

    private static readonly string[] SlowLotCores = TestRigs.DefaultCores((5, "{ slow: 3 }"), (6, "{ slow: 3 }"), (7, "{ slow: 3 }"), (8, "{ slow: 3 }"));

    private sealed record Outcome(CampaignDecision Decision, IReadOnlyList<IReadOnlyList<LotCounts>> Looks);

    /// <summary>Runs the campaign's looks in order until the rule decides or the plan ends.</summary>
    private static Outcome Run(string candidateBuild, string baselineBuild, int seed, int cycles, int maxLooks = int.MaxValue)
    {
        var request = new CampaignRequest("bl-qualification") { Bootloader = candidateBuild, Baseline = baselineBuild, Cycles = cycles.ToString(System.Globalization.CultureInfo.InvariantCulture), Rigs = "sim-rig-01" };
        Assert.That(CampaignValidation.TryParse(request, out var campaign, out var errors), Is.True, string.Join("; ", errors));
        Assert.That(CampaignPlanner.TryPlan(campaign!, [new RigCapacity("sim-rig-01", 8)], out var plan, out var error), Is.True, error);

        var candidateConfig = TestRigs.Load(SlowLotCores, seed, candidateBuild);
        var baselineConfig = TestRigs.Load(SlowLotCores, seed, baselineBuild);
        using var candidateRig = RigSession.Open(candidateConfig, NoLeds);
        using var baselineRig = RigSession.Open(baselineConfig, NoLeds);
        var slots = candidateRig.Select(null);
        var lotOfSlot = slots.ToDictionary(s => s.Number, s => s.Lot);
        var design = new DecisionDesign(campaign!.Alpha, campaign.Power, campaign.Margin);
        var looks = new List<IReadOnlyList<LotCounts>>();
        var decision = SequentialDecision.Decide(design, looks, plannedLots: 2);
        foreach (var look in plan!.Items.GroupBy(i => i.Look))
        {
            var candidateItem = look.Single(i => i.Arm == CampaignArm.Candidate);
            var baselineItem = look.Single(i => i.Arm == CampaignArm.Baseline);
            var candidate = Soak(candidateRig, candidateConfig, candidateItem, seed);
            var baseline = Soak(baselineRig, baselineConfig, baselineItem, seed);
            looks.Add(CampaignLooks.FromSoak(candidate, baseline, lotOfSlot));
            decision = SequentialDecision.Decide(design, looks, plannedLots: 2);
            if (decision.Kind != DecisionKind.Undecided || looks.Count == maxLooks) break;
        }
        return new Outcome(decision, looks);
    }

    private static SoakResult Soak(RigSession rig, Core.Config.RigConfig config, WorkItem item, int seed)
    {
        Assert.That(item.Slots, Is.EqualTo(8));
        var plan = SoakCommand.PlanFor(config, item.CyclesPerSlot, 0, null);
        return rig.RunAsync(() => new SoakRunner(rig.Life, plan).RunAsync(rig.Select(null))).GetAwaiter().GetResult();
    }

    [Test]
    public void Candidate_against_BL14_with_a_slow_chip_lot_ends_no_go_naming_that_lot_and_its_failure_mode_the_same_for_a_seed()
    {
        // 48 candidate cycles: six looks of one cycle on each of the eight slots
        var outcome = Run("candidate", "BL14", seed: 7, cycles: 48);
        var decision = outcome.Decision;
        TestContext.Out.WriteLine(decision.Summary);

        Assert.That(decision.Kind, Is.EqualTo(DecisionKind.NoGo), decision.Summary);
        Assert.That(decision.NoGoLots, Is.EqualTo(new[] { SlowLot }), decision.Summary);
        var slow = decision.Lots.Single(l => l.Name == SlowLot);
        var healthy = decision.Lots.Single(l => l.Name != SlowLot);
        Assert.That(slow.CandidateFailures, Is.EqualTo(slow.CandidateCycles), "every factory reset of a slow chip fails under the candidate");
        Assert.That((slow.BaselineFailures, healthy.CandidateFailures, healthy.BaselineFailures), Is.EqualTo((0, 0, 0)));
        Assert.That(decision.DrivingModes.Select(m => m.Mode), Is.Not.Empty, decision.Summary);
        Assert.That(decision.Summary, Does.Contain(SlowLot).And.Contain(decision.DrivingModes[0].Mode));
        // an early decision: before the plan's last look, as soon as the slow lot's evidence crossed its boundary
        Assert.That(decision.DecidedAtLook, Is.LessThan(6));
        Assert.That(slow.LogLikelihoodRatio, Is.GreaterThanOrEqualTo(decision.NoGoThreshold));
        Assert.That(slow.ExactP, Is.LessThan(0.001));

        // the same seed soaks the same: the first two looks again, count for count
        var again = Run("candidate", "BL14", seed: 7, cycles: 48, maxLooks: 2);
        Assert.That(again.Looks.SelectMany(l => l).Select(c => (c.Lot, c.CandidateCycles, c.CandidateFailures, c.BaselineCycles, c.BaselineFailures, string.Join(",", c.CandidateModes!))),
            Is.EqualTo(outcome.Looks.Take(2).SelectMany(l => l).Select(c => (c.Lot, c.CandidateCycles, c.CandidateFailures, c.BaselineCycles, c.BaselineFailures, string.Join(",", c.CandidateModes!)))));
    }

    [Test]
    public void BL14_against_BL14_on_the_same_rig_never_ends_no_go()
    {
        var decision = Run("BL14", "BL14", seed: 7, cycles: 32).Decision;
        TestContext.Out.WriteLine(decision.Summary);

        Assert.That(decision.Kind, Is.Not.EqualTo(DecisionKind.NoGo), decision.Summary);
        Assert.That(decision.Kind, Is.EqualTo(DecisionKind.Undecided), "no failures in either arm: a rate ratio cannot be judged yet");
        Assert.That(decision.Overall.CandidateCycles, Is.EqualTo(32));
        Assert.That(decision.CyclesStillNeeded, Is.GreaterThan(0));
        Assert.That(decision.CyclesIsLowerBound, Is.True, decision.Summary);
    }
}
