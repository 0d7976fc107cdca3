using HilRig.Core.Procedures;
using HilRig.Reports.Statistics;

namespace HilRig.Tests.Reports;

public class ExactTestsTests
{
    [Test]
    public void Fisher_one_sided_on_three_of_four_against_one_of_four_is_17_over_70()
    {
        // N = 8, K = 4 failures, A draws 4: P(X = 3) = C(4,3)·C(4,1)/C(8,4) = 16/70, P(X = 4) = 1/70
        // p = P(X ≥ 3) = 17/70 = 0.242857
        Assert.That(ExactTests.FisherOneSided(3, 4, 1, 4), Is.EqualTo(17.0 / 70).Within(1e-12));
    }

    [Test]
    public void Fisher_with_no_failures_in_the_candidate_is_never_significant()
    {
        Assert.That(ExactTests.FisherOneSided(0, 50, 5, 50), Is.EqualTo(1).Within(1e-12));
    }

    [Test]
    public void Fisher_on_a_lopsided_table()
    {
        // A 5/10, B 0/10: N = 20, K = 5, draws 10: P(X = 5) = C(5,5)·C(15,5)/C(20,10) = 3003/184756 = 0.0162539
        Assert.That(ExactTests.FisherOneSided(5, 10, 0, 10), Is.EqualTo(3003.0 / 184756).Within(1e-12));
    }

    [Test]
    public void Poisson_comparison_conditions_on_the_total_failures()
    {
        // 10 vs 2 failures in 1000 cycles each: under equal rates X ~ Bin(12, 0.5)
        // P(X ≥ 10) = (C(12,10) + C(12,11) + C(12,12)) / 2^12 = (66 + 12 + 1)/4096 = 79/4096 = 0.0192871
        Assert.That(ExactTests.PoissonRatesOneSided(10, 1000, 2, 1000), Is.EqualTo(79.0 / 4096).Within(1e-10));
    }

    [Test]
    public void Poisson_comparison_weighs_by_cycles_run()
    {
        // 3 failures in 1000 vs 1 in 3000: π = 1000/4000 = 0.25, k = 4
        // P(X ≥ 3) = C(4,3)·0.25³·0.75 + 0.25⁴ = 4·0.015625·0.75 + 0.00390625 = 0.046875 + 0.00390625 = 0.05078125
        Assert.That(ExactTests.PoissonRatesOneSided(3, 1000, 1, 3000), Is.EqualTo(0.05078125).Within(1e-10));
    }

    [Test]
    public void A_worse_candidate_gets_a_plain_verdict_with_its_p_value()
    {
        var c = ExactTests.CompareSoak("BL15", 10, 1000, "BL14", 2, 1000);
        Assert.That(c.CandidateIsWorse, Is.True);
        Assert.That(c.Verdict, Is.EqualTo("BL15 is worse than BL14: p = 0.0193"));
    }

    [Test]
    public void A_better_candidate_is_not_called_worse()
    {
        // roles swapped: P(X ≥ 2 | Bin(12, 0.5)) = 1 − (1 + 12)/4096 = 4083/4096 = 0.9968
        var c = ExactTests.CompareSoak("BL15", 2, 1000, "BL14", 10, 1000);
        Assert.That(c.CandidateIsWorse, Is.False);
        Assert.That(c.Verdict, Is.EqualTo("BL15 is not shown worse than BL14: p = 0.9968"));
    }

    [Test]
    public void Unit_comparison_uses_Fisher()
    {
        var c = ExactTests.CompareUnits("lot 1402-B", 5, 10, "lot 1350-A", 0, 10);
        Assert.That(c.PValue, Is.EqualTo(3003.0 / 184756).Within(1e-12));
        Assert.That(c.Verdict, Is.EqualTo("lot 1402-B is worse than lot 1350-A: p = 0.0163"));
    }
}
