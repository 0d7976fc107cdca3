namespace HilRig.Reports.Statistics;

/// <summary>
/// Confidence intervals for a failure proportion k/n (failed units out of units tested).
/// Wilson is for display (good coverage, never leaves [0, 1]); Clopper-Pearson is exact and
/// conservative, so it is the one to use for a claim ("lot L7 fails below 1 %").
/// </summary>
public static class Proportion
{
    /// <summary>
    /// Wilson score interval. With p̂ = k/n and z the two-sided normal quantile for the confidence:
    /// centre = (p̂ + z²/2n) / (1 + z²/n), half-width = z·√(p̂(1−p̂)/n + z²/4n²) / (1 + z²/n).
    /// The point of the result is p̂ itself.
    /// </summary>
    public static Interval Wilson(int successes, int n, double confidence = 0.95)
    {
        Validate(successes, n, confidence);
        var z = TwoSidedZ(confidence);
        var z2 = z * z;
        var p = (double)successes / n;
        var denominator = 1 + (z2 / n);
        var centre = (p + (z2 / (2.0 * n))) / denominator;
        var half = z * Math.Sqrt((p * (1 - p) / n) + (z2 / (4.0 * n * n))) / denominator;
        return new Interval(p, Math.Max(0, centre - half), Math.Min(1, centre + half));
    }

    /// <summary>
    /// Clopper-Pearson exact two-sided interval with α = 1 − confidence:
    /// lower = B⁻¹(α/2; k, n−k+1) (0 when k = 0), upper = B⁻¹(1−α/2; k+1, n−k) (1 when k = n),
    /// where B⁻¹ is the inverse of the regularized incomplete beta function.
    /// </summary>
    public static Interval ClopperPearson(int k, int n, double confidence = 0.95)
    {
        Validate(k, n, confidence);
        var alpha = 1 - confidence;
        var lower = k == 0 ? 0 : SpecialFunctions.InverseRegularizedBeta(alpha / 2, k, n - k + 1);
        var upper = k == n ? 1 : SpecialFunctions.InverseRegularizedBeta(1 - (alpha / 2), k + 1, n - k);
        return new Interval((double)k / n, lower, upper);
    }

    /// <summary>
    /// One-sided Clopper-Pearson upper bound: the p with P(X ≤ k | n, p) = 1 − confidence,
    /// i.e. B⁻¹(confidence; k+1, n−k). This is the bound behind "fails below p at 95 %".
    /// </summary>
    public static double ClopperPearsonUpper(int k, int n, double confidence = 0.95)
    {
        Validate(k, n, confidence);
        return k == n ? 1 : SpecialFunctions.InverseRegularizedBeta(confidence, k + 1, n - k);
    }

    /// <summary>
    /// Rule of three: with zero failures in n units the one-sided 95 % upper bound is
    /// −ln(0.05)/n ≈ 3/n. Returns 3/n.
    /// </summary>
    public static double RuleOfThree(int n)
    {
        if (n <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(n), n, "units tested must be at least 1");
        }

        return 3.0 / n;
    }

    /// <summary>
    /// Smallest total number of units n such that, with <paramref name="failures"/> failures among
    /// them, the one-sided Clopper-Pearson upper bound at <paramref name="confidence"/> is at most
    /// <paramref name="targetUpper"/>. Assumes every further unit passes (the failure count stays
    /// at k); if another unit fails, ask again with k + 1. With k = 0 and 95 % this is
    /// ⌈ln 0.05 / ln(1 − target)⌉, e.g. 299 units for 1 %.
    /// </summary>
    public static int UnitsNeededForUpperBound(int failures, double targetUpper, double confidence = 0.95)
    {
        if (failures < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(failures), failures, "failures must be 0 or more");
        }

        if (!(targetUpper > 0 && targetUpper < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(targetUpper), targetUpper, "target upper bound must be between 0 and 1 (exclusive)");
        }

        ValidateConfidence(confidence);

        // The bound falls as n grows with k fixed: double until it is met, then bisect.
        long lo = failures, hi = Math.Max(1, failures + 1);
        while (ClopperPearsonUpper(failures, checked((int)hi), confidence) > targetUpper)
        {
            lo = hi;
            hi *= 2;
            if (hi > int.MaxValue)
            {
                throw new ArgumentOutOfRangeException(nameof(targetUpper), targetUpper, "target upper bound needs more than int.MaxValue units");
            }
        }

        // Invariant: bound(lo) > target (or lo = k, where the bound is 1), bound(hi) ≤ target.
        while (hi - lo > 1)
        {
            var mid = lo + ((hi - lo) / 2);
            if (ClopperPearsonUpper(failures, (int)mid, confidence) > targetUpper)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        return (int)hi;
    }

    /// <summary>Units still to test (all passing) after <paramref name="tested"/> to reach the target bound; 0 when already met.</summary>
    public static int AdditionalUnitsNeeded(int failures, int tested, double targetUpper, double confidence = 0.95)
    {
        if (tested < failures)
        {
            throw new ArgumentOutOfRangeException(nameof(tested), tested, $"units tested must be at least the {failures} failures");
        }

        return Math.Max(0, UnitsNeededForUpperBound(failures, targetUpper, confidence) - tested);
    }

    internal static double TwoSidedZ(double confidence) =>
        SpecialFunctions.NormalQuantile(1 - ((1 - confidence) / 2));

    private static void Validate(int k, int n, double confidence)
    {
        if (n <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(n), n, "units tested must be at least 1");
        }

        if (k < 0 || k > n)
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, $"count must be between 0 and {n}");
        }

        ValidateConfidence(confidence);
    }

    internal static void ValidateConfidence(double confidence)
    {
        if (!(confidence > 0 && confidence < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(confidence), confidence, "confidence must be between 0 and 1 (exclusive), e.g. 0.95");
        }
    }
}
