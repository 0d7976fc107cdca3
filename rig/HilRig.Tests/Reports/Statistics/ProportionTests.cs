using HilRig.Reports.Statistics;

namespace HilRig.Tests.Reports;

public class ProportionTests
{
    // z for 95 % two-sided = 1.959964, z² = 3.841459.
    private const double Tolerance = 5e-5;

    [Test]
    public void Wilson_for_zero_of_ten_reaches_up_to_0_2775()
    {
        // p̂ = 0; denominator = 1 + 3.841459/10 = 1.3841459
        // centre = (0 + 3.841459/20) / 1.3841459 = 0.19207295 / 1.3841459 = 0.138767
        // half = 1.959964·√(0 + 3.841459/400) / 1.3841459 = 1.959964·0.0979982 / 1.3841459 = 0.138767
        var w = Proportion.Wilson(0, 10);
        Assert.That(w.Point, Is.Zero);
        Assert.That(w.Lower, Is.EqualTo(0).Within(Tolerance));
        Assert.That(w.Upper, Is.EqualTo(0.277534).Within(Tolerance));
    }

    [Test]
    public void Wilson_for_one_of_ten()
    {
        // centre = (0.1 + 0.19207295) / 1.3841459 = 0.211014
        // half = 1.959964·√(0.1·0.9/10 + 0.00960365) / 1.3841459 = 1.959964·√0.01860365 / 1.3841459
        //      = 1.959964·0.136395 / 1.3841459 = 0.193135
        var w = Proportion.Wilson(1, 10);
        Assert.That(w.Point, Is.EqualTo(0.1));
        Assert.That(w.Lower, Is.EqualTo(0.017879).Within(Tolerance));
        Assert.That(w.Upper, Is.EqualTo(0.404149).Within(Tolerance));
    }

    [Test]
    public void Wilson_for_five_of_fifty()
    {
        // denominator = 1 + 3.841459/50 = 1.0768292; centre = (0.1 + 0.0384146) / 1.0768292 = 0.128539
        // half = 1.959964·√(0.09/50 + 3.841459/10000) / 1.0768292 = 1.959964·√0.002184146 / 1.0768292
        //      = 1.959964·0.0467348 / 1.0768292 = 0.085063
        var w = Proportion.Wilson(5, 50);
        Assert.That(w.Lower, Is.EqualTo(0.043476).Within(Tolerance));
        Assert.That(w.Upper, Is.EqualTo(0.213602).Within(Tolerance));
    }

    [Test]
    public void Wilson_for_fifty_of_a_hundred_is_symmetric_about_one_half()
    {
        // centre = 0.5; half = 1.959964·√(0.0025 + 3.841459/40000) / 1.03841459
        //        = 1.959964·0.0509513 / 1.03841459 = 0.0961684
        var w = Proportion.Wilson(50, 100);
        Assert.That(w.Lower, Is.EqualTo(0.403832).Within(Tolerance));
        Assert.That(w.Upper, Is.EqualTo(0.596168).Within(Tolerance));
    }

    [Test]
    public void Wilson_at_ninety_percent_is_narrower_than_at_ninety_five()
    {
        var w90 = Proportion.Wilson(5, 50, 0.90);
        var w95 = Proportion.Wilson(5, 50);
        Assert.That(w90.Upper - w90.Lower, Is.LessThan(w95.Upper - w95.Lower));
    }

    [Test]
    public void Clopper_Pearson_for_zero_of_ten_has_upper_0_3085()
    {
        // k = 0: lower = 0; upper solves (1 − p)^10 = 0.025 → p = 1 − 0.025^(1/10) = 1 − e^(−0.368888) = 0.308497
        var cp = Proportion.ClopperPearson(0, 10);
        Assert.That(cp.Lower, Is.Zero);
        Assert.That(cp.Upper, Is.EqualTo(0.308497).Within(1e-6));
    }

