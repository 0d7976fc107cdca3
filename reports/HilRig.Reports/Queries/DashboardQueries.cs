using System.Data;
using System.Globalization;
using Dapper;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Reports.Results;
using HilRig.Reports.Statistics;
using Microsoft.Data.Sqlite;

namespace HilRig.Reports.Queries;

/// <summary>One result on a run's slot page, with its evidence.</summary>
public sealed record RunSlotResult(string DeviceId, string Test, int? Cycle, int Attempt, string Verdict, string? FailureMode, string? Signature,
    long? DeviceTimeMs, DateTimeOffset StartedAt, DateTimeOffset EndedAt, string? EvidenceJson);

/// <summary>What one slot did in one run, result by result.</summary>
public sealed record RunSlotView(RunListing Run, int Slot, IReadOnlyList<RunSlotResult> Results);

/// <summary>A device the search found, and by what (its id, or a DFU serial linked to it).</summary>
public sealed record DeviceMatch(string DeviceId, string? Lot, string? DfuSerial);

/// <summary>The device search: <paramref name="Exact"/> is the device a whole id or DFU serial names.</summary>
public sealed record DeviceSearch(string Query, string? Exact, IReadOnlyList<DeviceMatch> Matches);

/// <summary>A result on a list page (a failure mode's, a slot's): where and when it was recorded.</summary>
public sealed record ResultListing(string DeviceId, string Lot, Guid RunId, string RigId, int Slot, string Test, int? Cycle, string Verdict,
    string? FailureMode, string? Signature, DateTimeOffset StartedAt);

/// <summary>One failure mode: failed (or rig-faulted) attempts and devices, per lot, and the latest of them.</summary>
public sealed record FailureModeView(string Mode, int Failures, int Devices, IReadOnlyList<CategoryCount> ByLot, IReadOnlyList<ResultListing> Latest);

/// <summary>A run of a bootloader build, with its soak counts (cycles and failures, as the soak page counts them).</summary>
public sealed record BuildRun(RunListing Run, long Cycles, int Failures);

/// <summary>One bootloader build: its soak rate (when soaked) and every run that ran it.</summary>
public sealed record BuildView(string Bootloader, BootloaderSoak? Soak, IReadOnlyList<BuildRun> Runs);

/// <summary>One slot: its health across the store and its latest results.</summary>
public sealed record SlotView(int Slot, SlotHealth? Health, IReadOnlyList<ResultListing> Latest);

/// <summary>One rig on the rigs page (<paramref name="Rate"/> null when none of its units has a verdict): its units' failure rate (against the other rigs), rig faults, and when it last synced.</summary>
/// <param name="LastSyncAt">When the rig last synced into the fleet; null in a rig's own store.</param>
/// <param name="ResultsPerDay">Results per calendar day (UTC) over the rig's last <see cref="ResultsQueries.RateDays"/> days up to its
/// newest result (fewer when its first result is later); null without results.</param>
/// <param name="SlotHealth">Its slots by health as the rig last stored (and synced) them; all zero when it stored none.</param>
public sealed record RigComparison(string RigId, string? Line, LotFailureRate? Rate, long Results, long RigFaults, int Runs,
    DateTimeOffset? LastResultAt, DateTimeOffset? LastSyncAt, string? SoftwareVersion, double? ResultsPerDay = null, RigSlotHealth? SlotHealth = null);

/// <summary>A rig's slots by health (`hilrig slots`), as stored in its slot_health.</summary>
public sealed record RigSlotHealth(int Good, int Suspect, int Quarantined, int Maintenance, int Unknown)
{
    public static readonly RigSlotHealth None = new(0, 0, 0, 0, 0);
}

/// <summary>One line (the rigs whose config names it) on the rigs page.</summary>
public sealed record LineSummary(string Line, int Rigs, LotFailureRate? Rate, long Results, long RigFaults);

/// <summary>The rigs page: rig against rig, line against line.</summary>
/// <param name="Fleet">The store is a fleet database (sync times and lines are known).</param>
public sealed record RigsView(bool Fleet, IReadOnlyList<RigComparison> Rigs, IReadOnlyList<LineSummary> Lines);

/// <summary>
/// The dashboard's own queries: filtered lots (date range, rig, line), runs, a run's slot, device search, failure
/// modes, builds, slots and rigs. New methods beside the report queries; an empty filter falls back to those.
/// </summary>
public sealed partial class ResultsQueries
{
    private const string UnknownLot = "(unknown)";

    private static bool IsSqlite(IDbConnection db) => db is SqliteConnection;

    /// <summary>True when the store's runs carry a line (a fleet database; a rig's own store has none).</summary>
    public bool HasLines()
    {
        using var db = Open();
        var sql = IsSqlite(db)
            ? "SELECT COUNT(*) FROM pragma_table_info('runs') WHERE name = 'line'"
            : "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'runs' AND column_name = 'line'";
        return db.ExecuteScalar<long>(sql) > 0;
    }

    private static bool IsFleetDatabase(IDbConnection db) => !IsSqlite(db) && db.ExecuteScalar<string?>("SELECT to_regclass('fleet_rigs')::text") is not null;

    /// <summary>The rigs that recorded runs in this store, in name order.</summary>
    public IReadOnlyList<string> RigIds()
    {
        using var db = Open();
        return [.. db.Query<string>("SELECT DISTINCT rig_id FROM runs ORDER BY rig_id").OrderBy(r => r, StringComparer.Ordinal)];
    }

    /// <summary>The lines runs were recorded on (a fleet's), in name order; none in a rig's own store.</summary>
    public IReadOnlyList<string> LineNames()
    {
        if (!HasLines()) return [];
        using var db = Open();
        return [.. db.Query<string>("SELECT DISTINCT line FROM runs WHERE line IS NOT NULL").OrderBy(l => l, StringComparer.Ordinal)];
    }

