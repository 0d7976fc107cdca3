using HilRig.Core.Procedures;
using System.Globalization;

namespace HilRig.Reports.Statistics;

/// <summary>The outcome of a one-sided "is the candidate worse" test.</summary>
public sealed record Comparison(string Candidate, string Baseline, double PValue, double Alpha, string Method)
{
    /// <summary>True when the candidate's failure rate is shown higher at the chosen α.</summary>
    public bool CandidateIsWorse => PValue < Alpha;

    /// <summary>"BL15 is worse than BL14: p = 0.0003" or "BL15 is not shown worse than BL14: p = 0.41".</summary>
    public string Verdict => string.Create(
        CultureInfo.InvariantCulture,
        $"{Candidate} is {(CandidateIsWorse ? "worse" : "not shown worse")} than {Baseline}: p = {FormatP(PValue)}");

    public override string ToString() => Verdict;

    private static string FormatP(double p) =>
        p < 0.0001 ? p.ToString("0.0E+0", CultureInfo.InvariantCulture) : p.ToString("0.####", CultureInfo.InvariantCulture);
}

/// <summary>
/// One-sided exact tests for "candidate fails more often than baseline".
/// <para>
/// Soak results are failures over cycles run, and a Core can fail in many cycles, so a soak
/// comparison uses <see cref="PoissonRatesOneSided"/> (the conditional binomial test for two
/// Poisson rates): exposure is the cycle count and nothing assumes one failure per unit. When the
/// question is about units (failed Cores out of Cores tested, as in a lot comparison), use
/// <see cref="FisherOneSided"/>, the exact test on the 2×2 table.
/// </para>
/// </summary>
public static class ExactTests
{
    /// <summary>
    /// Fisher's exact test, one-sided: is A's failure proportion greater than B's?
    /// With N = nA + nB, K = failA + failB and the margins fixed, failA is hypergeometric:
    /// P(X = x) = C(K, x)·C(N−K, nA−x) / C(N, nA); the p-value is P(X ≥ failA).
    /// </summary>
    public static double FisherOneSided(int failA, int nA, int failB, int nB)
    {
        CheckCount(failA, nA, nameof(failA));
        CheckCount(failB, nB, nameof(failB));
        var n = nA + nB;
        var k = failA + failB;
        var logDenominator = SpecialFunctions.LogChoose(n, nA);
        var top = Math.Min(k, nA);
        var p = 0.0;
        for (var x = failA; x <= top; x++)
        {
            p += Math.Exp(SpecialFunctions.LogChoose(k, x) + SpecialFunctions.LogChoose(n - k, nA - x) - logDenominator);
        }

        return Math.Min(1, p);
    }

    /// <summary>
    /// Conditional binomial test for two Poisson rates, one-sided: is A's rate per cycle greater
    /// than B's? Given k = failA + failB, under equal rates failA ~ Binomial(k, π) with
    /// π = cyclesA / (cyclesA + cyclesB); the p-value is P(X ≥ failA) = I_π(failA, k − failA + 1)
    /// (1 when failA = 0).
    /// </summary>
    public static double PoissonRatesOneSided(int failA, long cyclesA, int failB, long cyclesB)
    {
        if (failA < 0 || failB < 0)
        {
            throw new ArgumentOutOfRangeException(failA < 0 ? nameof(failA) : nameof(failB), "failures must be 0 or more");
        }

        if (cyclesA <= 0 || cyclesB <= 0)
        {
            throw new ArgumentOutOfRangeException(cyclesA <= 0 ? nameof(cyclesA) : nameof(cyclesB), "cycles run must be at least 1");
        }

        if (failA == 0)
        {
            return 1;
        }

        var k = failA + failB;
        var share = (double)cyclesA / (cyclesA + cyclesB);
        return SpecialFunctions.RegularizedBeta(share, failA, k - failA + 1);
    }

    /// <summary>Soak A/B: candidate build vs baseline build, failures over cycles, by <see cref="PoissonRatesOneSided"/>.</summary>
    public static Comparison CompareSoak(string candidate, int candidateFailures, long candidateCycles, string baseline, int baselineFailures, long baselineCycles, double alpha = 0.05)
    {
        CheckAlpha(alpha);
        var p = PoissonRatesOneSided(candidateFailures, candidateCycles, baselineFailures, baselineCycles);
        return new Comparison(candidate, baseline, p, alpha, "conditional binomial test of two Poisson rates");
    }

    /// <summary>Units A/B (e.g. two lots): failed units out of units tested, by <see cref="FisherOneSided"/>.</summary>
    public static Comparison CompareUnits(string candidate, int candidateFailed, int candidateUnits, string baseline, int baselineFailed, int baselineUnits, double alpha = 0.05)
    {
        CheckAlpha(alpha);
        var p = FisherOneSided(candidateFailed, candidateUnits, baselineFailed, baselineUnits);
        return new Comparison(candidate, baseline, p, alpha, "Fisher's exact test, one-sided");
    }

    private static void CheckCount(int failed, int n, string name)
    {
        if (n <= 0 || failed < 0 || failed > n)
        {
            throw new ArgumentOutOfRangeException(name, failed, $"failed must be between 0 and units tested ({n}), and units tested at least 1");
        }
    }

    private static void CheckAlpha(double alpha)
    {
        if (!(alpha > 0 && alpha < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "significance level must be between 0 and 1 (exclusive), e.g. 0.05");
        }
    }
}
