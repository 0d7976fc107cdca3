using System.Data;
using Dapper;
using HilRig.Reports.Statistics;

namespace HilRig.Reports.Queries;

/// <summary>
/// The rigs page's results and rig faults per rig and per line on a fleet, from the rollups the ingest keeps
/// (rollup_rig_minutes per minute and rig, rollup_rig_day per rig and day) instead of counting the results: a rig's results are
/// a line's when all of the rig's runs were on that line, as they are unless a rig moved line.
/// </summary>
public sealed partial class ResultsQueries
{
    /// <summary>
    /// Units and failed units per rig and per line as the rigs page counts them (<see cref="UnitCounts"/> by rig_id and by
    /// line: a unit once on each rig or line it was screened on, its latest attempts there deciding) over any filter, on a
    /// fleet at step 14 (<see cref="SplitByHour"/> per rig); null where that does not apply. The units of one rig and one
    /// line come from rollup_lot_rig_hours and units per (rig, line) and count on both; the others with an attempt in the
    /// range bring their latest attempt per rig, line and test, from which each rig's and each line's deciding attempts are
    /// taken here. One pass for both (the page counted every screening attempt twice: 30-38 s at 10 M results).
    /// </summary>
    private static (List<GroupCount> Rigs, List<GroupCount> Lines)? FleetRigAndLineCounts(IDbConnection db, ResultFilter filter)
    {
        if (SplitByHour(db, filter, perRig: true) is not { } split)
            return null;
        var counted = new List<string>();
        if (split.Inside is not null)
            counted.Add($"SELECT rig_id, line, SUM(units), SUM(failed) FROM {split.Rollup} WHERE {split.Inside} GROUP BY 1, 2");
        counted.AddRange(split.Exact.Select(e => $"SELECT u.rig_id, u.line, SUM(u.judged), SUM(u.failed) FROM units u WHERE {e} GROUP BY 1, 2"));
        var rigs = new Dictionary<string, (int Units, int Failed)>(StringComparer.Ordinal);
        var lines = new Dictionary<string, (int Units, int Failed)>(StringComparer.Ordinal);
        static void Add(Dictionary<string, (int Units, int Failed)> to, string name, long units, long failed)
        {
            var (u, f) = to.GetValueOrDefault(name);
            to[name] = (u + (int)units, f + (int)failed);
        }
        if (counted.Count > 0)
            foreach (var (rig, line, units, failed) in db.Query<(string, string, long, long)>(string.Join(" UNION ALL ", counted), split.Args))
            {
                Add(rigs, rig, units, failed);
                if (line.Length > 0) Add(lines, line, units, failed); // '' is no line
            }
        // each straddling unit's deciding attempts looked up by device (LATERAL, as the lots page): a unit of one rig and one
        // line (most) is decided by its latest attempt per test and counted per (rig, line) here, its rig and line as units
        // holds them (its results are read with their runs only for a rig's or a line's filter); the others bring back their
        // latest attempt per rig, line and test
        var aloneJoin = filter.Rig is null && filter.Line is null ? "" : split.Join;
        var latest = db.Query<LatestAttempt>(
            $"""
            WITH b AS ({split.Straddling}),
            a AS (
                SELECT b.rig_id, b.line, MAX(CASE WHEN l.verdict <> 'rig-fault' THEN 1 ELSE 0 END) AS judged, MAX(CASE WHEN l.verdict = 'fail' THEN 1 ELSE 0 END) AS failed
                FROM b CROSS JOIN LATERAL (
                    SELECT DISTINCT ON (r.test) r.verdict FROM results r{aloneJoin}
                    WHERE r.device_id = b.device_id AND r.cycle IS NULL{split.Cond}
                    ORDER BY r.test, r.started_at DESC, r.attempt DESC) l
                WHERE b.rig_id <> {Several} AND b.line <> {Several}
                GROUP BY b.device_id, b.rig_id, b.line)
            SELECT NULL AS DeviceId, rig_id AS RigId, NULLIF(line, '') AS Line, NULL AS Test, NULL AS Verdict, NULL AS StartedAt, 0 AS Attempt,
                   SUM(judged) AS Units, SUM(failed) AS Failed
            FROM a GROUP BY rig_id, line
            UNION ALL
            SELECT b.device_id, l.rig_id, l.line, l.test, l.verdict, l.started_at, l.attempt, 0, 0
            FROM b CROSS JOIN LATERAL (
                SELECT DISTINCT ON (ru.rig_id, ru.line, r.test) ru.rig_id, ru.line, r.test, r.verdict, r.started_at, r.attempt FROM results r{split.Join}
                WHERE r.device_id = b.device_id AND r.cycle IS NULL{split.Cond}
                ORDER BY ru.rig_id, ru.line, r.test, r.started_at DESC, r.attempt DESC) l
            WHERE b.rig_id = {Several} OR b.line = {Several}
            """, split.Args).ToList();
        foreach (var pair in latest.Where(a => a.DeviceId is null))
        {
            Add(rigs, pair.RigId, pair.Units, pair.Failed);
            if (pair.Line is not null) Add(lines, pair.Line, pair.Units, pair.Failed);
        }
        foreach (var device in latest.Where(a => a.DeviceId is not null).GroupBy(a => a.DeviceId!, StringComparer.Ordinal))
        {
            void Decide(Dictionary<string, (int Units, int Failed)> to, IEnumerable<IGrouping<string, LatestAttempt>> groups)
            {
                foreach (var g in groups)
                {
                    var deciding = g.GroupBy(a => a.Test, StringComparer.Ordinal)
                        .Select(t => t.OrderByDescending(a => a.StartedAt, StringComparer.Ordinal).ThenByDescending(a => a.Attempt).First().Verdict).ToList();
                    Add(to, g.Key, deciding.Any(v => v != "rig-fault") ? 1 : 0, deciding.Any(v => v == "fail") ? 1 : 0);
                }
            }
            Decide(rigs, device.GroupBy(a => a.RigId, StringComparer.Ordinal));
            Decide(lines, device.Where(a => a.Line is not null).GroupBy(a => a.Line!, StringComparer.Ordinal));
        }
        static List<GroupCount> Listed(Dictionary<string, (int Units, int Failed)> counts) =>
            [.. counts.Where(c => c.Value.Units > 0).Select(c => new GroupCount(c.Key, c.Value.Failed, c.Value.Units)).OrderBy(g => g.Name, StringComparer.Ordinal)];
        return (Listed(rigs), Listed(lines));
    }

