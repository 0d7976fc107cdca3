using System.Data;
using Dapper;

namespace HilRig.Reports.Queries;

/// <summary>
/// The rigs page's results and rig faults per rig and per line on a fleet, from the rollups the ingest keeps
/// (rollup_rig_day per rig and day, rollup_rig_slot's newest result per rig and slot) instead of counting the results: a
/// rig's results are a line's when all of the rig's runs were on that line, as they are unless a rig moved line.
/// </summary>
public sealed partial class ResultsQueries
{
    /// <summary>Each rig's line (null: its runs have none), or null when a rig has runs on several lines (or on one and on none).</summary>
    private static Dictionary<string, string?>? RigLines(IDbConnection db)
    {
        var rows = db.Query<(string RigId, string? Line, long Lines)>(
            "SELECT rig_id, MIN(line), COUNT(DISTINCT COALESCE(line, '')) FROM runs GROUP BY rig_id").ToList();
        return rows.Any(r => r.Lines > 1) ? null : rows.ToDictionary(r => r.RigId, r => r.Line, StringComparer.Ordinal);
    }

    /// <summary>
    /// Each rig's results and rig faults per day that a filter of whole days (or none), a rig and a line keep, from
    /// rollup_rig_day, as the rigs page counts them from the results; each rig's newest result among them from its slots'
    /// newest (rollup_rig_slot without dates; over dates, each of its slots' newest in the range by ix_results_slot_time).
    /// Null where the rollups cannot answer: a bound off midnight, or a line filter while a rig has runs on several lines.
    /// </summary>
    private static List<RigDayRow>? FleetRigDays(IDbConnection db, ResultFilter filter)
    {
        if (!filter.KeepsWholeDays) return null;
        var lines = filter.Line is null ? null : RigLines(db);
        if (filter.Line is not null && lines is null) return null;
        var (dayCond, args) = filter.DayConditions("d.day", "d.rig_id");
        var days = db.Query<RigDayRow>(
            $"SELECT d.rig_id AS Name, d.day AS Day, d.results AS Results, d.rig_faults AS RigFaults FROM rollup_rig_day d WHERE d.results > 0{dayCond}", args)
            .Where(d => lines is null || lines.GetValueOrDefault(d.Name) == filter.Line)
            .ToList();
        var rigs = days.Select(d => d.Name).Distinct(StringComparer.Ordinal).ToArray();
        var (cond, rangeArgs) = filter.Conditions();
        rangeArgs.Add("rigs", rigs);
        // a slot whose newest result is older than the range has none in it; the others are read back from the range's end
        var newest = db.Query<(string RigId, string? LastResultAt)>(filter.HasDates
            ? $"""
              SELECT s.rig_id, MAX(x.started_at) FROM rollup_rig_slot s
              CROSS JOIN LATERAL (SELECT r.started_at FROM results r JOIN runs ru ON ru.id = r.run_id
                                  WHERE r.slot = s.slot AND ru.rig_id = s.rig_id{cond} ORDER BY r.started_at DESC LIMIT 1) x
              WHERE s.rig_id = ANY(@rigs) AND s.results > 0{(filter.From is null ? "" : " AND s.last_result_at >= @from")}
              GROUP BY s.rig_id
              """
            : "SELECT rig_id, MAX(last_result_at) FROM rollup_rig_slot WHERE rig_id = ANY(@rigs) AND results > 0 GROUP BY rig_id", rangeArgs)
            .ToDictionary(r => r.RigId, r => r.LastResultAt, StringComparer.Ordinal);
        foreach (var d in days)
            d.LastResultAt = newest.GetValueOrDefault(d.Name);
        return days;
    }

    /// <summary>
    /// Results and rig faults per line from the rigs' (<paramref name="perDay"/>, as the rigs page counted them for the
    /// filter), each rig's on its one line; null while a rig has runs on several lines (the page counts them from the results).
    /// </summary>
    private static Dictionary<string, RigTotalsRow>? FleetLineTotals(IDbConnection db, ResultFilter filter, List<RigDayRow> perDay)
    {
        if (RigLines(db) is not { } lines) return null;
        return perDay
            .Where(d => filter.Rig is null || d.Name == filter.Rig)
            .Select(d => (Line: lines.GetValueOrDefault(d.Name), Day: d))
            .Where(x => x.Line is not null && (filter.Line is null || x.Line == filter.Line))
            .GroupBy(x => x.Line!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => new RigTotalsRow { Name = g.Key, Results = g.Sum(x => x.Day.Results), RigFaults = g.Sum(x => x.Day.RigFaults) },
                StringComparer.Ordinal);
    }
}
