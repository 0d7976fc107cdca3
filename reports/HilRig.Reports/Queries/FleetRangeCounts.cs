using System.Data;
using System.Globalization;
using Dapper;
using HilRig.Reports.Statistics;

namespace HilRig.Reports.Queries;

/// <summary>
/// A fleet's lot counts over a date range (fleet step 13). Over a range each device's deciding attempt per test is its
/// latest screening attempt in the range; a unit whose screening attempts all lie inside the range is decided by its
/// latest attempts overall, which units holds, so those units come from rollup_lot_hours (units and failed units per lot
/// and span of screening hours) and only the others with an attempt in the range are counted from their results.
/// </summary>
public sealed partial class ResultsQueries
{
    /// <summary>True on a fleet at step 13 or later (units carry their span of screening hours).</summary>
    private static bool HasLotHours(IDbConnection db) =>
        !IsSqlite(db) && db.ExecuteScalar<string?>("SELECT to_regclass('rollup_lot_hours')::text") is not null;

    /// <summary>True on a fleet at step 14 or later (units carry their screening rig and line, counted per rig and line).</summary>
    private static bool HasLotRigHours(IDbConnection db) =>
        !IsSqlite(db) && db.ExecuteScalar<string?>("SELECT to_regclass('rollup_lot_rig_hours')::text") is not null;

    /// <summary>What units and rollup_lot_rig_hours hold for a unit screened on several rigs or lines (fleet step 14): a
    /// filter's values are trimmed, so it never equals one.</summary>
    private const string Several = "' '";

    /// <summary>The hour of a time as the fleet keeps it (the first 13 characters of a stored time: yyyy-MM-ddTHH).</summary>
    private static string HourText(DateTimeOffset t) => ResultFilter.StoreTime(t)[..13];

    /// <summary>
    /// A date filter (no rig, no line) on a fleet at step 13 split in two: <see cref="Inside"/>, the condition on a row's
    /// first_hour and last_hour (units, rollup_lot_hours) that keeps the units whose span of screening hours lies inside the
    /// range's whole hours [fromHour, toHour) (null when the range holds no whole hour), and <see cref="Straddling"/>, a
    /// query of (device_id, lot) for every other unit that may have an attempt in the range: a span across fromHour or
    /// toHour (few: ix_units_span holds only units screened over more than one hour; with each its rig_id and line, as units holds them) or an attempt in the part hour at
    /// either end. Those are counted from their results; a unit in neither has no attempt in the range. From fleet step
    /// 15, <see cref="Exact"/> takes from the straddling ones the units screened within a part hour whose attempts all
    /// lie inside the range (counted as units holds them), so only those whose attempts straddle a bound are read from
    /// results; before it, the part hours' results were read by slot and time.
    /// </summary>
    /// <remarks>
    /// A rig or a line (fleet step 14) narrows <see cref="Inside"/> to the units screened on that rig or line alone (their
    /// rig_id and line, in units and <see cref="Rollup"/>), and adds to the straddling ones the units screened on several
    /// rigs or lines (ix_units_several) whose span meets the range; <see cref="Join"/> joins each straddling unit's results
    /// to their runs for the rig or line. <see cref="Exact"/>: conditions on units <c>u</c>, one per part hour.
    /// </remarks>
    private sealed record HourSplit(string? Inside, string Straddling, string Cond, DynamicParameters Args, string Rollup, string Join, List<string> Exact);

