using System.Data;
using System.Globalization;
using Dapper;
using HilRig.Core.Results;
using HilRig.Reports.Statistics;

namespace HilRig.Reports.Queries;

/// <summary>
/// A rig's SQLite store (step 17) counts units over a date range from the units themselves: each unit keeps its first and
/// last screening attempt (first_at, last_at), and a unit whose attempts all lie inside the range is decided there by its
/// latest attempts overall, as units holds them: over whole days from lot_unit_days (units per lot and span of days),
/// otherwise from units by lot and first attempt (ix_units_span). Only the units whose attempts straddle a bound are
/// read from their results: those first screened inside the range and last after it (read with the inside ones), and
/// those screened before the range's start and again after it (on the start's own day, read the same way, or over
/// several days: ix_units_days, few; a midnight bound only has these). A unit in none of these has no attempt in the range.
/// </summary>
public sealed partial class ResultsQueries
{
    /// <summary>True on a rig's SQLite store at step 17 or later (units carry their span of screening attempts).</summary>
    private static bool HasUnitSpans(IDbConnection db) =>
        IsSqlite(db) && db.ExecuteScalar<long>("SELECT COUNT(*) FROM pragma_table_info('units') WHERE name = 'first_at'") > 0;

    /// <summary>The store's one rig; null when its runs name none or several.</summary>
    private static string? OnlyRig(IDbConnection db) =>
        db.Query<string>("SELECT DISTINCT rig_id FROM runs LIMIT 2").ToList() is [var only] ? only : null;

    /// <summary>
    /// True when <see cref="UnitCountsBySpan"/> answers <see cref="UnitCounts"/>: a SQLite store at step 17, a filter with
    /// dates and no line, and either no rig at all (neither filtered nor grouped by: a unit's span is over every rig) or
    /// a store of one rig, filtered or grouped by that rig.
    /// </summary>
    private static bool FromUnitSpans(IDbConnection db, ResultFilter filter, string? groupColumn)
    {
        if (!filter.HasDates || filter.Line is not null || groupColumn is not (null or "rig_id") || !HasUnitSpans(db))
            return false;
        if (filter.Rig is null && groupColumn is null)
            return true;
        return OnlyRig(db) is { } only && (filter.Rig is null || filter.Rig == only);
    }

