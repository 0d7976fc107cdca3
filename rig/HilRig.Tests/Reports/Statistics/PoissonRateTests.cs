using HilRig.Reports.Statistics;

namespace HilRig.Tests.Reports;

public class PoissonRateTests
{
    [Test]
    public void No_failures_in_a_thousand_cycles_bounds_the_rate_at_3_69()
    {
        // k = 0: lower 0; upper solves e^(−μ) = 0.025 → μ = −ln 0.025 = 3.688879; ×1000/1000
        var r = PoissonRate.PerThousandCycles(0, 1000);
        Assert.That(r.Point, Is.Zero);
        Assert.That(r.Lower, Is.Zero);
        Assert.That(r.Upper, Is.EqualTo(3.688879).Within(1e-5));
    }

    [Test]
    public void One_failure_in_five_hundred_cycles_is_two_per_thousand()
    {
        // k = 1: lower solves 1 − e^(−μ) = 0.025 → μ = −ln 0.975 = 0.0253178
        //        upper solves e^(−μ)(1 + μ) = 0.025 → μ = 5.571643 (e^(−5.571643)·6.571643 = 0.003804·6.5716 = 0.0250)
        // scaled by 1000/500 = 2: [0.0506356, 11.143287]
        var r = PoissonRate.PerThousandCycles(1, 500);
        Assert.That(r.Point, Is.EqualTo(2));
        Assert.That(r.Lower, Is.EqualTo(0.0506356).Within(1e-6));
        Assert.That(r.Upper, Is.EqualTo(11.143287).Within(1e-5));
    }

    [Test]
    public void Ten_failures_match_the_chi_square_table()
    {
        // lower = χ²(0.025; 20)/2 = 9.590777/2 = 4.795389; upper = χ²(0.975; 22)/2 = 36.780712/2 = 18.390356
        var r = PoissonRate.PerThousandCycles(10, 1000);
        Assert.That(r.Point, Is.EqualTo(10));
        Assert.That(r.Lower, Is.EqualTo(4.795389).Within(1e-5));
        Assert.That(r.Upper, Is.EqualTo(18.390356).Within(1e-5));
    }

    [Test]
    public void No_cycles_run_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PoissonRate.PerThousandCycles(0, 0));
    }
}
