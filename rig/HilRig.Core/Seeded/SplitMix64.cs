namespace HilRig.Core.Seeded;

/// <summary>
/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and defined by its algorithm, so seeded sequences never change
/// with the runtime. A struct: the fleet simulator passes it by ref through its hot path; keep it in a local, never a
/// readonly field (a copy would repeat the stream).
/// </summary>
public struct SplitMix64(ulong seed)
{
    private ulong _state = seed;

    public ulong Next()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1) from the top 53 bits.</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>
    /// A Poisson count by inversion (sequential search from 0); a large mean is split into parts of at most 30, whose
    /// counts add up to a Poisson count of the whole (e^−30 stays far from underflow).
    /// </summary>
    public int Poisson(double mean)
    {
        if (!(mean >= 0) || double.IsInfinity(mean)) throw new ArgumentOutOfRangeException(nameof(mean), mean, "a Poisson mean is finite and 0 or more");
        var total = 0;
        while (mean > 0)
        {
            var part = Math.Min(mean, 30);
            mean -= part;
            var u = NextDouble();
            var k = 0;
            var p = Math.Exp(-part);
            var cdf = p;
            while (u > cdf && p > 0)
            {
                k++;
                p *= part / k;
                cdf += p;
            }
            total += k;
        }
        return total;
    }
}