    /// <summary>The split of <paramref name="filter"/>, or null where it does not apply (neither dates nor a rig or a line;
    /// a rig or a line before fleet step 14; not a fleet at step 13).</summary>
    /// <param name="perRig">Counted per rig or per line (the rigs page): a unit screened on several rigs or lines counts on
    /// each from its attempts there, so <see cref="Inside"/> and <see cref="Exact"/> keep the units of one rig and one line
    /// only and every other unit whose span meets the range is straddling; applies without a filter too.</param>
    private static HourSplit? SplitByHour(IDbConnection db, ResultFilter filter, bool perRig = false)
    {
        var byRig = filter.Rig is not null || filter.Line is not null || perRig;
        if (!(filter.HasDates || byRig) || !HasLotHours(db) || (byRig && !HasLotRigHours(db)))
            return null;
        // The planner guesses tens of thousands of straddling units where there are a few thousand, and compiled the
        // queries (JIT) for 0.9 s of a 1.1 s lots page; this connection's session only (the pool resets it).
        db.Execute("SET jit = off");
        DateTimeOffset? fromHour = filter.From is { } f ? (FloorHour(f) == f ? f : FloorHour(f).AddHours(1)) : null;
        DateTimeOffset? toHour = filter.ToExclusive is { } t ? FloorHour(t) : null;
        var whole = fromHour is null || toHour is null || fromHour < toHour;
        var (cond, args) = filter.Conditions();
        // over a rig or a line, only the units screened there alone or on several may have an attempt there
        var onRig = "";
        if (filter.Rig is not null) onRig += $" AND u.rig_id IN (@rig, {Several})";
        if (filter.Line is not null) onRig += $" AND u.line IN (@line, {Several})";
        var parts = new List<string>();
        var exact = new List<string>();
        // The hour of a bound off the hour (fleet step 15): a unit screened within that hour alone (ix_units_at, by its first
        // attempt) is counted as units holds it when all its attempts lie inside the range and it is that rig's or line's
        // alone, read from its results when they straddle a bound (or it is on several), and has no attempt in the range
        // otherwise. Units screened over several hours that include it are read from their results (ix_units_span: few).
        var hasTimes = HasUnitTimes(db);
        var inRange = "";
        var outside = new List<string>();
        if (filter.From is { } exactFrom)
        {
            args.Add("exactFrom", ResultFilter.StoreTime(exactFrom));
            inRange += " AND u.first_at >= @exactFrom";
            outside.Add("u.first_at < @exactFrom");
        }
        if (filter.ToExclusive is { } exactTo)
        {
            args.Add("exactTo", ResultFilter.StoreTime(exactTo));
            inRange += " AND u.last_at < @exactTo";
            outside.Add("u.last_at >= @exactTo");
        }
        if (filter.Rig is not null)
        {
            inRange += " AND u.rig_id = @rig";
            outside.Add($"u.rig_id = {Several}");
        }
        if (filter.Line is not null)
        {
            inRange += " AND u.line = @line";
            outside.Add($"u.line = {Several}");
        }
        if (perRig)
        {
            inRange += $" AND u.rig_id <> {Several} AND u.line <> {Several}";
            outside.AddRange(new[] { $"u.rig_id = {Several}", $"u.line = {Several}" }.Except(outside));
        }
        var overlap = (filter.From is null ? "" : " AND u.last_at >= @exactFrom") + (filter.ToExclusive is null ? "" : " AND u.first_at < @exactTo");
        var partHours = new List<DateTimeOffset>();
        foreach (var bound in new[] { filter.From, filter.ToExclusive })
            if (bound is { } b && FloorHour(b) != b && !partHours.Contains(FloorHour(b)))
                partHours.Add(FloorHour(b));
        for (var i = 0; i < partHours.Count; i++)
        {
            args.Add($"partHour{i}", HourText(partHours[i]));
            if (!hasTimes)
            {
                // before fleet step 15: every unit with an attempt in the part hour, read by slot and time (the slots are
                // few: rollup_slots holds every slot with a result; results have no index by time alone)
                var (edgeFrom, edgeTo) = (Max(partHours[i], filter.From), Min(partHours[i].AddHours(1), filter.ToExclusive));
                args.Add($"edgeFrom{i}", ResultFilter.StoreTime(edgeFrom));
                args.Add($"edgeTo{i}", ResultFilter.StoreTime(edgeTo));
                parts.Add(
                    $"""
                    SELECT u.device_id, u.lot, u.rig_id, u.line FROM units u WHERE u.device_id IN (
                        SELECT r.device_id FROM results r WHERE r.slot = ANY(@slots) AND r.cycle IS NULL AND r.started_at >= @edgeFrom{i} AND r.started_at < @edgeTo{i}){onRig}
                    """);
                continue;
            }
            args.Add($"partStart{i}", ResultFilter.StoreTime(partHours[i]));
            args.Add($"partEnd{i}", ResultFilter.StoreTime(partHours[i].AddHours(1)));
            var inHour = $"u.first_hour = u.last_hour AND u.first_at >= @partStart{i} AND u.first_at < @partEnd{i}";
            exact.Add(inHour + inRange);
            parts.Add($"SELECT u.device_id, u.lot, u.rig_id, u.line FROM units u WHERE {inHour}{overlap} AND ({string.Join(" OR ", outside)}){onRig}");
            parts.Add($"SELECT u.device_id, u.lot, u.rig_id, u.line FROM units u WHERE u.first_hour <> u.last_hour AND {Across($"u.last_hour >= @partHour{i} AND u.first_hour <= @partHour{i}")}{onRig}");
        }
        if (!hasTimes && partHours.Count > 0)
            args.Add("slots", db.Query<int>("SELECT slot FROM rollup_slots").ToArray());
        var inside = new List<string>();
        if (whole)
        {
            foreach (var (name, bound) in new[] { ("fromHour", fromHour), ("toHour", toHour) })
            {
                if (bound is not { } b) continue;
                args.Add(name, HourText(b));
                // a bound off the hour: the units across its hour are read above (those across fromHour among them)
                if (hasTimes && (name == "fromHour" ? filter.From != b : filter.ToExclusive != b)) continue;
                parts.Add($"SELECT u.device_id, u.lot, u.rig_id, u.line FROM units u WHERE u.first_hour <> u.last_hour AND {Across($"u.last_hour >= @{name} AND u.first_hour < @{name}")}{onRig}");
            }
            if (fromHour is not null) inside.Add("first_hour >= @fromHour");
            if (toHour is not null) inside.Add("last_hour < @toHour");
            if (filter.Rig is not null) inside.Add("rig_id = @rig");
            if (filter.Line is not null) inside.Add("line = @line");
            if (perRig) inside.Add($"rig_id <> {Several} AND line <> {Several}");
            if (byRig)
            {
                // the units screened on several rigs or lines whose span meets the range (the part hours' ones are read above)
                var several = new List<string>();
                if (filter.Rig is not null || perRig) several.Add($"u.rig_id = {Several}");
                if (filter.Line is not null || perRig) several.Add($"u.line = {Several}");
                parts.Add($"SELECT u.device_id, u.lot, u.rig_id, u.line FROM units u WHERE ({string.Join(" OR ", several)}){SpanConditions(filter, args)}");
            }
        }
        return new HourSplit(whole ? (inside.Count == 0 ? "TRUE" : string.Join(" AND ", inside)) : null,
            parts.Count == 0 ? "SELECT NULL::text AS device_id, NULL::text AS lot, NULL::text AS rig_id, NULL::text AS line WHERE FALSE" : string.Join(" UNION ", parts), cond, args,
            byRig ? "rollup_lot_rig_hours" : "rollup_lot_hours", byRig ? " JOIN runs ru ON ru.id = r.run_id" : "", exact);
    }

