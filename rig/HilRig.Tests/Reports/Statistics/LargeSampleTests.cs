using HilRig.Reports.Statistics;

namespace HilRig.Tests.Reports;

/// <summary>Fleet-sized counts: the exact methods must stay accurate where the approximations become good.</summary>
public class LargeSampleTests
{
    [Test]
    public void Exact_and_Wilson_intervals_agree_on_a_large_lot()
    {
        // 500 failures in 100,000: both near p̂ ± 1.96·√(0.005·0.995/100000) = 0.005 ± 0.000437
        var cp = Proportion.ClopperPearson(500, 100_000);
        var w = Proportion.Wilson(500, 100_000);
        Assert.That(cp.Lower, Is.EqualTo(w.Lower).Within(0.02 * w.Lower));
        Assert.That(cp.Upper, Is.EqualTo(w.Upper).Within(0.02 * w.Upper));
        Assert.That(cp.Lower, Is.EqualTo(0.005 - 0.000437).Within(2e-5));
    }

    [Test]
    public void Zero_failures_in_a_million_bounds_at_three_per_million()
    {
        // one-sided: 1 − 0.05^(1/10⁶) = 1 − e^(−2.995732·10⁻⁶) = 2.995728·10⁻⁶
        Assert.That(Proportion.ClopperPearsonUpper(0, 1_000_000), Is.EqualTo(2.995728e-6).Within(1e-11));
    }

    [Test]
    public void Many_soak_failures_approach_the_normal_interval()
    {
        // 10,000 failures: μ ± 1.96·√μ = 10000 ± 196 (Garwood is within a couple of counts of that)
        var r = PoissonRate.PerThousandCycles(10_000, 1000);
        Assert.That(r.Lower, Is.EqualTo(9804).Within(3));
        Assert.That(r.Upper, Is.EqualTo(10196).Within(3));
    }

    [Test]
    public void Fisher_on_large_lots_matches_the_symmetric_case()
    {
        // equal tables: P(X ≥ k) = ½ + ½·P(X = k) by symmetry, so it is just above one half
        var p = ExactTests.FisherOneSided(100, 10_000, 100, 10_000);
        Assert.That(p, Is.GreaterThan(0.5).And.LessThan(0.55));
    }
}