    [Test]
    public void Clopper_Pearson_for_one_of_ten()
    {
        // lower solves P(X ≥ 1) = 1 − (1 − p)^10 = 0.025 → p = 1 − 0.975^(1/10) = 1 − e^(−0.00253178) = 0.0025286
        // upper solves P(X ≤ 1) = (1 − p)^10 + 10p(1 − p)^9 = 0.025 → p = 0.445016
        //   check: 0.554984^9 = 0.0049949; (0.554984 + 10·0.445016)·0.0049949 = 5.005144·0.0049949 = 0.025000
        var cp = Proportion.ClopperPearson(1, 10);
        Assert.That(cp.Lower, Is.EqualTo(0.0025286).Within(1e-6));
        Assert.That(cp.Upper, Is.EqualTo(0.445016).Within(1e-5));
    }

    [Test]
    public void Clopper_Pearson_for_five_of_fifty_is_wider_than_Wilson()
    {
        // lower solves P(X ≥ 5 | 50, p) = 0.025 → 0.033275; upper solves P(X ≤ 5 | 50, p) = 0.025 → 0.218135
        // (the exact interval is conservative: it contains Wilson's [0.0435, 0.2136])
        var cp = Proportion.ClopperPearson(5, 50);
        Assert.That(cp.Lower, Is.EqualTo(0.033275).Within(1e-5));
        Assert.That(cp.Upper, Is.EqualTo(0.218135).Within(1e-5));
        var w = Proportion.Wilson(5, 50);
        Assert.That(cp.Lower, Is.LessThan(w.Lower));
        Assert.That(cp.Upper, Is.GreaterThan(w.Upper));
    }

    [Test]
    public void Clopper_Pearson_for_all_failed_reaches_one()
    {
        // k = n: upper = 1; lower solves p^10 = 0.025 → 0.025^(1/10) = 0.691503
        var cp = Proportion.ClopperPearson(10, 10);
        Assert.That(cp.Upper, Is.EqualTo(1));
        Assert.That(cp.Lower, Is.EqualTo(0.691503).Within(1e-6));
    }

    [Test]
    public void Rule_of_three_is_close_to_the_exact_one_sided_bound_for_zero_failures()
    {
        // 3/300 = 0.01; exact one-sided: 1 − 0.05^(1/300) = 1 − e^(−2.995732/300) = 0.0099361
        Assert.That(Proportion.RuleOfThree(300), Is.EqualTo(0.01));
        Assert.That(Proportion.ClopperPearsonUpper(0, 300), Is.EqualTo(0.0099361).Within(1e-6));
    }

    [Test]
    public void Claiming_below_one_percent_with_no_failures_needs_299_units()
    {
        // (1 − 0.01)^n ≤ 0.05 → n ≥ ln 0.05 / ln 0.99 = −2.995732 / −0.0100503 = 298.07 → 299
        Assert.That(Proportion.UnitsNeededForUpperBound(0, 0.01), Is.EqualTo(299));
    }

    [Test]
    public void With_one_failure_a_five_percent_claim_needs_93_units()
    {
        // smallest n with P(X ≤ 1 | n, 0.05) = 0.95^n + n·0.05·0.95^(n−1) ≤ 0.05:
        //   n = 92: 0.95^92 = 0.008924, + 92·0.05·0.95^91 (= 4.6·0.009394 = 0.043212) → 0.052136 > 0.05
        //   n = 93: 0.95^93 = 0.008478, + 93·0.05·0.95^92 (= 4.65·0.008924 = 0.041498) → 0.049976 ≤ 0.05
        Assert.That(Proportion.UnitsNeededForUpperBound(1, 0.05), Is.EqualTo(93));
    }

    [Test]
    public void Units_still_needed_subtract_those_tested_and_stop_at_zero()
    {
        Assert.That(Proportion.AdditionalUnitsNeeded(0, 200, 0.01), Is.EqualTo(99));
        Assert.That(Proportion.AdditionalUnitsNeeded(0, 500, 0.01), Is.Zero);
    }

    [Test]
    public void Impossible_inputs_are_refused_with_the_valid_range()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Proportion.Wilson(11, 10));
        Assert.That(ex!.Message, Does.Contain("between 0 and 10"));
        Assert.Throws<ArgumentOutOfRangeException>(() => Proportion.ClopperPearson(0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Proportion.UnitsNeededForUpperBound(0, 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => Proportion.Wilson(1, 10, 95));
    }
}
