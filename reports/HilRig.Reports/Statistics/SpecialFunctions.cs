namespace HilRig.Reports.Statistics;

/// <summary>
/// The few special functions the intervals and exact tests need, written here so the
/// reports depend on no math package. Accuracy target: about 1e-12 relative, far below
/// anything a failure-rate claim is sensitive to.
/// </summary>
internal static class SpecialFunctions
{
    private const double Epsilon = 1e-15;
    private const double Tiny = 1e-300;
    private const int MaxIterations = 10_000;

    // Lanczos approximation, g = 7, nine coefficients (the published standard set).
    private static readonly double[] LanczosCoefficients =
    [
        0.99999999999980993,
        676.5203681218851,
        -1259.1392167224028,
        771.32342877765313,
        -176.61502916214059,
        12.507343278686905,
        -0.13857109526572012,
        9.9843695780195716e-6,
        1.5056327351493116e-7,
    ];

    /// <summary>ln Γ(x) for x &gt; 0.</summary>
    public static double LogGamma(double x)
    {
        if (x < 0.5)
        {
            // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
            return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        }

        x -= 1;
        var sum = LanczosCoefficients[0];
        var t = x + 7.5;
        for (var i = 1; i < LanczosCoefficients.Length; i++)
        {
            sum += LanczosCoefficients[i] / (x + i);
        }

        return 0.5 * Math.Log(2 * Math.PI) + ((x + 0.5) * Math.Log(t)) - t + Math.Log(sum);
    }

    /// <summary>ln C(n, k).</summary>
    public static double LogChoose(int n, int k) =>
        LogGamma(n + 1.0) - LogGamma(k + 1.0) - LogGamma(n - k + 1.0);

    /// <summary>
    /// Regularized incomplete beta I_x(a, b) = B(x; a, b) / B(a, b), by its continued
    /// fraction (modified Lentz), using the symmetry I_x(a, b) = 1 − I_{1−x}(b, a) where the
    /// fraction converges slowly.
    /// </summary>
    public static double RegularizedBeta(double x, double a, double b)
    {
        if (x <= 0)
        {
            return 0;
        }

        if (x >= 1)
        {
            return 1;
        }

        var logFront = (a * Math.Log(x)) + (b * Math.Log(1 - x)) - (LogGamma(a) + LogGamma(b) - LogGamma(a + b));
        if (x < (a + 1) / (a + b + 2))
        {
            return Math.Exp(logFront) * BetaContinuedFraction(x, a, b) / a;
        }

        return 1 - (Math.Exp(logFront) * BetaContinuedFraction(1 - x, b, a) / b);
    }

    private static double BetaContinuedFraction(double x, double a, double b)
    {
        var c = 1.0;
        var d = 1 - ((a + b) * x / (a + 1));
        d = 1 / (Math.Abs(d) < Tiny ? Tiny : d);
        var h = d;
        for (var m = 1; m <= MaxIterations; m++)
        {
            // Even step: d_{2m} = m(b−m)x / ((a+2m−1)(a+2m)).
            var even = m * (b - m) * x / ((a + (2 * m) - 1) * (a + (2 * m)));
            d = 1 + (even * d);
            d = 1 / (Math.Abs(d) < Tiny ? Tiny : d);
            c = 1 + (even / c);
            c = Math.Abs(c) < Tiny ? Tiny : c;
            h *= d * c;

            // Odd step: d_{2m+1} = −(a+m)(a+b+m)x / ((a+2m)(a+2m+1)).
            var odd = -(a + m) * (a + b + m) * x / ((a + (2 * m)) * (a + (2 * m) + 1));
            d = 1 + (odd * d);
            d = 1 / (Math.Abs(d) < Tiny ? Tiny : d);
            c = 1 + (odd / c);
            c = Math.Abs(c) < Tiny ? Tiny : c;
            var delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < Epsilon)
            {
                return h;
            }
        }

        return h;
    }

    /// <summary>The x in [0, 1] with I_x(a, b) = p, by bisection (I_x is increasing in x).</summary>
    public static double InverseRegularizedBeta(double p, double a, double b)
    {
        if (p <= 0)
        {
            return 0;
        }

        if (p >= 1)
        {
            return 1;
        }

        double lo = 0, hi = 1;
        for (var i = 0; i < 200 && hi - lo > 1e-16; i++)
        {
            var mid = 0.5 * (lo + hi);
            if (RegularizedBeta(mid, a, b) < p)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        return 0.5 * (lo + hi);
    }

    /// <summary>
    /// Regularized lower incomplete gamma P(a, x) = γ(a, x) / Γ(a): series below a + 1,
    /// continued fraction for Q = 1 − P above.
    /// </summary>
    public static double RegularizedGammaP(double a, double x)
    {
        if (x <= 0)
        {
            return 0;
        }

        var logFront = (a * Math.Log(x)) - x - LogGamma(a);
        if (x < a + 1)
        {
            var term = 1 / a;
            var sum = term;
            for (var n = 1; n <= MaxIterations; n++)
            {
                term *= x / (a + n);
                sum += term;
                if (Math.Abs(term) < Math.Abs(sum) * Epsilon)
                {
                    break;
                }
            }

            return sum * Math.Exp(logFront);
        }

        var b = x + 1 - a;
        var c = 1 / Tiny;
        var d = 1 / b;
        var h = d;
        for (var i = 1; i <= MaxIterations; i++)
        {
            var an = -i * (i - a);
            b += 2;
            d = (an * d) + b;
            d = 1 / (Math.Abs(d) < Tiny ? Tiny : d);
            c = b + (an / c);
            c = Math.Abs(c) < Tiny ? Tiny : c;
            var delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < Epsilon)
            {
                break;
            }
        }

        return 1 - (Math.Exp(logFront) * h);
    }

    /// <summary>The x ≥ 0 with P(a, x) = p: bracket by doubling, then bisection.</summary>
    public static double InverseRegularizedGammaP(double a, double p)
    {
        if (p <= 0)
        {
            return 0;
        }

        if (p >= 1)
        {
            return double.PositiveInfinity;
        }

        double lo = 0, hi = Math.Max(1, a);
        while (RegularizedGammaP(a, hi) < p)
        {
            lo = hi;
            hi *= 2;
        }

        for (var i = 0; i < 300 && hi - lo > 1e-15 * hi; i++)
        {
            var mid = 0.5 * (lo + hi);
            if (RegularizedGammaP(a, mid) < p)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        return 0.5 * (lo + hi);
    }

    /// <summary>Standard normal CDF Φ(x) = ½(1 + sign(x)·P(½, x²/2)).</summary>
    public static double NormalCdf(double x)
    {
        var half = 0.5 * RegularizedGammaP(0.5, 0.5 * x * x);
        return x >= 0 ? 0.5 + half : 0.5 - half;
    }

    /// <summary>The z with Φ(z) = p, by bisection on [−40, 40].</summary>
    public static double NormalQuantile(double p)
    {
        double lo = -40, hi = 40;
        for (var i = 0; i < 200 && hi - lo > 1e-15; i++)
        {
            var mid = 0.5 * (lo + hi);
            if (NormalCdf(mid) < p)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        return 0.5 * (lo + hi);
    }
}
