using System.Data;
using Dapper;

namespace HilRig.Reports.Queries;

/// <summary>
/// The rigs page's results and rig faults per rig and per line on a fleet, from the rollups the ingest keeps
/// (rollup_rig_hours per rig and hour, rollup_rig_day per rig and day) instead of counting the results: a rig's results are
/// a line's when all of the rig's runs were on that line, as they are unless a rig moved line.
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
    /// Each rig's results, rig faults and newest result per day that a filter of dates, a rig and a line keeps, as the rigs
    /// page counts them from the results: the range's whole hours from rollup_rig_hours (fleet step 16), its part hours at
    /// either end from their results (by slot and start, ix_results_slot_time). Null where the rollups cannot answer: before
    /// step 16, or a line filter while a rig has runs on several lines.
    /// </summary>
    private static List<RigDayRow>? FleetRigDays(IDbConnection db, ResultFilter filter)
    {
        if (db.ExecuteScalar<string?>("SELECT to_regclass('rollup_rig_hours')::text") is null) return null;
        var lines = filter.Line is null ? null : RigLines(db);
        if (filter.Line is not null && lines is null) return null;
        var args = new DynamicParameters();
        var rig = "";
        if (filter.Rig is not null)
        {
            rig = " AND rig_id = @rig";
            args.Add("rig", filter.Rig);
        }
        DateTimeOffset? fromHour = filter.From is { } f ? (FloorHour(f) == f ? f : FloorHour(f).AddHours(1)) : null;
        DateTimeOffset? toHour = filter.ToExclusive is { } t ? FloorHour(t) : null;
        var parts = new List<string>();
        var edges = new List<(DateTimeOffset From, DateTimeOffset To)>();
        if (fromHour is null || toHour is null || fromHour < toHour)
        {
            var hours = "";
            if (fromHour is { } fh)
            {
                hours += " AND hour >= @fromHour";
                args.Add("fromHour", HourText(fh));
            }
            if (toHour is { } th)
            {
                hours += " AND hour < @toHour";
                args.Add("toHour", HourText(th));
            }
            parts.Add($"SELECT rig_id AS Name, left(hour, 10) AS Day, results AS Results, rig_faults AS RigFaults, last_result_at AS LastResultAt FROM rollup_rig_hours WHERE results > 0{hours}{rig}");
            if (filter.From is { } from && from != fromHour) edges.Add((from, fromHour!.Value));
            if (filter.ToExclusive is { } to && to != toHour) edges.Add((toHour!.Value, to));
        }
        else
        {
            // no whole hour in the range
            edges.Add((filter.From!.Value, filter.ToExclusive!.Value));
        }
        for (var i = 0; i < edges.Count; i++)
        {
            args.Add($"edgeFrom{i}", ResultFilter.StoreTime(edges[i].From));
            args.Add($"edgeTo{i}", ResultFilter.StoreTime(edges[i].To));
            // by slot and start (the slots are few: rollup_slots holds every slot with a result; results have no index by time alone)
            parts.Add(
                $"""
                SELECT ru.rig_id AS Name, substr(r.started_at, 1, 10) AS Day, COUNT(*) AS Results, SUM(CASE WHEN r.verdict = 'rig-fault' THEN 1 ELSE 0 END) AS RigFaults,
                       MAX(r.started_at) AS LastResultAt
                FROM results r JOIN runs ru ON ru.id = r.run_id
                WHERE r.slot = ANY(@slots) AND r.started_at >= @edgeFrom{i} AND r.started_at < @edgeTo{i}{rig.Replace("rig_id", "ru.rig_id", StringComparison.Ordinal)}
                GROUP BY 1, 2
                """);
        }
        if (edges.Count > 0)
            args.Add("slots", db.Query<int>("SELECT slot FROM rollup_slots").ToArray());
        return db.Query<RigDayRow>(string.Join(" UNION ALL ", parts), args)
            .Where(d => lines is null || lines.GetValueOrDefault(d.Name) == filter.Line)
            .GroupBy(d => (d.Name, d.Day))
            .Select(g => new RigDayRow
            {
                Name = g.Key.Name, Day = g.Key.Day, Results = g.Sum(d => d.Results), RigFaults = g.Sum(d => d.RigFaults),
                LastResultAt = g.Select(d => d.LastResultAt).Max(StringComparer.Ordinal),
            })
            .ToList();
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