    /// <summary>A unit's latest attempt on a rig and line for a test; or, without a device, the units of one rig and one line
    /// counted per (rig, line).</summary>
    private sealed class LatestAttempt
    {
        public string? DeviceId { get; set; }
        public string RigId { get; set; } = "";
        public string? Line { get; set; }
        public string? Test { get; set; }
        public string? Verdict { get; set; }
        public string? StartedAt { get; set; }
        public long Attempt { get; set; }
        public long Units { get; set; }
        public long Failed { get; set; }
    }

    /// <summary>Each rig's line (null: its runs have none), or null when a rig has runs on several lines (or on one and on none).</summary>
    private static Dictionary<string, string?>? RigLines(IDbConnection db)
    {
        // several lines (or a line and none) where the lowest and highest differ: no sort per rig as COUNT(DISTINCT) needs
        var rows = db.Query<(string RigId, string? Line, bool Several)>(
            "SELECT rig_id, MIN(line), MIN(COALESCE(line, '')) <> MAX(COALESCE(line, '')) FROM runs GROUP BY rig_id").ToList();
        return rows.Any(r => r.Several) ? null : rows.ToDictionary(r => r.RigId, r => r.Line, StringComparer.Ordinal);
    }

    /// <summary>
    /// Each rig's results, rig faults and newest result per day that a filter of dates, a rig and a line keeps, as the rigs
    /// page counts them from the results: the range's whole minutes from rollup_rig_minutes (fleet step 16), grouped there
    /// per rig and day, and a part minute at either end from its results (by slot and start, ix_results_slot_time). Null
    /// where the rollups cannot answer: before step 16, or a line filter while a rig has runs on several lines.
    /// </summary>
    /// <param name="rigLines">The page's <see cref="RigLines"/>, read at most once a request.</param>
    private static List<RigDayRow>? FleetRigDays(IDbConnection db, ResultFilter filter, Lazy<Dictionary<string, string?>?> rigLines)
    {
        if (db.ExecuteScalar<string?>("SELECT to_regclass('rollup_rig_minutes')::text") is null) return null;
        var lines = filter.Line is null ? null : rigLines.Value;
        if (filter.Line is not null && lines is null) return null;
        var args = new DynamicParameters();
        var rig = "";
        if (filter.Rig is not null)
        {
            rig = " AND rig_id = @rig";
            args.Add("rig", filter.Rig);
        }
        static DateTimeOffset Floor(DateTimeOffset t) => new(t.UtcDateTime.Year, t.UtcDateTime.Month, t.UtcDateTime.Day, t.UtcDateTime.Hour, t.UtcDateTime.Minute, 0, TimeSpan.Zero);
        static string MinuteText(DateTimeOffset t) => ResultFilter.StoreTime(t)[..16];
        DateTimeOffset? fromMinute = filter.From is { } f ? (Floor(f) == f ? f : Floor(f).AddMinutes(1)) : null;
        DateTimeOffset? toMinute = filter.ToExclusive is { } t ? Floor(t) : null;
        var parts = new List<string>();
        var edges = new List<(DateTimeOffset From, DateTimeOffset To)>();
        if (fromMinute is null || toMinute is null || fromMinute < toMinute)
        {
            var minutes = "";
            if (fromMinute is { } fm)
            {
                minutes += " AND minute >= @fromMinute";
                args.Add("fromMinute", MinuteText(fm));
            }
            if (toMinute is { } tm)
            {
                minutes += " AND minute < @toMinute";
                args.Add("toMinute", MinuteText(tm));
            }
            parts.Add(
                $"""
                SELECT rig_id AS Name, left(minute, 10) AS Day, SUM(results) AS Results, SUM(rig_faults) AS RigFaults, MAX(last_result_at) AS LastResultAt
                FROM rollup_rig_minutes WHERE results > 0{minutes}{rig} GROUP BY 1, 2
                """);
            if (filter.From is { } from && from != fromMinute) edges.Add((from, fromMinute!.Value));
            if (filter.ToExclusive is { } to && to != toMinute) edges.Add((toMinute!.Value, to));
        }
        else
        {
            // no whole minute in the range
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
    private static Dictionary<string, RigTotalsRow>? FleetLineTotals(ResultFilter filter, List<RigDayRow> perDay, Lazy<Dictionary<string, string?>?> rigLines)
    {
        if (rigLines.Value is not { } lines) return null;
        return perDay
            .Where(d => filter.Rig is null || d.Name == filter.Rig)
            .Select(d => (Line: lines.GetValueOrDefault(d.Name), Day: d))
            .Where(x => x.Line is not null && (filter.Line is null || x.Line == filter.Line))
            .GroupBy(x => x.Line!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => new RigTotalsRow { Name = g.Key, Results = g.Sum(x => x.Day.Results), RigFaults = g.Sum(x => x.Day.RigFaults) },
                StringComparer.Ordinal);
    }
}
