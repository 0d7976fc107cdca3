using HilRig.Core.Procedures;
using HilRig.Reports.Results;

namespace HilRig.Reports.Statistics;

/// <summary>One bootloader build's soak record.</summary>
/// <param name="PerThousandCycles">Failures per 1,000 cycles with its exact (Garwood) interval.</param>
public sealed record BootloaderSoak(string Bootloader, long Cycles, int Failures, Interval PerThousandCycles);

/// <summary>Soak results by bootloader build, and the morning's A/B verdict.</summary>
public static class SoakTrends
{
    /// <summary>
    /// One entry per bootloader build, in the order the builds were first soaked, by the soak engine's rule
    /// (<see cref="SoakRunner.CountsForRate"/>): a cycle counts once its OTA (or its one-row cycle) was judged, a
    /// failure is a failed OTA or factory reset; readbacks, recoveries and rig faults tell nothing about the build.
    /// </summary>
    public static IReadOnlyList<BootloaderSoak> ByBootloader(IEnumerable<ResultRow> rows, double confidence = 0.95)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var builds = new Dictionary<string, (DateTimeOffset First, long Cycles, int Failures)>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            if (row.Bootloader is null || row.Cycle is null || row.Verdict is not (Verdict.Pass or Verdict.Fail) || !SoakRunner.CountsForRate(row.Test))
            {
                continue;
            }

            var cycle = SoakRunner.JudgesCycle(row.Test) ? 1 : 0;
            var failure = row.Verdict == Verdict.Fail ? 1 : 0;
            builds[row.Bootloader] = builds.TryGetValue(row.Bootloader, out var b)
                ? (row.RecordedAt < b.First ? row.RecordedAt : b.First, b.Cycles + cycle, b.Failures + failure)
                : (row.RecordedAt, cycle, failure);
        }

        return builds
            .OrderBy(kv => kv.Value.First)
            .ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => new BootloaderSoak(kv.Key, kv.Value.Cycles, kv.Value.Failures, PoissonRate.PerThousandCycles(kv.Value.Failures, kv.Value.Cycles, confidence)))
            .ToList();
    }

    /// <summary>Is <paramref name="candidate"/> worse than <paramref name="baseline"/>? See <see cref="ExactTests.CompareSoak"/>.</summary>
    public static Comparison Compare(BootloaderSoak candidate, BootloaderSoak baseline, double alpha = 0.05)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(baseline);
        return ExactTests.CompareSoak(candidate.Bootloader, candidate.Failures, candidate.Cycles, baseline.Bootloader, baseline.Failures, baseline.Cycles, alpha);
    }
}
