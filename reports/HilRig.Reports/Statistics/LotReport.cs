using HilRig.Core.Procedures;
using HilRig.Reports.Results;

namespace HilRig.Reports.Statistics;

/// <summary>One chip lot on the quality dashboard.</summary>
/// <param name="Wilson">For display.</param>
/// <param name="ClopperPearson">For claims.</param>
/// <param name="RuleOfThreeUpper">3/n when the lot has no failures, else null.</param>
/// <param name="PChart">The lot against the fleet's pooled rate.</param>
/// <param name="AdditionalUnitsNeeded">Passing units still to test before the one-sided Clopper-Pearson upper bound reaches the target; null when no target was given.</param>
public sealed record LotFailureRate(
    string Lot,
    int Units,
    int Failed,
    Interval Wilson,
    Interval ClopperPearson,
    double? RuleOfThreeUpper,
    PChartPoint PChart,
    int? AdditionalUnitsNeeded)
{
    /// <summary>Worse than the fleet: the lot's rate is above its p-chart upper limit (a lot below its lower limit is better, not flagged).</summary>
    public bool Flagged => PChart.Signal == ControlSignal.AboveUpperLimit;
}

/// <summary>Failure rate by chip lot: counts from rows, then intervals, p-chart flags and units still needed.</summary>
public static class LotReport
{
    /// <summary>
    /// Units and failed units per lot (ordinal order). Per device and test the last attempt decides
    /// (retests never overwrite, the last word counts for a lot); a device failed if any test's
    /// last attempt is <see cref="Verdict.Fail"/>. A device whose last attempts are all rig
    /// faults has no verdict on the DUT and is left out.
    /// </summary>
    public static IReadOnlyList<GroupCount> CountByLot(IEnumerable<ResultRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var last = new Dictionary<(string Device, string Test), ResultRow>();
        foreach (var row in rows)
        {
            var key = (row.DeviceId, row.Test);
            if (!last.TryGetValue(key, out var current) || row.Attempt > current.Attempt)
            {
                last[key] = row;
            }
        }

        // device -> (lot, has a DUT verdict, failed)
        var devices = new Dictionary<string, (string Lot, bool Judged, bool Failed)>(StringComparer.Ordinal);
        foreach (var row in last.Values)
        {
            var judged = row.Verdict != Verdict.RigFault;
            var failed = row.Verdict == Verdict.Fail;
            devices[row.DeviceId] = devices.TryGetValue(row.DeviceId, out var d)
                ? (d.Lot, d.Judged || judged, d.Failed || failed)
                : (row.Lot, judged, failed);
        }

        return devices.Values
            .Where(d => d.Judged)
            .GroupBy(d => d.Lot, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new GroupCount(g.Key, g.Count(d => d.Failed), g.Count()))
            .ToList();
    }

    /// <summary>The dashboard rows for the given lot counts, in input order.</summary>
    /// <param name="targetUpper">Optional claim target, e.g. 0.01 for "below 1 %".</param>
    public static IReadOnlyList<LotFailureRate> Build(IReadOnlyList<GroupCount> lots, double confidence = 0.95, double? targetUpper = null)
    {
        ArgumentNullException.ThrowIfNull(lots);
        var chart = PChart.Compute(lots);
        var result = new LotFailureRate[lots.Count];
        for (var i = 0; i < result.Length; i++)
        {
            var lot = lots[i];
            result[i] = new LotFailureRate(
                lot.Name,
                lot.Units,
                lot.Failed,
                Proportion.Wilson(lot.Failed, lot.Units, confidence),
                Proportion.ClopperPearson(lot.Failed, lot.Units, confidence),
                lot.Failed == 0 ? Proportion.RuleOfThree(lot.Units) : null,
                chart.Points[i],
                targetUpper is { } target ? Proportion.AdditionalUnitsNeeded(lot.Failed, lot.Units, target, confidence) : null);
        }

        return result;
    }
}
