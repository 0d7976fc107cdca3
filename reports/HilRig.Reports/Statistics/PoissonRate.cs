namespace HilRig.Reports.Statistics;

/// <summary>Failure rates per cycle count (soak), treating failures as Poisson events over cycles run.</summary>
public static class PoissonRate
{
    /// <summary>Rates are reported per this many cycles.</summary>
    public const int CyclesPerUnit = 1000;

    /// <summary>
    /// Failures per 1,000 cycles with the exact (Garwood) interval. For k events the bounds on the
    /// expected count are lower = G⁻¹(α/2; k) (0 when k = 0) and upper = G⁻¹(1−α/2; k+1), where
    /// G⁻¹(p; a) is the inverse regularized lower incomplete gamma (equivalently χ²(α/2; 2k)/2 and
    /// χ²(1−α/2; 2k+2)/2); each is then scaled by 1000 / cycles.
    /// </summary>
    public static Interval PerThousandCycles(int failures, long cycles, double confidence = 0.95)
    {
        if (failures < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(failures), failures, "failures must be 0 or more");
        }

        if (cycles <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(cycles), cycles, "cycles run must be at least 1");
        }

        Proportion.ValidateConfidence(confidence);
        var alpha = 1 - confidence;
        var lower = failures == 0 ? 0 : SpecialFunctions.InverseRegularizedGammaP(failures, alpha / 2);
        var upper = SpecialFunctions.InverseRegularizedGammaP(failures + 1, 1 - (alpha / 2));
        var scale = (double)CyclesPerUnit / cycles;
        return new Interval(failures * scale, lower * scale, upper * scale);
    }
}