    /// <summary>
    /// <see cref="UnitCounts"/> over a date range from the units' spans (<see cref="FromUnitSpans"/>): per lot, or for the
    /// store's one rig when grouped by rig, the units with a verdict and the failed ones, each unit decided by its latest
    /// attempt per test in the range.
    /// </summary>
    private static List<GroupCount> UnitCountsBySpan(IDbConnection db, ResultFilter filter, string? groupColumn)
    {
        var args = new DynamicParameters();
        string? from = null, to = null;
        if (filter.From is { } f) args.Add("spanFrom", from = ResultFilter.StoreTime(f));
        if (filter.ToExclusive is { } t) args.Add("spanTo", to = ResultFilter.StoreTime(t));
        // every lot of the units, one index step each (a handful, however many units)
        const string Lots =
            """
            WITH RECURSIVE lots(lot) AS (
                SELECT MIN(lot) FROM units
                UNION ALL
                SELECT (SELECT MIN(u.lot) FROM units u WHERE u.lot > lots.lot) FROM lots WHERE lots.lot IS NOT NULL)
            """;
        // units first screened inside the range: inside when last screened before its end, else straddling it
        var firstInside = (from is null ? "" : " AND u.first_at >= @spanFrom") + (to is null ? "" : " AND u.first_at < @spanTo");
        var counts = new Dictionary<string, (long Units, long Failed)>(StringComparer.Ordinal);
        var wholeDays = filter.KeepsWholeDays;
        // whole days: the units inside as lot_unit_days counts them per lot and span of days (a few hundred rows for a week
        // where units has 170,000 at 10 M results); a unit straddling a midnight bound was screened on several days
        var (dayCond, dayArgs) = (filter with { Rig = null }).DayConditions("d.first_day", "");
        args.AddDynamicParams(dayArgs);
        foreach (var row in db.Query<CountRow>(wholeDays
            ? $"""
              SELECT d.lot AS Name, SUM(d.units) AS Units, SUM(d.failed) AS Failed FROM lot_unit_days d
              WHERE 1 = 1{dayCond}{(to is null ? "" : " AND d.last_day < @toDay")}
              GROUP BY d.lot
              """
            : $"""
              {Lots}
              SELECT u.lot AS Name, SUM(u.judged) AS Units, SUM(u.failed) AS Failed
              FROM lots JOIN units u INDEXED BY ix_units_span ON u.lot = lots.lot
              WHERE u.first_at IS NOT NULL{firstInside}{(to is null ? "" : " AND u.last_at < @spanTo")}
              GROUP BY u.lot
              """, args))
            counts[row.Name] = (row.Units, row.Failed);

        var straddling = new List<string>();
        if (wholeDays)
        {
            var across = string.Join(" OR ", new[] { from is null ? null : "first_at < @spanFrom AND last_at >= @spanFrom", to is null ? null : "first_at < @spanTo AND last_at >= @spanTo" }.OfType<string>());
            straddling.Add($"SELECT device_id FROM units INDEXED BY ix_units_days WHERE {ResultsStore.UnitOverDays} AND (first_at IS NULL OR {across})");
        }
        else
        {
            // one range per lot from the start's own day to the end: those first screened inside and last after the end,
            // and those screened on the start's day alone, before the start and again after it (one scan: SQLite built a
            // Bloom filter over every unit for a second join of the lots, 57 ms)
            var sameDay = filter.From is { } start && start.UtcDateTime.TimeOfDay != TimeSpan.Zero;
            if (sameDay)
                args.Add("spanFromDay", ResultFilter.StoreTime(new DateTimeOffset(filter.From!.Value.UtcDateTime.Date, TimeSpan.Zero)));
            var ends = new[] { to is null ? null : "u.last_at >= @spanTo", sameDay ? "u.first_at < @spanFrom AND u.last_at >= @spanFrom" : null }.OfType<string>().ToList();
            if (ends.Count > 0)
                straddling.Add(
                    $"SELECT u.device_id FROM lots JOIN units u INDEXED BY ix_units_span ON u.lot = lots.lot WHERE u.first_at IS NOT NULL" +
                    (sameDay ? " AND u.first_at >= @spanFromDay" : from is null ? "" : " AND u.first_at >= @spanFrom") + (to is null ? " AND u.first_at < @spanFrom" : " AND u.first_at < @spanTo") +
                    $" AND ({string.Join(" OR ", ends)})");
        }
        // screened over several days across the start (or with no span: read from their results, whatever they hold)
        if (!wholeDays)
            straddling.Add($"SELECT device_id FROM units INDEXED BY ix_units_days WHERE {ResultsStore.UnitOverDays} AND (first_at IS NULL{(from is null ? "" : " OR first_at < @spanFrom AND last_at >= @spanFrom")})");
        var (cond, condArgs) = (filter with { Rig = null }).Conditions();
        args.AddDynamicParams(condArgs);
        // their deciding attempts in the range, as UnitCounts has them: per test the latest start, then the highest attempt;
        // the straddling units first (CROSS JOIN: SQLite 3.49 chose to scan every screening attempt against them, 62 ms)
        foreach (var row in db.Query<CountRow>(
            $"""
            {Lots},
            s(device_id) AS ({string.Join(" UNION ", straddling)})
            SELECT u.lot AS Name, SUM(x.judged) AS Units, SUM(x.failed) AS Failed
            FROM (SELECT device_id, MAX(CASE WHEN verdict <> 'rig-fault' THEN 1 ELSE 0 END) AS judged, MAX(CASE WHEN verdict = 'fail' THEN 1 ELSE 0 END) AS failed
                  FROM (SELECT r.device_id, r.verdict, ROW_NUMBER() OVER (PARTITION BY r.device_id, r.test ORDER BY r.started_at DESC, r.attempt DESC) AS rn
                        FROM s CROSS JOIN results r INDEXED BY ix_results_screening ON r.device_id = s.device_id
                        WHERE r.cycle IS NULL{cond}) latest
                  WHERE rn = 1 GROUP BY device_id) x
            JOIN units u ON u.device_id = x.device_id
            GROUP BY u.lot
            """, args))
        {
            var (units, failed) = counts.GetValueOrDefault(row.Name);
            counts[row.Name] = (units + row.Units, failed + row.Failed);
        }

        if (groupColumn is "rig_id")
        {
            var total = (Units: counts.Values.Sum(c => c.Units), Failed: counts.Values.Sum(c => c.Failed));
            return total.Units > 0 ? [new GroupCount(filter.Rig ?? OnlyRig(db)!, (int)total.Failed, (int)total.Units)] : [];
        }
        return [.. counts.Where(c => c.Value.Units > 0)
            .Select(c => new GroupCount(c.Key, (int)c.Value.Failed, (int)c.Value.Units))
            .OrderBy(g => g.Name, StringComparer.Ordinal)];
    }

    /// <summary>
    /// On a SQLite store at step 17 over dates, the condition on units <c>u</c> that keeps only those whose span of
    /// screening attempts meets the range (or that have no span), so a lot's page probes the screening attempts of its
    /// units screened then rather than of every unit in the lot (not their failures: a soak failure in the range counts
    /// whenever the unit was screened); empty otherwise. Its arguments join <paramref name="args"/>.
    /// </summary>
    private static string UnitSpanConditions(IDbConnection db, ResultFilter filter, DynamicParameters args)
    {
        if (!filter.HasDates || !HasUnitSpans(db)) return "";
        var meets = new List<string>();
        if (filter.ToExclusive is { } t)
        {
            args.Add("meetsTo", ResultFilter.StoreTime(t));
            meets.Add("u.first_at < @meetsTo");
        }
        if (filter.From is { } f)
        {
            args.Add("meetsFrom", ResultFilter.StoreTime(f));
            meets.Add("u.last_at >= @meetsFrom");
        }
        return string.Create(CultureInfo.InvariantCulture, $" AND (u.first_at IS NULL OR ({string.Join(" AND ", meets)}))");
    }
}
