using HilRig.Reports.Statistics;

namespace HilRig.Tests.Campaigns;

/// <summary>The campaign decision rule on hand-computed looks.</summary>
public class SequentialDecisionTests
{
    private static readonly DecisionDesign Design = new(0.05, 0.8, 1.0);

    private static LotCounts Lot(string lot, int candidateFailures, int baselineFailures, long cycles = 100, string mode = "factory-reset-failed") =>
        new(lot, cycles, candidateFailures, cycles, baselineFailures)
        {
            CandidateModes = candidateFailures == 0 ? null : new Dictionary<string, int> { [mode] = candidateFailures },
            BaselineModes = baselineFailures == 0 ? null : new Dictionary<string, int> { [mode] = baselineFailures },
        };

    [Test]
    public void A_looks_log_likelihood_ratio_is_the_conditional_binomial_of_ratio_two_against_one()
    {
        // equal cycles: π0 = 1/2, π1 = 2/3; 3 vs 1 failures: 3·ln(4/3) + 1·ln(2/3)
        Assert.That(SequentialDecision.LookLogLikelihoodRatio(3, 100, 1, 100, 2), Is.EqualTo(0.45758110924717815).Within(1e-12));
        // 300 vs 100 cycles: π0 = 3/4, π1 = 6/7; 2 vs 1 failures: 2·ln(8/7) + ln(4/7)
        Assert.That(SequentialDecision.LookLogLikelihoodRatio(2, 300, 1, 100, 2), Is.EqualTo(-0.29255300268637763).Within(1e-12));
    }

    [Test]
    public void A_look_where_one_arm_ran_nothing_or_nothing_failed_tells_nothing()
    {
        Assert.That(SequentialDecision.LookLogLikelihoodRatio(5, 100, 0, 0, 2), Is.Zero);
        Assert.That(SequentialDecision.LookLogLikelihoodRatio(0, 100, 0, 100, 2), Is.Zero);
        Assert.That(() => SequentialDecision.LookLogLikelihoodRatio(1, 0, 0, 100, 2), Throws.ArgumentException);
    }

    [Test]
    public void Alpha_is_shared_by_every_lot_and_the_overall_test_and_a_single_lot_keeps_it_all()
    {
        Assert.That(SequentialDecision.NoGoThreshold(Design, 2), Is.EqualTo(Math.Log(3 / 0.05)).Within(1e-12));
        Assert.That(SequentialDecision.NoGoThreshold(Design, 1), Is.EqualTo(Math.Log(1 / 0.05)).Within(1e-12));
        Assert.That(SequentialDecision.GoThreshold(Design), Is.EqualTo(Math.Log(0.2)).Within(1e-12));
    }

    [Test]
    public void A_lot_that_keeps_failing_under_the_candidate_ends_no_go_at_the_look_it_crosses_naming_the_lot_and_mode()
    {
        // lot A: 4 vs 0 per look adds 4·ln(4/3) = 1.151; the boundary ln(3/0.05) = 4.094 is crossed at look 4, not 3
        var looks = Enumerable.Range(0, 6).Select(_ => (IReadOnlyList<LotCounts>)[Lot("A", 4, 0), Lot("B", 0, 0)]).ToList();
        var three = SequentialDecision.Decide(Design, looks.Take(3).ToList(), plannedLots: 2);
        Assert.That(three.Kind, Is.EqualTo(DecisionKind.Undecided));

        var decision = SequentialDecision.Decide(Design, looks, plannedLots: 2);
        Assert.That((decision.Kind, decision.DecidedAtLook), Is.EqualTo((DecisionKind.NoGo, 4)));
        Assert.That(decision.NoGoLots, Is.EqualTo(new[] { "A" }));
        Assert.That(decision.DrivingModes, Is.EqualTo(new[] { new ModeCount("factory-reset-failed", 16, 0) }), "counted up to the deciding look");
        Assert.That(decision.Summary, Is.EqualTo("no-go at look 4: lot A (factory-reset-failed 16 vs 0)"));
        var a = decision.Lots.Single(l => l.Name == "A");
        Assert.That((a.CandidateFailures, a.CandidateCycles, a.NoGo), Is.EqualTo((16, 400L, true)));
        Assert.That(a.CandidatePerThousand.Point, Is.EqualTo(40).Within(1e-9));
        Assert.That(a.AnytimeP, Is.EqualTo(Math.Exp(-16 * Math.Log(4.0 / 3))).Within(1e-12));
        Assert.That(a.AnytimeP, Is.LessThan(0.05 / 3));
        Assert.That(decision.Lots.Single(l => l.Name == "B").NoGo, Is.False);
    }