    /// <summary>
    /// Units with a verdict and failed units per group among the screening results the filter keeps: per device and
    /// test the latest kept attempt decides, as in the summaries (<see cref="LotReport.CountByLot"/>). Grouped by lot,
    /// or by <paramref name="groupColumn"/> of the run (rig_id, line), a unit then counting once per rig or line.
    /// </summary>
    private static List<GroupCount> UnitCounts(IDbConnection db, ResultFilter filter, string? groupColumn)
    {
        // a rig's store at step 17: the units inside the range as units holds them, the few straddling a bound from results
        if (FromUnitSpans(db, filter, groupColumn))
            return UnitCountsBySpan(db, filter, groupColumn);
        if (FromDaySummaries(db, filter) && groupColumn is null or "rig_id")
            return UnitCountsByDay(db, filter, groupColumn);
        var (cond, args) = filter.Conditions();
        var key = groupColumn is null ? "''" : $"ru.{groupColumn}";
        var name = groupColumn is null ? $"COALESCE(d.lot, '{UnknownLot}')" : "x.grp";
        var sql =
            $"""
            SELECT {name} AS Name, SUM(x.judged) AS Units, SUM(x.failed) AS Failed
            FROM (SELECT device_id, grp, MAX(CASE WHEN verdict <> 'rig-fault' THEN 1 ELSE 0 END) AS judged,
                         MAX(CASE WHEN verdict = 'fail' THEN 1 ELSE 0 END) AS failed
                  FROM (SELECT r.device_id, {key} AS grp, r.verdict,
                               ROW_NUMBER() OVER (PARTITION BY {(groupColumn is null ? "" : key + ", ")}r.device_id, r.test ORDER BY r.started_at DESC, r.attempt DESC) AS rn
                        FROM results r JOIN runs ru ON ru.id = r.run_id
                        WHERE r.cycle IS NULL{(groupColumn is null ? "" : $" AND {key} IS NOT NULL")}{cond}) latest
                  WHERE rn = 1 GROUP BY device_id, grp) x
            LEFT JOIN devices d ON d.device_id = x.device_id
            GROUP BY {name}
            """;
        return db.Query<CountRow>(sql, args)
            .Where(r => r.Units > 0)
            .Select(r => new GroupCount(r.Name, (int)r.Failed, (int)r.Units))
            .OrderBy(g => g.Name, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>A rig's store answers a filter of whole days (no line: a rig's store has none) from its per-day summaries (store step 11).</summary>
    private static bool FromDaySummaries(IDbConnection db, ResultFilter filter) => IsSqlite(db) && filter.Line is null && filter.KeepsWholeDays;

    /// <summary>
    /// <see cref="UnitCounts"/> from unit_test_days, each row the deciding screening attempt of a day, rig, device and
    /// test: the latest attempt among whole days is the latest of their days' latest (latest start, then attempt; the
    /// times are fixed-width text, so start and zero-padded attempt order as one string). SQLite takes a bare column
    /// (the verdict) from the row that holds the MAX, which saves the window function's sort.
    /// </summary>
    private static List<GroupCount> UnitCountsByDay(IDbConnection db, ResultFilter filter, string? groupColumn)
    {
        var (cond, args) = filter.DayConditions("t.day", "t.rig_id");
        var key = groupColumn is null ? "''" : "t.rig_id";
        var name = groupColumn is null ? $"COALESCE(d.lot, '{UnknownLot}')" : "x.grp";
        var sql =
            $"""
            SELECT {name} AS Name, SUM(x.judged) AS Units, SUM(x.failed) AS Failed
            FROM (SELECT device_id, grp, MAX(CASE WHEN verdict <> 'rig-fault' THEN 1 ELSE 0 END) AS judged,
                         MAX(CASE WHEN verdict = 'fail' THEN 1 ELSE 0 END) AS failed
                  FROM (SELECT t.device_id, {key} AS grp, t.verdict, MAX(t.started_at || printf('%010d', t.attempt)) AS latest
                        FROM unit_test_days t
                        WHERE 1 = 1{cond}
                        GROUP BY {(groupColumn is null ? "" : key + ", ")}t.device_id, t.test) deciding
                  GROUP BY device_id, grp) x
            LEFT JOIN devices d ON d.device_id = x.device_id
            GROUP BY {name}
            """;
        return db.Query<CountRow>(sql, args)
            .Where(r => r.Units > 0)
            .Select(r => new GroupCount(r.Name, (int)r.Failed, (int)r.Units))
            .OrderBy(g => g.Name, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// The filter, or <see cref="ResultFilter.None"/> when it keeps every result anyway (no dates, and the rig it names is
    /// the store's only rig), so a rig's own store answers from its summary tables instead of every attempt.
    /// </summary>
    private ResultFilter Simplify(ResultFilter filter)
    {
        if (filter.IsEmpty || filter.HasDates || filter.Line is not null || filter.Rig is null) return filter;
        return RigIds() is [var only] && only == filter.Rig ? ResultFilter.None : filter;
    }

    /// <summary>Lot counts of the results the filter keeps; the summary table's when the filter is empty.</summary>
    public IReadOnlyList<GroupCount> LotCounts(ResultFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        filter = Simplify(filter);
        if (filter.IsEmpty) return LotCounts();
        using var db = Open();
        return FleetLotCountsByHour(db, filter) ?? UnitCounts(db, filter, null);
    }

    /// <summary>The lots page over the results the filter keeps (p-charts against the filtered fleet).</summary>
    public LotsView Lots(ResultFilter filter, double? targetUpper = null)
    {
        ArgumentNullException.ThrowIfNull(filter);
        filter = Simplify(filter);
        if (filter.IsEmpty) return Lots(targetUpper);
        var counts = LotCounts(filter);
        if (counts.Count == 0)
            return new LotsView(0, 0, 0, []);
        var rates = LotReport.Build(counts, targetUpper: targetUpper);
        var ordered = rates.OrderByDescending(r => r.Flagged).ThenByDescending(r => r.PChart.Rate).ThenBy(r => r.Lot, StringComparer.Ordinal).ToList();
        return new LotsView(rates[0].PChart.Centre, counts.Sum(c => c.Units), counts.Sum(c => c.Failed), ordered);
    }

    /// <summary>One lot's page over the results the filter keeps; null when the filter leaves the lot no judged unit.</summary>
    public LotDetail? Lot(string lot, ResultFilter filter, int devicesShown = 200)
    {
        ArgumentNullException.ThrowIfNull(lot);
        ArgumentNullException.ThrowIfNull(filter);
        filter = Simplify(filter);
        if (filter.IsEmpty) return Lot(lot, devicesShown);
        using var db = Open();
        // every lot's counts from the units' spans (step 17) cost less than the one lot's from each day's deciding attempts
        var rate = FromDaySummaries(db, filter) && !FromUnitSpans(db, filter, null) ? LotRateByDay(db, lot, filter) : Lots(filter).Lots.FirstOrDefault(l => l.Lot == lot);
        if (rate is null)
            return null;
        var (cond, args) = filter.Conditions();
        args.Add("lot", lot);
        // whole days on a rig's store: its failures per day and rig as stored (step 12), no evidence parsed; a fleet at
        // step 13: the lot's failures with their start and run (lot_failures), counted by the server
        var (breakdown, signatures) = FromDaySummaries(db, filter)
            ? StoredFailures(db, lot, filter)
            : HasLotHours(db)
            ? FleetFailures(db, lot, filter)
            : IsSqlite(db) && filter.HasDates
            ? Count(lot, LotFailuresInRange(db, filter, args).Select(FailureGroup.Read))
            : Count(lot, db.Query<FailureRow>(
                $"""
                SELECT r.device_id AS DeviceId, r.failure_mode AS FailureMode, r.signature AS Signature, r.evidence_json AS EvidenceJson
                FROM units u JOIN results r ON r.device_id = u.device_id JOIN runs ru ON ru.id = r.run_id
                WHERE u.lot = @lot AND r.verdict = 'fail'{cond}
                """, args).Select(FailureGroup.Read));

        // SQLite: each device's screening attempts from their own partial index, with the range checked on the index; by
        // (device, start) it would read every soak row a soaked device has in the range to find its few screening attempts
        // a fleet at step 13 over dates: the units inside the range's whole hours as counted (their number, yields and the
        // first shown), the attempts of the straddling ones only; over a rig or a line, the lot's units whose screening
        // hours meet the range only
        var inside = FleetLotInside(db, lot, filter, devicesShown);
        var screening = db.Query<ScreeningRow>(inside is not null
            ? $"""
              SELECT u.device_id AS DeviceId, r.test AS Test, r.verdict AS Verdict, r.signature AS Signature, r.started_at AS StartedAt, r.attempt AS Attempt
              FROM (SELECT DISTINCT b.device_id FROM ({inside.Split.Straddling}) b WHERE b.lot = @lot) u
              CROSS JOIN LATERAL (SELECT r.test, r.verdict, r.signature, r.started_at, r.attempt FROM results r{inside.Split.Join}
                                  WHERE r.device_id = u.device_id AND r.cycle IS NULL{inside.Split.Cond}) r
              """
            : $"""
            SELECT r.device_id AS DeviceId, r.test AS Test, r.verdict AS Verdict, r.signature AS Signature, r.started_at AS StartedAt, r.attempt AS Attempt
            FROM units u JOIN results r{(IsSqlite(db) ? " INDEXED BY ix_results_screening" : "")} ON r.device_id = u.device_id JOIN runs ru ON ru.id = r.run_id
            WHERE u.lot = @lot AND r.cycle IS NULL{FleetUnitSpanConditions(db, filter, args)}{UnitSpanConditions(db, filter, args)}{cond}
            """, inside?.Split.Args ?? args)
            .OrderBy(a => a.DeviceId, StringComparer.Ordinal).ThenBy(a => a.Test, StringComparer.Ordinal)
            .ThenBy(a => a.StartedAt, StringComparer.Ordinal).ThenBy(a => a.Attempt)
            .ToList();
        var attempts = screening.GroupBy(a => (a.DeviceId, a.Test))
            .SelectMany(g => g.Select((a, i) => new AttemptRecord(a.DeviceId, a.Test, i + 1, VerdictNames.Parse(a.Verdict))))
            .ToList();

        var devices = screening.GroupBy(a => a.DeviceId).Select(g =>
        {
            // the latest kept attempt of each test decides, as for the counts
            var deciding = g.GroupBy(a => a.Test).Select(t => t.Last()).ToList();
            var last = g.OrderBy(a => a.StartedAt, StringComparer.Ordinal).ThenBy(a => a.Attempt).Last();
            return new LotDevice(g.Key, deciding.Any(a => a.Verdict == "fail"), deciding.Any(a => a.Verdict != "rig-fault"), null, null, last.Signature);
        }).ToList();
        var (firstPass, final, inLot) = (Yield.FirstPass(attempts), Yield.Final(attempts), devices.Count);
        if (inside is not null)
        {
            firstPass = new YieldResult(firstPass.Passed + (int)inside.Yields.FirstPassed, firstPass.Devices + (int)inside.Yields.Devices);
            final = new YieldResult(final.Passed + (int)inside.Yields.FinalPassed, final.Devices + (int)inside.Yields.Devices);
            inLot += (int)inside.Yields.Devices;
            devices.AddRange(inside.Shown);
        }
        // date codes and suppliers of the devices shown only, not of every device in the lot
        var shown = devices.OrderByDescending(d => d.Failed).ThenBy(d => d.DeviceId, StringComparer.Ordinal).Take(devicesShown).ToList();
        var info = db.Query<DeviceRow>(
            // Dapper expands a list for SQLite; Npgsql takes it as one array
            $"SELECT device_id AS DeviceId, date_code AS DateCode, supplier AS Supplier FROM devices WHERE {(IsSqlite(db) ? "device_id IN @ids" : "device_id = ANY(@ids)")}",
            new { ids = shown.Select(d => d.DeviceId).ToArray() }).ToDictionary(d => d.DeviceId, StringComparer.Ordinal);
        shown = [.. shown.Select(d => info.TryGetValue(d.DeviceId, out var i) ? d with { DateCode = i.DateCode, Supplier = i.Supplier } : d)];
        return new LotDetail(rate, firstPass, final, breakdown, signatures, inLot, shown);
    }

    /// <summary>
    /// One lot's rate over a whole-day filter on a rig's store (<see cref="FromDaySummaries"/>), as <see cref="Lots(ResultFilter, double?)"/>
    /// has it; null when the lot has no judged unit there. A lot's p-chart point needs only its own counts and the fleet's
    /// pooled rate, so the fleet is counted as one group (no device's lot looked up) and the lot's devices as another.
    /// </summary>
    private static LotFailureRate? LotRateByDay(IDbConnection db, string lot, ResultFilter filter)
    {
        var (cond, args) = filter.DayConditions("t.day", "t.rig_id");
        args.Add("lot", lot);
        var n = db.QuerySingle<LotFleetRow>(
            $"""
            SELECT COALESCE(SUM(judged), 0) AS Units, COALESCE(SUM(failed), 0) AS Failed,
                   COALESCE(SUM(judged * in_lot), 0) AS LotUnits, COALESCE(SUM(failed * in_lot), 0) AS LotFailed
            FROM (SELECT device_id, MAX(CASE WHEN verdict <> 'rig-fault' THEN 1 ELSE 0 END) AS judged,
                         MAX(CASE WHEN verdict = 'fail' THEN 1 ELSE 0 END) AS failed,
                         device_id IN (SELECT u.device_id FROM units u WHERE u.lot = @lot) AS in_lot
                  FROM (SELECT t.device_id, t.verdict, MAX(t.started_at || printf('%010d', t.attempt)) AS latest
                        FROM unit_test_days t
                        WHERE 1 = 1{cond}
                        GROUP BY t.device_id, t.test) deciding
                  GROUP BY device_id) x
            """, args);
        if (n.LotUnits == 0) return null;
        List<GroupCount> groups = [new GroupCount(lot, (int)n.LotFailed, (int)n.LotUnits)];
        if (n.Units > n.LotUnits)
            groups.Add(new GroupCount("", (int)(n.Failed - n.LotFailed), (int)(n.Units - n.LotUnits)));
        return LotReport.Build(groups)[0];
    }

    /// <summary>
    /// A lot's failed results in a range off whole days on a rig's store, with their evidence: read device by device from
    /// ix_results_failed, only for the lot's devices with a failure stored on a day the range touches (device_failure_days,
    /// step 12). SQLite's own choice read every failed result of the store from its row to check its start (86,000 rows
    /// at 10 M results, 230 ms CPU for a shift).
    /// </summary>
    private static IEnumerable<FailureRow> LotFailuresInRange(IDbConnection db, ResultFilter filter, DynamicParameters args)
    {
        var days = "";
        if (filter.From is { } f)
        {
            args.Add("failedFromDay", f.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            days += " AND x.day >= @failedFromDay";
        }
        if (filter.ToExclusive is { } t)
        {
            args.Add("failedToDay", t.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            days += " AND x.day <= @failedToDay";
        }
        var (cond, _) = filter.Conditions();
        return db.Query<FailureRow>(
            $"""
            SELECT r.device_id AS DeviceId, r.failure_mode AS FailureMode, r.signature AS Signature, r.evidence_json AS EvidenceJson
            FROM units u CROSS JOIN results r INDEXED BY ix_results_failed JOIN runs ru ON ru.id = r.run_id
            WHERE u.lot = @lot AND r.device_id = u.device_id AND r.verdict = 'fail'{cond}
              AND EXISTS (SELECT 1 FROM device_failure_days x WHERE x.device_id = u.device_id{days})
            """, args);
    }

    private sealed class LotFleetRow
    {
        public long Units { get; set; }
        public long Failed { get; set; }
        public long LotUnits { get; set; }
        public long LotFailed { get; set; }
    }

    /// <summary>Runs newest first whose start the filter keeps (dates on the run's start, rig, line), at most <paramref name="limit"/>.</summary>
    public IReadOnlyList<RunListing> Runs(ResultFilter filter, int limit)
    {
        ArgumentNullException.ThrowIfNull(filter);
        using var db = Open();
        var (cond, args) = filter.Conditions("ru.started_at");
        args.Add("limit", limit);
        var runs = ListRuns(db, "WHERE 1 = 1" + cond + " ORDER BY ru.started_at DESC, ru.id DESC LIMIT @limit", args);
        return [.. runs.Select(r => r.ToListing())];
    }

    private sealed class VerdictCountRow
    {
        public string RunId { get; set; } = "";
        public string Verdict { get; set; } = "";
        public long N { get; set; }
    }

    /// <summary>Every result of one slot in one run, in time order; null when the run is unknown.</summary>
    public RunSlotView? RunSlot(Guid runId, int slot)
    {
        using var db = Open();
        var run = ListRuns(db, "WHERE ru.id = @id", new { id = runId.ToString("D") }).SingleOrDefault();
        if (run is null) return null;
        var rows = ResultsStore.ReadResults(db, "run_id = @id AND slot = @slot", "started_at, COALESCE(cycle, 0), attempt", new { id = runId.ToString("D"), slot })
            .Select(r => new RunSlotResult(r.DeviceId, r.Test, r.Cycle, r.Attempt, r.Verdict.ToName(), r.FailureMode, r.Signature,
                r.DeviceTime is { } t ? (long)t.TotalMilliseconds : null, r.StartedAt, r.EndedAt, r.EvidenceJson))
            .ToList();
        return new RunSlotView(run.ToListing(), slot, rows);
    }

    /// <summary>
    /// Devices by whole device id or DFU serial (then <see cref="DeviceSearch.Exact"/> names it), else by prefix of
    /// either, at most <paramref name="limit"/> of them in id order.
    /// </summary>
    public DeviceSearch SearchDevices(string text, int limit = 50)
    {
        ArgumentNullException.ThrowIfNull(text);
        var query = text.Trim();
        if (query.Length == 0) return new DeviceSearch(query, null, []);
        var id = query.ToLowerInvariant();
        using var db = Open();
        var known = db.ExecuteScalar<long>("SELECT COUNT(*) FROM devices WHERE device_id = @id", new { id }) > 0
            || db.ExecuteScalar<long>("SELECT COUNT(*) FROM (SELECT 1 FROM results WHERE device_id = @id LIMIT 1) x", new { id }) > 0;
        if (known) return new DeviceSearch(query, id, [new DeviceMatch(id, LotOf(db, id), null)]);
        var linked = db.QueryFirstOrDefault<string?>("SELECT device_id FROM device_links WHERE dfu_serial = @query OR dfu_serial = @upper OR dfu_serial = @id",
            new { query, upper = query.ToUpperInvariant(), id });
        if (linked is not null) return new DeviceSearch(query, linked, [new DeviceMatch(linked, LotOf(db, linked), query)]);

        // Ids and DFU serials are letters and digits; anything else matches nothing (and never reaches LIKE as a pattern).
        var matches = new SortedDictionary<string, DeviceMatch>(StringComparer.Ordinal);
        if (!query.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or ':'))
            return new DeviceSearch(query, null, []);
        // SQLite: a byte-order range [p, p + U+FFFF), answered from the primary key or ix_results_device. PostgreSQL compares
        // by its collation, where such a range is not a prefix: LIKE, which a C-collated index answers.
        var sqlite = IsSqlite(db);
        string Prefix(string column, string p) => sqlite ? $"({column} >= @{p} AND {column} < @{p}Bound)" : $"{column} LIKE @{p}Like";
        var rawUpper = query.ToUpperInvariant();
        var args = new { id, idBound = id + '\uffff', idLike = id + "%", raw = rawUpper, rawBound = rawUpper + '\uffff', rawLike = rawUpper + "%", limit };
        foreach (var d in db.Query<string>($"SELECT device_id FROM devices WHERE {Prefix("device_id", "id")} ORDER BY device_id LIMIT @limit", args))
            matches.TryAdd(d, new DeviceMatch(d, null, null));
        foreach (var d in db.Query<string>($"SELECT DISTINCT device_id FROM results WHERE {Prefix("device_id", "id")} ORDER BY device_id LIMIT @limit", args))
            matches.TryAdd(d, new DeviceMatch(d, null, null));
        foreach (var l in db.Query<LinkRow>(
            $"SELECT dfu_serial AS DfuSerial, device_id AS DeviceId FROM device_links WHERE {Prefix("dfu_serial", "id")} OR {Prefix("dfu_serial", "raw")} ORDER BY dfu_serial LIMIT @limit", args))
            matches.TryAdd(l.DeviceId, new DeviceMatch(l.DeviceId, null, l.DfuSerial));
        var list = matches.Values.Take(limit).Select(m => m with { Lot = LotOf(db, m.DeviceId) }).ToList();
        return new DeviceSearch(query, null, list);
    }

    private static string LotOf(IDbConnection db, string deviceId) =>
        db.QueryFirstOrDefault<string?>("SELECT lot FROM devices WHERE device_id = @deviceId", new { deviceId }) ?? UnknownLot;

    /// <summary>
    /// One failure mode over the results the filter keeps: counts, per lot, and the latest <paramref name="latest"/>
    /// attempts it ended; a DUT's failure mode (failed attempts) or a rig fault's (usb-transport, sensor-fault, ...).
    /// </summary>
    public FailureModeView FailureMode(string mode, ResultFilter filter, int latest = 100)
    {
        ArgumentNullException.ThrowIfNull(mode);
        ArgumentNullException.ThrowIfNull(filter);
        using var db = Open();
        // a rig's store over whole days (store step 12 keeps a failed mode per device and day, '' standing for none)
        if (FromDaySummaries(db, filter) && mode.Length > 0)
            return StoredFailureMode(db, mode, filter, latest);
        if (FleetKeepsFailureTimes(db))
            return FleetFailureMode(db, mode, filter, latest);
        var (cond, args) = filter.Conditions();
        args.Add("mode", mode);
        var rows = db.Query<ListingRow>(
            $"""
            SELECT {ListingColumns}
            FROM results r JOIN runs ru ON ru.id = r.run_id LEFT JOIN devices d ON d.device_id = r.device_id
            WHERE r.verdict IN ('fail', 'rig-fault') AND r.failure_mode = @mode{cond}
            """, args).Select(r => r.ToListing()).ToList();
        var byLot = rows.GroupBy(r => r.Lot, StringComparer.Ordinal)
            .Select(g => new CategoryCount(g.Key, g.Count(), g.Select(r => r.DeviceId).Distinct(StringComparer.Ordinal).Count()))
            .OrderByDescending(c => c.Failures).ThenBy(c => c.Name, StringComparer.Ordinal).ToList();
        return new FailureModeView(mode, rows.Count, rows.Select(r => r.DeviceId).Distinct(StringComparer.Ordinal).Count(), byLot, Newest(rows, latest));
    }

    private const string ListingColumns =
        $"""
        r.device_id AS DeviceId, COALESCE(d.lot, '{UnknownLot}') AS Lot, r.run_id AS RunId, ru.rig_id AS RigId, r.slot AS Slot, r.test AS Test,
        r.cycle AS Cycle, r.verdict AS Verdict, r.failure_mode AS FailureMode, r.signature AS Signature, r.started_at AS StartedAt
        """;

    /// <summary>Newest first, a device's id breaking a tie; rows equal in both keep their order (failures first, then as stored).</summary>
    private static List<ResultListing> Newest(IEnumerable<ResultListing> rows, int latest) =>
        rows.OrderByDescending(r => r.StartedAt).ThenBy(r => r.DeviceId, StringComparer.Ordinal).Take(latest).ToList();

    /// <summary>
    /// One failure mode on a rig's store over whole days: failed results per device from device_failure_days (step 12) and
    /// rig faults from the results, each device's lot looked up once; the newest attempts from the results by
    /// (failure_mode, verdict, started_at) (step 14), so at 10 M results the page reads no 63,700 failed rows.
    /// </summary>
    private static FailureModeView StoredFailureMode(IDbConnection db, string mode, ResultFilter filter, int latest)
    {
        var (dayCond, args) = filter.DayConditions("f.day", "f.rig_id");
        // the same days on the results (a start's text sorts after its day's and before the next day's), the same arguments
        var (cond, _) = filter.DayConditions("r.started_at", "ru.rig_id");
        args.Add("mode", mode);
        args.Add("limit", latest);
        var byLot = db.Query<CountRow>(
            $"""
            WITH x AS (
                SELECT device_id, SUM(n) AS n FROM (
                    SELECT f.device_id, f.failures AS n FROM device_failure_days f WHERE f.failure_mode = @mode{dayCond}
                    UNION ALL
                    SELECT r.device_id, 1 FROM results r JOIN runs ru ON ru.id = r.run_id WHERE r.failure_mode = @mode AND r.verdict = 'rig-fault'{cond})
                GROUP BY device_id)
            SELECT COALESCE(d.lot, '{UnknownLot}') AS Name, SUM(x.n) AS Failed, COUNT(*) AS Units
            FROM x LEFT JOIN devices d ON d.device_id = x.device_id GROUP BY 1
            """, args)
            .Select(c => new CategoryCount(c.Name, (int)c.Failed, (int)c.Units))
            .OrderByDescending(c => c.Failures).ThenBy(c => c.Name, StringComparer.Ordinal).ToList();
        // each verdict's newest in index order, ties by device and then as stored, as the full read orders them
        var newest = NewestOfMode(db, cond, args, ", r.rowid");
        // a device has one lot, so the lots' devices add up to the mode's
        return new FailureModeView(mode, byLot.Sum(c => c.Failures), byLot.Sum(c => c.Devices), byLot, Newest(newest, latest));
    }

    /// <summary>
    /// A failure mode's newest failed and rig-faulted attempts (up to @limit each) in the filter's <paramref name="cond"/>,
    /// read per verdict by (failure_mode, started_at); <paramref name="tieBreak"/> orders ties after the device.
    /// </summary>
    private static List<ResultListing> NewestOfMode(IDbConnection db, string cond, DynamicParameters args, string tieBreak) =>
        new[] { "fail", "rig-fault" }.SelectMany(verdict => db.Query<ListingRow>(
            $"""
            SELECT {ListingColumns}
            FROM results r JOIN runs ru ON ru.id = r.run_id LEFT JOIN devices d ON d.device_id = r.device_id
            WHERE r.failure_mode = @mode AND r.verdict = '{verdict}'{cond}
            ORDER BY r.started_at DESC, r.device_id{tieBreak} LIMIT @limit
            """, args)).Select(r => r.ToListing()).ToList();

    /// <summary>True on a fleet at step 13 or later: lot_failures carries each failure's mode, start and run.</summary>
    private static bool FleetKeepsFailureTimes(IDbConnection db) =>
        IsFleetDatabase(db)
        && db.ExecuteScalar<long>("SELECT COUNT(*) FROM pg_attribute WHERE attrelid = to_regclass('lot_failures') AND attname = 'started_at'") > 0;

    /// <summary>
    /// One failure mode on a fleet: the failed results per lot counted where the ingest keeps them with their lot, mode,
    /// start and run (lot_failures; the page fetched every failed result of the mode with its run and device, over a
    /// second for the commonest at 10 M), the mode's rig faults from the results, and the newest attempts per verdict
    /// from the results by (failure_mode, started_at); each read in an index of fleet step 17.
    /// </summary>
    private static FailureModeView FleetFailureMode(IDbConnection db, string mode, ResultFilter filter, int latest)
    {
        var (failCond, args) = filter.Conditions("f.started_at");
        var (cond, _) = filter.Conditions();
        args.Add("mode", mode);
        args.Add("limit", latest);
        var byLot = db.Query<CountRow>(
            $"""
            WITH x AS (
                SELECT f.lot, f.device_id FROM lot_failures f{(filter.Rig is null && filter.Line is null ? "" : " JOIN runs ru ON ru.id = f.run_id")}
                WHERE f.failure_mode = @mode{failCond}
                UNION ALL
                SELECT COALESCE(d.lot, '{UnknownLot}'), r.device_id
                FROM results r JOIN runs ru ON ru.id = r.run_id LEFT JOIN devices d ON d.device_id = r.device_id
                WHERE r.failure_mode = @mode AND r.verdict = 'rig-fault'{cond})
            SELECT lot AS Name, COUNT(*) AS Failed, COUNT(DISTINCT device_id) AS Units FROM x GROUP BY lot
            """, args)
            .Select(c => new CategoryCount(c.Name, (int)c.Failed, (int)c.Units))
            .OrderByDescending(c => c.Failures).ThenBy(c => c.Name, StringComparer.Ordinal).ToList();
        var newest = NewestOfMode(db, cond, args, "");
        // a device has one lot, so the lots' devices add up to the mode's
        return new FailureModeView(mode, byLot.Sum(c => c.Failures), byLot.Sum(c => c.Devices), byLot, Newest(newest, latest));
    }

    /// <summary>One bootloader build: its soak summary (as the soak page counts it) and every run that ran it, newest first.</summary>
    public BuildView Build(string bootloader)
    {
        ArgumentNullException.ThrowIfNull(bootloader);
        var soak = Soak().Builds.FirstOrDefault(b => b.Bootloader == bootloader);
        using var db = Open();
        var runs = ListRuns(db, "WHERE ru.bootloader = @bootloader ORDER BY ru.started_at DESC, ru.id DESC", new { bootloader })
            .Select(r => r.ToListing()).ToList();
        // a rig's store: the per run and test summary (store step 11); a fleet: its soak rows of the build's runs
        var counts = db.Query<RunSoakRow>(IsSqlite(db)
            ? $"""
              SELECT x.RunId, x.Cycles, x.Failures FROM ({SoakCountsPerRun(sqlite: true)}) x
              WHERE x.RunId IN (SELECT ru.id FROM runs ru WHERE ru.bootloader = @bootloader)
              """
            : $"""
              SELECT r.run_id AS RunId, SUM(CASE WHEN r.test IN ('{SoakRunner.OtaTest}', '{SoakRunner.CycleTest}') THEN 1 ELSE 0 END) AS Cycles,
                     SUM(CASE WHEN r.verdict = 'fail' THEN 1 ELSE 0 END) AS Failures
              FROM results r JOIN runs ru ON ru.id = r.run_id
              WHERE ru.bootloader = @bootloader AND r.cycle IS NOT NULL AND r.verdict IN ('pass', 'fail')
                AND r.test IN ('{SoakRunner.OtaTest}', '{SoakRunner.FactoryResetTest}', '{SoakRunner.CycleTest}')
              GROUP BY r.run_id
              """, new { bootloader }).ToDictionary(r => Guid.Parse(r.RunId));
        return new BuildView(bootloader, soak, [.. runs.Select(r => counts.TryGetValue(r.Id, out var c) ? new BuildRun(r, c.Cycles, (int)c.Failures) : new BuildRun(r, 0, 0))]);
    }

    /// <summary>One slot: its health row and its latest results (on one rig when the filter names one), newest first.</summary>
    public SlotView Slot(int slot, ResultFilter filter, int latest = 100)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var health = Slots().Where(s => s.Slot == slot).Select(s => (SlotHealth?)s).FirstOrDefault();
        using var db = Open();
        var (cond, args) = filter.Conditions();
        args.Add("slot", slot);
        args.Add("limit", latest);
        var rows = db.Query<ListingRow>(
            $"""
            SELECT {ListingColumns}
            FROM results r JOIN runs ru ON ru.id = r.run_id LEFT JOIN devices d ON d.device_id = r.device_id
            WHERE r.slot = @slot{cond}
            ORDER BY r.started_at DESC, r.id DESC LIMIT @limit
            """, args).Select(r => r.ToListing()).ToList();
        return new SlotView(slot, health, rows);
    }

    /// <summary>
    /// Every rig's units and failure rate (each rig's own latest attempts decide; a p-chart of the rigs), results, rig
    /// faults and runs, with its last sync when the store is a fleet; and the same per line.
    /// </summary>
    public RigsView Rigs(ResultFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var lines = HasLines();
        using var db = Open();
        var fleet = IsFleetDatabase(db);
        var (cond, args) = filter.Conditions();
        // a fleet at step 14: units per rig and per line from its rollups, in one pass
        var fleetUnits = fleet ? FleetRigAndLineCounts(db, filter) : null;
        // one rig and no dates: its units are the summary table's
        List<GroupCount> rigCounts;
        if (RigIds() is [var single] && Simplify(filter with { Rig = filter.Rig ?? single }).IsEmpty)
        {
            var lots = LotCounts();
            rigCounts = [new GroupCount(single, lots.Sum(c => c.Failed), lots.Sum(c => c.Units))];
        }
        else
        {
            rigCounts = fleetUnits?.Rigs ?? UnitCounts(db, filter, "rig_id");
        }
        var rigRates = rigCounts.Count == 0 ? [] : LotReport.Build(rigCounts).ToDictionary(r => r.Lot, StringComparer.Ordinal);
        // per rig and day: the totals and the results per day. A fleet keeps them per rig and day as it ingests.
        var rollup = fleet && !filter.HasDates && filter.Line is null;
        // a rig's store keeps them per rig and day too (store step 11)
        var (dayCond, dayArgs) = filter.DayConditions("d.day", "d.rig_id");
        // a fleet over dates or a line (whose rigs each ran on one line): its rollups per minute and rig (FleetRigDays)
        var rigLines = new Lazy<Dictionary<string, string?>?>(() => RigLines(db));
        var fleetDays = fleet && !rollup ? FleetRigDays(db, filter, rigLines) : null;
        var perDay = fleetDays ?? (FromDaySummaries(db, filter)
            ? db.Query<RigDayRow>(
                $"SELECT d.rig_id AS Name, d.day AS Day, d.results AS Results, d.rig_faults AS RigFaults, d.last_started_at AS LastResultAt FROM rig_days d WHERE 1 = 1{dayCond}",
                dayArgs).ToList()
            : db.Query<RigDayRow>(rollup
            ? "SELECT d.rig_id AS Name, d.day AS Day, d.results AS Results, d.rig_faults AS RigFaults, f.last_result_at AS LastResultAt FROM rollup_rig_day d LEFT JOIN fleet_rigs f ON f.rig_id = d.rig_id"
            : $"""
            SELECT ru.rig_id AS Name, substr(r.started_at, 1, 10) AS Day, COUNT(*) AS Results, SUM(CASE WHEN r.verdict = 'rig-fault' THEN 1 ELSE 0 END) AS RigFaults,
                   MAX(r.started_at) AS LastResultAt
            FROM results r JOIN runs ru ON ru.id = r.run_id WHERE 1 = 1{cond} GROUP BY ru.rig_id, substr(r.started_at, 1, 10)
            """, args).ToList());
        var totals = perDay.GroupBy(d => d.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => new RigTotalsRow
        {
            Name = g.Key, Results = g.Sum(d => d.Results), RigFaults = g.Sum(d => d.RigFaults),
            LastResultAt = g.Select(d => d.LastResultAt).Where(a => a is not null).Max(StringComparer.Ordinal),
        }, StringComparer.Ordinal);
        var perDayRate = perDay.GroupBy(d => d.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => ResultsPerDay(g.Select(d => (d.Day, d.Results))), StringComparer.Ordinal);
        var health = SlotHealthByRig(db);
        var (runCond, runArgs) = filter.Conditions("ru.started_at");
        var runs = db.Query<RunCountRow>(
            $"SELECT ru.rig_id AS Name, {(lines ? "MAX(ru.line)" : "NULL")} AS Line, COUNT(*) AS Runs FROM runs ru WHERE 1 = 1{runCond} GROUP BY ru.rig_id", runArgs)
            .ToDictionary(r => r.Name, StringComparer.Ordinal);
        var synced = fleet
            ? db.Query<FleetRigRow>("SELECT rig_id AS RigId, line AS Line, software_version AS SoftwareVersion, last_sync_at AS LastSyncAt FROM fleet_rigs")
                .ToDictionary(r => r.RigId, StringComparer.Ordinal)
            : [];
        var names = totals.Keys.Union(runs.Keys).Union(synced.Keys).Where(n => filter.Rig is null || n == filter.Rig).OrderBy(n => n, StringComparer.Ordinal);
        var rigs = names.Select(n =>
        {
            totals.TryGetValue(n, out var t);
            runs.TryGetValue(n, out var r);
            synced.TryGetValue(n, out var s);
            var rate = rigRates.GetValueOrDefault(n);
            return new RigComparison(n, s?.Line ?? r?.Line, rate, t?.Results ?? 0, t?.RigFaults ?? 0, (int)(r?.Runs ?? 0),
                t?.LastResultAt is { } at ? Time(at) : null, s?.LastSyncAt is { } sync ? new DateTimeOffset(DateTime.SpecifyKind(sync, DateTimeKind.Utc)) : null, s?.SoftwareVersion,
                perDayRate.TryGetValue(n, out var daily) ? daily : null, health.GetValueOrDefault(n, RigSlotHealth.None));
        }).Where(r => filter.Line is null || r.Line == filter.Line).ToList();

        var lineSummaries = new List<LineSummary>();
        if (lines)
        {
            var lineCounts = fleetUnits?.Lines ?? UnitCounts(db, filter, "line");
            var lineTotals = fleet && FleetLineTotals(filter, perDay, rigLines) is { } fromRigs ? fromRigs : db.Query<RigTotalsRow>(
                $"""
                SELECT ru.line AS Name, COUNT(*) AS Results, SUM(CASE WHEN r.verdict = 'rig-fault' THEN 1 ELSE 0 END) AS RigFaults, MAX(r.started_at) AS LastResultAt
                FROM results r JOIN runs ru ON ru.id = r.run_id WHERE ru.line IS NOT NULL{cond} GROUP BY ru.line
                """, args).ToDictionary(r => r.Name, StringComparer.Ordinal);
            var lineRigs = db.Query<RunCountRow>($"SELECT ru.line AS Name, NULL AS Line, COUNT(DISTINCT ru.rig_id) AS Runs FROM runs ru WHERE ru.line IS NOT NULL{runCond} GROUP BY ru.line", runArgs)
                .ToDictionary(r => r.Name, StringComparer.Ordinal);
            var lineRates = lineCounts.Count == 0 ? [] : LotReport.Build(lineCounts).ToDictionary(r => r.Lot, StringComparer.Ordinal);
            foreach (var name in lineTotals.Keys.Union(lineRigs.Keys).OrderBy(n => n, StringComparer.Ordinal))
            {
                lineTotals.TryGetValue(name, out var t);
                lineRigs.TryGetValue(name, out var r);
                lineSummaries.Add(new LineSummary(name, (int)(r?.Runs ?? 0), lineRates.GetValueOrDefault(name),
                    t?.Results ?? 0, t?.RigFaults ?? 0));
            }
        }
        return new RigsView(fleet, rigs, lineSummaries);
    }

    /// <summary>The days the rigs page averages a rig's results over.</summary>
    public const int RateDays = 7;

    /// <summary>Results per calendar day over the last <see cref="RateDays"/> days up to the newest day (from the first day when later).</summary>
    internal static double? ResultsPerDay(IEnumerable<(string Day, long Results)> days)
    {
        var parsed = days.Select(d => (Day: DateOnly.ParseExact(d.Day, "yyyy-MM-dd", CultureInfo.InvariantCulture), d.Results)).ToList();
        if (parsed.Count == 0) return null;
        var last = parsed.Max(d => d.Day);
        var first = parsed.Min(d => d.Day);
        var from = last.AddDays(-(RateDays - 1));
        if (first > from) from = first;
        var span = last.DayNumber - from.DayNumber + 1;
        return (double)parsed.Where(d => d.Day >= from).Sum(d => d.Results) / span;
    }

    /// <summary>Each rig's slots by stored health (a rig's own store, or what the rigs synced into a fleet).</summary>
    private static Dictionary<string, RigSlotHealth> SlotHealthByRig(IDbConnection db) =>
        db.Query<(string RigId, string State, long N)>("SELECT rig_id, state, COUNT(*) FROM slot_health GROUP BY rig_id, state")
            .GroupBy(h => h.RigId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g =>
            {
                int Of(SlotHealthState state) => (int)g.Where(h => h.State == state.ToName()).Sum(h => h.N);
                return new RigSlotHealth(Of(SlotHealthState.Good), Of(SlotHealthState.Suspect), Of(SlotHealthState.Quarantined),
                    Of(SlotHealthState.Maintenance), Of(SlotHealthState.Unknown));
            }, StringComparer.Ordinal);

    private static DateTimeOffset Time(string text) =>
        DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    private sealed class ScreeningRow
    {
        public string DeviceId { get; set; } = "";
        public string Test { get; set; } = "";
        public string Verdict { get; set; } = "";
        public string? Signature { get; set; }
        public string StartedAt { get; set; } = "";
        public long Attempt { get; set; }
    }

    private sealed class LinkRow
    {
        public string DfuSerial { get; set; } = "";
        public string DeviceId { get; set; } = "";
    }

    private sealed class ListingRow
    {
        public string DeviceId { get; set; } = "";
        public string Lot { get; set; } = "";
        public string RunId { get; set; } = "";
        public string RigId { get; set; } = "";
        public long Slot { get; set; }
        public string Test { get; set; } = "";
        public long? Cycle { get; set; }
        public string Verdict { get; set; } = "";
        public string? FailureMode { get; set; }
        public string? Signature { get; set; }
        public string StartedAt { get; set; } = "";

        public ResultListing ToListing() => new(DeviceId, Lot, Guid.Parse(RunId), RigId, (int)Slot, Test, (int?)Cycle, Verdict, FailureMode, Signature, Time(StartedAt));
    }

    private sealed class RunSoakRow
    {
        public string RunId { get; set; } = "";
        public long Cycles { get; set; }
        public long Failures { get; set; }
    }

    private sealed class RigDayRow
    {
        public string Name { get; set; } = "";
        public string Day { get; set; } = "";
        public long Results { get; set; }
        public long RigFaults { get; set; }
        public string? LastResultAt { get; set; }
    }

    private sealed class RigTotalsRow
    {
        public string Name { get; set; } = "";
        public long Results { get; set; }
        public long RigFaults { get; set; }
        public string? LastResultAt { get; set; }
    }

    private sealed class RunCountRow
    {
        public string Name { get; set; } = "";
        public string? Line { get; set; }
        public long Runs { get; set; }
    }

    private sealed class FleetRigRow
    {
        public string RigId { get; set; } = "";
        public string? Line { get; set; }
        public string? SoftwareVersion { get; set; }
        public DateTime? LastSyncAt { get; set; }
    }
}