    /// <summary>
    /// The units across an hour (<paramref name="span"/>: conditions on u.first_hour and u.last_hour) by their span's
    /// (first_hour, last_hour) pairs, taken from rollup_lot_hours (a row per lot and span with units: a few hundred cross
    /// any hour), each read from ix_units_span by its pair: scanned by last_hour alone, the index was read from the hour to
    /// the fleet's newest unit (a range from the fleet's first day read all 212,000 spans of 10 M results).
    /// </summary>
    private static string Across(string span) =>
        $"(u.last_hour, u.first_hour) IN (SELECT u.last_hour, u.first_hour FROM rollup_lot_hours u WHERE u.first_hour <> u.last_hour AND u.devices > 0 AND {span})";

    /// <summary>True on a fleet at step 15 or later (units carry their first and last screening attempt's start).</summary>
    private static bool HasUnitTimes(IDbConnection db) =>
        db.ExecuteScalar<string?>("SELECT to_regclass('ix_units_at')::text") is not null;

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset? b) => b is { } v && v > a ? v : a;

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset? b) => b is { } v && v < a ? v : a;

    /// <summary>
    /// The lot counts of a date filter on a fleet at step 13 (<see cref="SplitByHour"/>), as <see cref="UnitCounts"/> has
    /// them; null where the split does not apply. The units inside the whole hours from rollup_lot_hours, the straddling
    /// ones from their deciding attempts in the range.
    /// </summary>
    private static List<GroupCount>? FleetLotCountsByHour(IDbConnection db, ResultFilter filter)
    {
        if (SplitByHour(db, filter) is not { } split)
            return null;
        // each straddling unit's deciding attempts looked up by device (LATERAL: the planner would hash every result in
        // the range against a few thousand units)
        var sql =
            $"""
            WITH b AS ({split.Straddling}),
            x AS (
                SELECT b.lot, MAX(CASE WHEN l.verdict <> 'rig-fault' THEN 1 ELSE 0 END) AS judged, MAX(CASE WHEN l.verdict = 'fail' THEN 1 ELSE 0 END) AS failed
                FROM b CROSS JOIN LATERAL (
                    SELECT DISTINCT ON (r.test) r.verdict FROM results r{split.Join}
                    WHERE r.device_id = b.device_id AND r.cycle IS NULL{split.Cond}
                    ORDER BY r.test, r.started_at DESC, r.attempt DESC) l
                GROUP BY b.device_id, b.lot)
            SELECT x.lot AS Name, SUM(x.judged) AS Units, SUM(x.failed) AS Failed FROM x GROUP BY x.lot
            {(split.Inside is null ? "" : $"UNION ALL SELECT lot, SUM(units), SUM(failed) FROM {split.Rollup} WHERE {split.Inside} GROUP BY lot")}
            {string.Concat(split.Exact.Select(e => $"UNION ALL SELECT u.lot, SUM(u.judged), SUM(u.failed) FROM units u WHERE {e} GROUP BY u.lot "))}
            """;
        return db.Query<CountRow>(sql, split.Args)
            .GroupBy(r => r.Name, StringComparer.Ordinal)
            .Select(g => new GroupCount(g.Key, (int)g.Sum(r => r.Failed), (int)g.Sum(r => r.Units)))
            .Where(g => g.Units > 0)
            .OrderBy(g => g.Name, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// What one lot's page over a date filter on a fleet at step 13 takes from the units inside the range's whole hours
    /// (<see cref="SplitByHour"/>): their number and yields from rollup_lot_hours, and the first <paramref name="shown"/> of
    /// them (failed first, by device id) from units, each decided by its latest attempts overall. The straddling units'
    /// condition on a lot's units <c>u</c> comes with it, for the page to read their attempts in the range. Null where the
    /// split does not apply.
    /// </summary>
    private static LotInsideHours? FleetLotInside(IDbConnection db, string lot, ResultFilter filter, int shown)
    {
        if (SplitByHour(db, filter) is not { } split)
            return null;
        split.Args.Add("lot", lot);
        split.Args.Add("limit", shown);
        // the rollup's units inside the whole hours, and units' own inside the range in its part hours
        var counted = new List<string>();
        if (split.Inside is not null)
            counted.Add($"SELECT devices, first_passed, final_passed FROM {split.Rollup} WHERE lot = @lot AND {split.Inside}");
        counted.AddRange(split.Exact.Select(e => $"SELECT 1, u.first_passed, u.final_passed FROM units u WHERE u.lot = @lot AND {e}"));
        if (counted.Count == 0)
            return new LotInsideHours(new YieldRow(), [], split);
        var yields = db.QuerySingle<YieldRow>(
            $"""
            SELECT COALESCE(SUM(devices), 0) AS Devices, COALESCE(SUM(first_passed), 0) AS FirstPassed, COALESCE(SUM(final_passed), 0) AS FinalPassed
            FROM ({string.Join(" UNION ALL ", counted)}) c (devices, first_passed, final_passed)
            """, split.Args);
        var shownCond = string.Join(" OR ", (split.Inside is null ? Array.Empty<string>() : [split.Inside]).Concat(split.Exact).Select(c => $"({c})"));
        // failed and passed units each read in order from ix_units_lot (lot, failed, device_id), as the whole lot's page
        var devices = db.Query<DeviceRow>(
            $"""
            SELECT u.device_id AS DeviceId, u.failed AS Failed, u.judged AS Judged,
                   (SELECT r.signature FROM results r WHERE r.device_id = u.device_id AND r.cycle IS NULL
                    ORDER BY r.started_at DESC, r.attempt DESC LIMIT 1) AS LastSignature
            FROM (SELECT * FROM (SELECT device_id, failed, judged FROM units u WHERE lot = @lot AND failed = 1 AND ({shownCond}) ORDER BY device_id LIMIT @limit) f
                  UNION ALL
                  SELECT * FROM (SELECT device_id, failed, judged FROM units u WHERE lot = @lot AND failed = 0 AND ({shownCond}) ORDER BY device_id LIMIT @limit) p) u
            """, split.Args)
            .Select(d => new LotDevice(d.DeviceId, d.Failed != 0, d.Judged != 0, null, null, d.LastSignature))
            .ToList();
        return new LotInsideHours(yields, devices, split);
    }

    private sealed record LotInsideHours(YieldRow Yields, List<LotDevice> Shown, HourSplit Split);

    /// <summary>
    /// On a fleet at step 13, the conditions on a lot's units <c>u</c> that keep only those whose span of screening hours
    /// meets the filter's dates (a unit screened in the range has its first hour at or before the range's last and its
    /// last at or after the range's first), so a lot's page over a day reads that day's devices, not the lot's every one.
    /// Empty elsewhere.
    /// </summary>
    private static string FleetUnitSpanConditions(IDbConnection db, ResultFilter filter, DynamicParameters args)
    {
        if (!filter.HasDates || !HasLotHours(db)) return "";
        return SpanConditions(filter, args);
    }

    /// <summary>The conditions on units <c>u</c> whose span of screening hours meets the filter's dates (none without dates).</summary>
    private static string SpanConditions(ResultFilter filter, DynamicParameters args)
    {
        var sql = "";
        if (filter.From is { } f)
        {
            sql += " AND u.last_hour >= @spanFrom";
            args.Add("spanFrom", HourText(f));
        }
        if (filter.ToExclusive is { } t)
        {
            sql += " AND u.first_hour <= @spanTo";
            args.Add("spanTo", HourText(t));
        }
        return sql;
    }

    private static DateTimeOffset FloorHour(DateTimeOffset t)
    {
        var u = t.UtcDateTime;
        return new DateTimeOffset(u.Year, u.Month, u.Day, u.Hour, 0, 0, TimeSpan.Zero);
    }
}