    [Test]
    public void Equal_failures_in_both_arms_end_go_once_the_overall_evidence_reaches_ln_beta_and_later_looks_do_not_undo_it()
    {
        // each lot 3 vs 3 per look: 3·ln(8/9) = −0.353; overall −0.707 per look; ln(0.2) = −1.609 is reached at look 3
        var looks = Enumerable.Range(0, 3).Select(_ => (IReadOnlyList<LotCounts>)[Lot("A", 3, 3), Lot("B", 3, 3)]).ToList();
        looks.Add([Lot("A", 40, 0), Lot("B", 40, 0)]);
        var decision = SequentialDecision.Decide(Design, looks, plannedLots: 2);
        Assert.That((decision.Kind, decision.DecidedAtLook), Is.EqualTo((DecisionKind.Go, 3)));
        Assert.That(decision.Overall.CandidateFailures, Is.EqualTo(18), "3 looks x 2 lots x 3: the campaign stopped at the deciding look");
        Assert.That(decision.NoGoLots, Is.Empty);
        Assert.That(decision.Summary, Is.EqualTo("go at look 3: the candidate's rate is shown below 2 x the baseline's"));
    }

    [Test]
    public void Undecided_says_how_many_more_cycles_the_rule_expects_to_need_either_way()
    {
        // one lot, 1 vs 1 failure in 1,000 cycles each: pooled rate 1/1000, log LR ln(8/9);
        // to go under H0: (ln(8/9) − ln 0.2) / (0.002 · KL(½‖⅔)) = 12,664; to no-go under H1: (ln 20 − ln(8/9)) / (0.003 · KL(⅔‖½)) = 18,326
        var decision = SequentialDecision.Decide(Design, [[Lot("A", 1, 1, cycles: 1000)]], plannedLots: 1);
        Assert.That(decision.Kind, Is.EqualTo(DecisionKind.Undecided));
        Assert.That(decision.CyclesStillNeeded, Is.EqualTo(18326));
        Assert.That(decision.CyclesIsLowerBound, Is.False);
        Assert.That(decision.Summary, Is.EqualTo("undecided: about 18,326 more candidate cycles (and as many baseline) to decide"));
    }

    [Test]
    public void With_no_failure_yet_the_cycles_still_needed_are_a_lower_bound_at_the_pooled_rates_upper_95_percent_bound()
    {
        var decision = SequentialDecision.Decide(Design, [[Lot("A", 0, 0, cycles: 1000)]], plannedLots: 1);
        var rate = PoissonRate.PerThousandCycles(0, 2000).Upper / 1000;
        var expected = SequentialDecision.ExpectedCyclesToDecide(Design, rate, 0.5, 0, Math.Log(20), Math.Log(0.2));
        Assert.That(decision.CyclesStillNeeded, Is.EqualTo((long)Math.Ceiling(expected)));
        Assert.That(decision.CyclesIsLowerBound, Is.True);
        Assert.That(decision.Summary, Does.StartWith("undecided: at least "));
    }

    [Test]
    public void Lots_with_different_base_rates_are_judged_each_against_its_own_baseline_never_pooled()
    {
        // lot A fails ten times as often as lot B on both builds, and the candidate happened to run more of lot A:
        // each lot is even (A 20 in 200 vs 10 in 100, B 1 in 100 vs 2 in 200), pooled the candidate looks worse (21 vs 12)
        IReadOnlyList<LotCounts> look = [new LotCounts("A", 200, 20, 100, 10), new LotCounts("B", 100, 1, 200, 2)];
        var decision = SequentialDecision.Decide(Design, [look], plannedLots: 2);
        Assert.That(decision.Overall.LogLikelihoodRatio, Is.EqualTo(decision.Lots.Sum(l => l.LogLikelihoodRatio)).Within(1e-12));
        Assert.That(decision.Overall.LogLikelihoodRatio, Is.LessThan(0), "stratified: evidence for the candidate being as good");
        Assert.That(SequentialDecision.LookLogLikelihoodRatio(21, 300, 12, 300, 2), Is.GreaterThan(1), "what pooling would have said");
        Assert.That(decision.Overall.ExactP, Is.EqualTo(ExactTests.PoissonRatesOneSided(21, 300, 12, 300)).Within(1e-12), "the exact test is shown on the cumulative counts");
    }

    [Test]
    public void The_non_inferiority_test_is_the_lower_tail_of_the_conditional_binomial_at_the_margin()
    {
        // k = 2, π1 = 2/3: P(X ≤ 1) = 1 − (2/3)² = 5/9; P(X ≤ 0) = (1/3)²
        Assert.That(SequentialDecision.NonInferiorityP(1, 100, 1, 100, 2), Is.EqualTo(5.0 / 9).Within(1e-12));
        Assert.That(SequentialDecision.NonInferiorityP(0, 100, 2, 100, 2), Is.EqualTo(1.0 / 9).Within(1e-12));
        Assert.That(SequentialDecision.NonInferiorityP(2, 100, 0, 100, 2), Is.EqualTo(1));
    }

    [Test]
    public void Against_a_stored_baseline_each_look_tests_the_cumulative_counts_at_alpha_over_tests_times_planned_looks()
    {
        IReadOnlyList<LotCounts> stored = [new LotCounts("A", 0, 0, 10_000, 1), new LotCounts("B", 0, 0, 10_000, 1)];
        // lot A: 10 failures in 1,000 cycles against its own 1 in 10,000; lot B clean
        IReadOnlyList<LotCounts> look = [new LotCounts("A", 1000, 10, 0, 0) { CandidateModes = new Dictionary<string, int> { ["stuck-in-dfu"] = 10 } }, new LotCounts("B", 1000, 0, 0, 0)];
        var decision = SequentialDecision.DecideAgainstStoredBaseline(Design, [look], stored, plannedLooks: 5, plannedLots: 2);
        Assert.That(ExactTests.PoissonRatesOneSided(10, 1000, 1, 10_000), Is.LessThan(0.05 / 15));
        Assert.That((decision.Kind, decision.DecidedAtLook), Is.EqualTo((DecisionKind.NoGo, 1)));
        Assert.That(decision.NoGoLots, Is.EqualTo(new[] { "A" }));
        Assert.That(decision.DrivingModes, Is.EqualTo(new[] { new ModeCount("stuck-in-dfu", 10, 0) }));
        Assert.That(decision.NoGoThreshold, Is.EqualTo(Math.Log(15 / 0.05)).Within(1e-12), "on the −ln p scale");

        // a clean candidate: 0 in 10,000 against 10 in 10,000: P(X ≤ 0 | k = 10, π1 = 2/3) = 3^−10 ≤ 0.2 / 5
        IReadOnlyList<LotCounts> wide = [new LotCounts("A", 0, 0, 10_000, 10)];
        var go = SequentialDecision.DecideAgainstStoredBaseline(Design, [[new LotCounts("A", 10_000, 0, 0, 0)]], wide, plannedLooks: 5);
        Assert.That((go.Kind, go.DecidedAtLook), Is.EqualTo((DecisionKind.Go, 1)));
        // a look beyond the planned ones is never taken: its share of alpha was never set aside
        var late = SequentialDecision.DecideAgainstStoredBaseline(Design, [[new LotCounts("A", 10, 0, 0, 0)], [new LotCounts("A", 10_000, 0, 0, 0)]], wide, plannedLooks: 1);
        Assert.That(late.Kind, Is.EqualTo(DecisionKind.Undecided));
    }
}
