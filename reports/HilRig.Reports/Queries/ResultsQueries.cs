using System.Data;
using System.Globalization;
using System.Text.Json;
using Dapper;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Reports.Results;
using HilRig.Reports.Statistics;
using Microsoft.Data.Sqlite;

namespace HilRig.Reports.Queries;

/// <summary>
/// Reads reports out of the results store. The by-lot numbers come from the store's summary tables (one row per lot,
/// kept current by every write), so they cost the same for ten results or ten million; per-lot, per-slot, soak and
/// per-device queries go through indexes of schema step 3 (units by lot, results by device, slot and soak run).
/// Counting rules are those of <see cref="LotReport"/>, <see cref="Breakdown"/>, <see cref="Yield"/> and
/// <see cref="SoakTrends"/>; tests hold the two equal.
/// </summary>
public sealed partial class ResultsQueries
{
    private readonly Func<IDbConnection> _connect;

    /// <summary>A SQLite store's one connection string (<see cref="ResultsStore.SqliteConnectionString"/>); null over other connections.</summary>
    private readonly string? _sqlite;

    /// <summary>The connection the queries of the current scope share (<see cref="ShareConnection"/>), if any.</summary>
    private readonly AsyncLocal<ScopeConnection?> _scope = new();

    private ResultsQueries(Func<IDbConnection> connect, string? sqlite = null)
    {
        _connect = connect;
        _sqlite = sqlite;
    }

    /// <summary>
    /// Lets every query until the returned scope is disposed use one connection (a dashboard request's half dozen
    /// queries: one open instead of one each; SQLite connections are never pooled, see
    /// <see cref="ResultsStore.SqliteConnectionString"/>). The connection is closed with the scope, so it lives no longer
    /// than the request, as unpooled connections require. One flow of work per scope: it is not shared across threads.
    /// Over connections other than a SQLite store's, nothing changes.
    /// </summary>
    public IDisposable ShareConnection()
    {
        if (_sqlite is null || _scope.Value is not null) return new Scope(null, null);
        var shared = new ScopeConnection(_sqlite);
        _scope.Value = shared;
        return new Scope(shared, _scope);
    }

    /// <summary>The end of a <see cref="ShareConnection"/> scope: its connection closes here.</summary>
    private sealed class Scope(ScopeConnection? shared, AsyncLocal<ScopeConnection?>? scope) : IDisposable
    {
        public void Dispose()
        {
            if (shared is null) return;
            if (scope!.Value == shared) scope.Value = null;
            shared.End();
        }
    }

    /// <summary>A SQLite connection the queries of one scope each dispose as usual, which stays open until its scope ends.</summary>
    private sealed class ScopeConnection(string connectionString) : SqliteConnection(connectionString)
    {
        private bool _ending;

        public void End()
        {
            _ending = true;
            Dispose();
        }

        public override void Close()
        {
            if (_ending) base.Close();
        }

        protected override void Dispose(bool disposing)
        {
            if (_ending) base.Dispose(disposing);
        }
    }

    /// <summary>
    /// Opens an existing SQLite store for reading, read-only: a file that is not a HilRig store is refused, never given
    /// HilRig's tables. A HilRig store of an older schema is brought up to date first (the summaries and indexes reports need).
    /// </summary>
    /// <exception cref="ResultsStoreException">No store at the path, not a HilRig store, or a store newer than this code.</exception>
    public static ResultsQueries OpenSqlite(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new ResultsStoreException($"no results store at {full}; run `hilrig screen` or `hilrig sim fleet` first, or pass --store FILE");
        var connectionString = ResultsStore.SqliteConnectionString(full, readOnly: true);
        long version;
        try
        {
            using var db = new SqliteConnection(connectionString);
            db.Open();
            var tables = db.ExecuteScalar<long>("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('schema_version', 'runs', 'results')");
            if (tables < 3)
                throw new ResultsStoreException($"{full} is not a HilRig results store (no schema_version, runs and results tables); pass the store `hilrig screen` writes (results.path in the rig config)");
            version = db.ExecuteScalar<long?>("SELECT MAX(version) FROM schema_version") ?? 0;
        }
        catch (SqliteException e)
        {
            throw new ResultsStoreException($"{full} is not a HilRig results store: {e.Message}", e);
        }
        if (version > ResultsStore.LatestSchemaVersion)
            throw new ResultsStoreException(
                $"results store {full} has schema version {version}, newer than this hilrig understands ({ResultsStore.LatestSchemaVersion}); update hilrig or use another store");
        if (version < ResultsStore.LatestSchemaVersion)
            ResultsStore.Open(full);
        return new ResultsQueries(() => new SqliteConnection(connectionString), connectionString);
    }

    /// <summary>Queries over any connection to a store already at the latest schema (PostgreSQL for a fleet).</summary>
    public static ResultsQueries Over(Func<IDbConnection> connect) => new(connect ?? throw new ArgumentNullException(nameof(connect)));

    private IDbConnection Open()
    {
        if (_scope.Value is { } shared)
        {
            if (shared.State != ConnectionState.Open) shared.Open();
            return shared;
        }
        var db = _connect();
        db.Open();
        return db;
    }

    /// <summary>Units with a verdict and failed units per lot, lot order. Lots with no judged unit are left out.</summary>
    public IReadOnlyList<GroupCount> LotCounts()
    {
        using var db = Open();
        return db.Query<CountRow>("SELECT lot AS Name, units AS Units, failed AS Failed FROM lot_counts WHERE units > 0 ORDER BY lot")
            .Select(r => new GroupCount(r.Name, (int)r.Failed, (int)r.Units))
            .OrderBy(g => g.Name, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>Every lot with intervals and p-chart flag; flagged lots first, then by failure rate, then name.</summary>
    public LotsView Lots(double? targetUpper = null) => Lots(targetUpper, withYields: true);

    /// <summary>
    /// <see cref="Lots(double?)"/>; without <paramref name="withYields"/> the store-wide screening yields are left out (one
    /// lot's page needs its rate only, and the yields read every screening attempt a rig ever logged).
    /// </summary>
    private LotsView Lots(double? targetUpper, bool withYields)
    {
        var counts = LotCounts();
        var yields = withYields ? ScreeningYields() : null;
        if (counts.Count == 0)
            return new LotsView(0, 0, 0, []) { Yields = yields };
        var rates = LotReport.Build(counts, targetUpper: targetUpper);
        var ordered = rates
            .OrderByDescending(r => r.Flagged)
            .ThenByDescending(r => r.PChart.Rate)
            .ThenBy(r => r.Lot, StringComparer.Ordinal)
            .ToList();
        return new LotsView(rates[0].PChart.Centre, counts.Sum(c => c.Units), counts.Sum(c => c.Failed), ordered) { Yields = yields };
    }

    /// <summary>First-pass and final yield of the screening attempts (<see cref="Yield.Screening"/>); null when there are none (or no such table: a fleet database).</summary>
    public ScreeningYield? ScreeningYields()
    {
        using var db = Open();
        try
        {
            var rows = db.Query<AttemptYieldRow>("SELECT device_id AS DeviceId, verdict AS Verdict, confirmation AS Confirmation, at AS At FROM screen_attempts").ToList();
            if (rows.Count == 0) return null;
            return Yield.Screening(rows.Select(r => new ScreenAttempt(Guid.Empty, Guid.Empty, "", r.DeviceId, null, 0, VerdictNames.Parse(r.Verdict),
                FailureKind.None, null, Confirmations.Parse(r.Confirmation), DateTimeOffset.Parse(r.At, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal))));
        }
        catch (System.Data.Common.DbException)
        {
            return null;
        }
    }

    private sealed class AttemptYieldRow
    {
        public string DeviceId { get; set; } = "";
        public string Verdict { get; set; } = "";
        public string Confirmation { get; set; } = "";
        public string At { get; set; } = "";
    }

    /// <summary>One lot: its rate against the fleet, yields, failure modes, signatures and devices; null for an unknown lot.</summary>
    public LotDetail? Lot(string lot, int devicesShown = 200)
    {
        ArgumentNullException.ThrowIfNull(lot);
        var rate = Lots(null, withYields: false).Lots.FirstOrDefault(l => l.Lot == lot);
        if (rate is null)
            return null;
        using var db = Open();
        // A rig's SQLite store keeps its failures per device, day, rig, mode and signature with their bit-error totals
        // (store step 12), so its lot page parses no evidence: a row per kind of failure a device had.
        // A fleet keeps each lot's failing results (lot_failures) with their modes, signatures and bit-error totals (fleet
        // step 8): the page counts them where they are; before step 8 it read the lot's failing results, not every result.
        // From step 10 it keeps their counts per lot, mode, signature and kind as it ingests, and the page reads those.
        var fleet = IsFleet(db);
        var (breakdown, signatures) = IsSqlite(db)
            ? StoredFailures(db, lot, ResultFilter.None)
            : fleet && FleetKeepsFailureRollups(db)
            ? FleetFailureRollups(db, lot)
            : fleet && FleetKeepsFailureDetail(db)
            ? FleetFailures(db, lot)
            : ReadFailures(db, lot, keepsFailures: fleet && db.ExecuteScalar<bool>("SELECT to_regclass('lot_failures') IS NOT NULL"));

        // Yield's rule counted where the rows are, so only three numbers travel: per device and test the first and the
        // last attempt in time order (attempt numbers as the reports number them), a device passing when each of its
        // tests' first (or last) attempt passed. A fleet database keeps the three per lot as it ingests; a rig's SQLite
        // store keeps each device's first and last attempt per test (store step 12), a row per device and test.
        var yields = IsFleet(db)
            ? db.QuerySingle<YieldRow>("SELECT devices AS Devices, first_passed AS FirstPassed, final_passed AS FinalPassed FROM lot_counts WHERE lot = @lot", new { lot })
            : IsSqlite(db)
            // store step 16 keeps them per lot (each unit's two flags from unit_test_ends, summed): one row, not a
            // look-up of every device's first and last attempts (25,000 devices, 48 ms CPU at 10 M results)
            ? db.QuerySingleOrDefault<YieldRow>(
                "SELECT devices AS Devices, first_passed AS FirstPassed, final_passed AS FinalPassed FROM lot_yields WHERE lot = @lot", new { lot })
              ?? new YieldRow()
            : db.QuerySingle<YieldRow>(
            """
            SELECT COUNT(*) AS Devices, COALESCE(SUM(first_ok), 0) AS FirstPassed, COALESCE(SUM(final_ok), 0) AS FinalPassed FROM (
                SELECT device_id, MIN(CASE WHEN rn = 1 THEN ok END) AS first_ok, MIN(CASE WHEN rn = n THEN ok END) AS final_ok
                FROM (SELECT r.device_id, CASE WHEN r.verdict = 'pass' THEN 1 ELSE 0 END AS ok,
                             ROW_NUMBER() OVER (PARTITION BY r.device_id, r.test ORDER BY r.started_at, r.attempt) AS rn,
                             COUNT(*) OVER (PARTITION BY r.device_id, r.test) AS n
                      FROM units u JOIN results r ON r.device_id = u.device_id
                      WHERE u.lot = @lot AND r.cycle IS NULL) a
                GROUP BY device_id) d
            """, new { lot });

        // Failed and passed devices each read in order from ix_units_lot (lot, failed, device_id), the shown ones only,
        // rather than every device of the lot sorted.
        var devices = db.Query<DeviceRow>(
            """
            SELECT u.device_id AS DeviceId, u.failed AS Failed, u.judged AS Judged, d.date_code AS DateCode, d.supplier AS Supplier,
                   (SELECT r.signature FROM results r WHERE r.device_id = u.device_id AND r.cycle IS NULL
                    ORDER BY r.started_at DESC, r.attempt DESC LIMIT 1) AS LastSignature
            FROM (SELECT * FROM (SELECT device_id, failed, judged FROM units WHERE lot = @lot AND failed = 1 ORDER BY device_id LIMIT @limit) f
                  UNION ALL
                  SELECT * FROM (SELECT device_id, failed, judged FROM units WHERE lot = @lot AND failed = 0 ORDER BY device_id LIMIT @limit) p) u
            LEFT JOIN devices d ON d.device_id = u.device_id
            ORDER BY u.failed DESC, u.device_id
            LIMIT @limit
            """, new { lot, limit = devicesShown })
            .Select(d => new LotDevice(d.DeviceId, d.Failed != 0, d.Judged != 0, d.DateCode, d.Supplier, d.LastSignature))
            .ToList();
        var inLot = IsFleet(db)
            ? yields.Devices
            : db.ExecuteScalar<long>("SELECT COUNT(*) FROM units WHERE lot = @lot", new { lot });

        return new LotDetail(rate, new YieldResult((int)yields.FirstPassed, (int)yields.Devices), new YieldResult((int)yields.FinalPassed, (int)yields.Devices),
            breakdown, signatures, (int)inLot, devices);
    }

    /// <summary>A lot's failures read row by row with their evidence (a rig's store on PostgreSQL; a fleet before step 8) and counted here.</summary>
    private static (LotFailureBreakdown, LotSignatures) ReadFailures(IDbConnection db, string lot, bool keepsFailures)
    {
        var failures = db.Query<FailureRow>(keepsFailures
            ? """
              SELECT r.device_id AS DeviceId, r.failure_mode AS FailureMode, r.signature AS Signature, r.evidence_json AS EvidenceJson
              FROM lot_failures f JOIN results r ON r.id = f.result_id
              WHERE f.lot = @lot AND EXISTS (SELECT 1 FROM units u WHERE u.device_id = f.device_id)
              """
            : """
              SELECT r.device_id AS DeviceId, r.failure_mode AS FailureMode, r.signature AS Signature, r.evidence_json AS EvidenceJson
              FROM units u JOIN results r ON r.device_id = u.device_id
              WHERE u.lot = @lot AND r.verdict = 'fail'
              """, new { lot }).ToList();
        return Count(lot, failures.Select(FailureGroup.Read));
    }

    /// <summary>
    /// A rig's SQLite store (step 12): the lot's failures per device, day, rig, mode and signature with their bit-error
    /// totals, over the days and rig a whole-day <paramref name="filter"/> keeps (every day when empty), from
    /// device_failure_days. Not grouped per device, mode and signature in SQL: <see cref="Count"/> counts failures and
    /// distinct devices whichever way a device's failures are split, and the sort that grouping needs cost a flagged lot
    /// (10,400 rows at 10 M results) about 30 ms CPU of the page's 150.
    /// </summary>
    private static (LotFailureBreakdown, LotSignatures) StoredFailures(IDbConnection db, string lot, ResultFilter filter)
    {
        var (cond, args) = filter.DayConditions("f.day", "f.rig_id");
        args.Add("lot", lot);
        var groups = db.Query<FailureGroupRow>(
            $"""
            SELECT f.device_id AS DeviceId, NULLIF(f.failure_mode, '') AS FailureMode, NULLIF(f.signature, '') AS Signature, f.failures AS Failures,
                   f.stuck_at_0 AS StuckAt0, f.stuck_at_1 AS StuckAt1, f.bit_0 AS Bit0, f.bit_1 AS Bit1, f.bit_2 AS Bit2,
                   f.bit_3 AS Bit3, f.bit_4 AS Bit4, f.bit_5 AS Bit5, f.bit_6 AS Bit6, f.bit_7 AS Bit7
            FROM units u JOIN device_failure_days f ON f.device_id = u.device_id
            WHERE u.lot = @lot{cond}
            """, args)
            .Select(g => new FailureGroup(g.DeviceId, g.FailureMode, g.Signature, g.Failures, g.StuckAt0, g.StuckAt1,
                [g.Bit0, g.Bit1, g.Bit2, g.Bit3, g.Bit4, g.Bit5, g.Bit6, g.Bit7]));
        return Count(lot, groups);
    }

    /// <summary>
    /// Failed results of one device with one mode and signature (one result, or a summary row of several), and the
    /// stuck-at and bit-position totals of their readbacks' bit-error maps.
    /// </summary>
    private sealed record FailureGroup(string DeviceId, string? FailureMode, string? Signature, long Failures, long StuckAt0, long StuckAt1, long[] Bits)
    {
        /// <summary>One failed result, its bit errors read from its evidence (none without a bit-error map, or not evidence at all).</summary>
        public static FailureGroup Read(FailureRow f)
        {
            var bits = new long[8];
            if (EvidenceJson.Read(f.EvidenceJson)?.Readback?.BitErrors is not { } map)
                return new FailureGroup(f.DeviceId, f.FailureMode, f.Signature, 1, 0, 0, bits);
            for (var i = 0; i < Math.Min(8, map.ByBitPosition?.Length ?? 0); i++)
                bits[i] = map.ByBitPosition![i];
            return new FailureGroup(f.DeviceId, f.FailureMode, f.Signature, 1, map.StuckAt0, map.StuckAt1, bits);
        }
    }

    /// <summary>A lot's failure modes and signatures (<see cref="Breakdown.FailureModesByLot"/>), defect kinds and bit-error totals.</summary>
    private static (LotFailureBreakdown, LotSignatures) Count(string lot, IEnumerable<FailureGroup> failures)
    {
        var groups = failures.ToList();
        var breakdown = Breakdown.FailureModesByLot(groups.SelectMany(g => Enumerable.Repeat(new ResultRow(
            g.DeviceId, lot, 0, "", 1, Verdict.Fail, g.FailureMode, g.Signature, null, null, default), (int)g.Failures))).SingleOrDefault()
            ?? new LotFailureBreakdown(lot, [], []);
        return (breakdown, Signatures(groups));
    }

    private static bool FleetKeepsFailureRollups(IDbConnection db) => db.ExecuteScalar<bool>("SELECT to_regclass('rollup_lot_failures') IS NOT NULL");

    /// <summary>
    /// A fleet lot's failures as the ingest counted them (fleet step 10): failures and distinct devices per mode, signature
    /// and defect kind, and the bit-error totals, of the lot's screened devices; a few dozen rows, however many failures.
    /// </summary>
    private static (LotFailureBreakdown, LotSignatures) FleetFailureRollups(IDbConnection db, string lot)
    {
        var rows = db.Query<FleetFailureRow>(
            """
            SELECT part AS Part, name AS Name, failures AS Failures, devices AS Devices, NULL::bigint[] AS Totals
            FROM rollup_lot_failures WHERE lot = @lot AND failures > 0
            UNION ALL
            SELECT 'bits', '', 0, 0, array_agg(total ORDER BY position) FROM rollup_lot_bit_errors WHERE lot = @lot
            """, new { lot }).ToList();
        return FailureParts(lot, rows);
    }

    private static bool FleetKeepsFailureDetail(IDbConnection db) =>
        db.ExecuteScalar<long>("SELECT COUNT(*) FROM pg_attribute WHERE attrelid = to_regclass('lot_failures') AND attname = 'bit_errors'") > 0;

    /// <summary>
    /// A fleet lot's failures counted by the server from lot_failures, by the rules of <see cref="Breakdown.FailureModesByLot"/>
    /// and <see cref="Signatures"/> (failing results of the lot's screened devices; failed attempts and distinct devices per
    /// mode, signature and defect kind; bit-error totals): a few dozen rows travel, however many failures the lot has.
    /// </summary>
    /// <param name="filter">On a fleet at step 13, only the failures it keeps (each carries its start and run); none: all.</param>
    private static (LotFailureBreakdown, LotSignatures) FleetFailures(IDbConnection db, string lot, ResultFilter? filter = null)
    {
        var (cond, args) = (filter ?? ResultFilter.None).Conditions("f.started_at");
        args.Add("lot", lot);
        var runs = filter?.Rig is not null || filter?.Line is not null ? " JOIN runs ru ON ru.id = f.run_id" : "";
        // Dates alone that keep every screened failure of the lot (none left out by the filter's own condition, a failure
        // without a start among those left out): the lot's failures are the unfiltered page's, as the ingest counted them
        // (rollup_lot_failures). Checked from ix_lot_failures_lot (50,000 entries of the flagged lot at 10 M results, about
        // 10 ms, stopping at the first left out) instead of grouping them (about 100 ms over 7 days).
        if (filter is not null && runs == "" && cond != "" && FleetKeepsFailureRollups(db)
            && !db.ExecuteScalar<bool>($"SELECT EXISTS (SELECT 1 FROM lot_failures f WHERE f.lot = @lot AND f.screened AND (TRUE{cond}) IS NOT TRUE)", args))
            return FleetFailureRollups(db, lot);
        var rows = db.Query<FleetFailureRow>(
            $"""
            WITH f AS MATERIALIZED (
                SELECT f.device_id, COALESCE(f.failure_mode, '{Breakdown.Unclassified}') AS mode, COALESCE(f.signature, '{Breakdown.Unclassified}') AS sig,
                       {DefectKinds.Sql("f.failure_mode", "f.signature")} AS kind, f.bit_errors
                FROM lot_failures f{runs}
                WHERE f.lot = @lot AND f.screened{cond}),
            -- distinct devices counted in two hashed steps, not COUNT(DISTINCT) (a sort per part, spilling at 50,000 failures)
            by_mode AS (SELECT mode AS name, device_id, COUNT(*) AS n FROM f GROUP BY 1, 2),
            by_sig AS (SELECT sig AS name, device_id, COUNT(*) AS n FROM f GROUP BY 1, 2),
            by_kind AS (SELECT kind AS name, device_id, COUNT(*) AS n FROM f GROUP BY 1, 2)
            SELECT 'mode' AS Part, name AS Name, SUM(n)::bigint AS Failures, COUNT(*) AS Devices, NULL::bigint[] AS Totals FROM by_mode GROUP BY name
            UNION ALL
            SELECT 'signature', name, SUM(n)::bigint, COUNT(*), NULL FROM by_sig GROUP BY name
            UNION ALL
            SELECT 'kind', name, SUM(n)::bigint, COUNT(*), NULL FROM by_kind GROUP BY name
            UNION ALL
            SELECT 'bits', '', 0, 0, ARRAY[{string.Join(", ", Enumerable.Range(1, 10).Select(i => $"COALESCE(SUM(bit_errors[{i}]), 0)::bigint"))}] FROM f
            """, args).ToList();
        return FailureParts(lot, rows);
    }

    private static (LotFailureBreakdown, LotSignatures) FailureParts(string lot, List<FleetFailureRow> rows)
    {
        IReadOnlyList<CategoryCount> Part(string part) => rows.Where(r => r.Part == part)
            .Select(r => new CategoryCount(r.Name, (int)r.Failures, (int)r.Devices))
            .OrderByDescending(c => c.Failures).ThenBy(c => c.Name, StringComparer.Ordinal).ToList();
        var modes = Part("mode");
        var totals = rows.SingleOrDefault(r => r.Part == "bits")?.Totals is { Length: 10 } t ? t : new long[10];
        var breakdown = modes.Count == 0 ? new LotFailureBreakdown(lot, [], []) : new LotFailureBreakdown(lot, modes, Part("signature"));
        return (breakdown, new LotSignatures(totals[0], totals[1], totals[2..], Part("kind")));
    }

    private sealed class FleetFailureRow
    {
        public string Part { get; set; } = "";
        public string Name { get; set; } = "";
        public long Failures { get; set; }
        public long Devices { get; set; }
        public long[]? Totals { get; set; }
    }

    /// <summary>Failure modes and signatures per lot (DUT failures only), lot order.</summary>
    public IReadOnlyList<LotFailureBreakdown> Modes()
    {
        using var db = Open();
        if (IsSqlite(db))
            return StoredModes(db, "SELECT lot, part, name, failures, devices FROM lot_failure_counts ORDER BY lot, part, name");
        if (HasLotFailureRollups(db))
            return StoredModes(db, FleetModeCounts);
        var rows = db.Query<FailureRow>(
            """
            SELECT r.device_id AS DeviceId, COALESCE(u.lot, d.lot, '(unknown)') AS Lot, r.failure_mode AS FailureMode, r.signature AS Signature
            FROM results r LEFT JOIN units u ON u.device_id = r.device_id LEFT JOIN devices d ON d.device_id = r.device_id
            WHERE r.verdict = 'fail'
            """);
        return Breakdown.FailureModesByLot(rows.Select(f => new ResultRow(
            f.DeviceId, f.Lot, 0, "", 1, Verdict.Fail, f.FailureMode, f.Signature, null, null, default)));
    }

    /// <summary>
    /// A rig's store keeps the modes page's counts (store step 15): per lot, failure mode and signature the failed results
    /// and distinct devices, by <see cref="Breakdown.FailureModesByLot"/>'s rules (a device's lot from units, else devices),
    /// kept exact by triggers as failures arrive and as devices move lots. The page reads those rows (about 37,000 at 10 M
    /// results, nearly all signatures) in key order, a lot's rows together.
    /// </summary>
    private static IReadOnlyList<LotFailureBreakdown> StoredModes(IDbConnection db, string sql)
    {
        var lots = new List<LotFailureBreakdown>();
        string? lot = null;
        List<CategoryCount> modes = [], signatures = [];
        void Close()
        {
            if (lot is null) return;
            static List<CategoryCount> Ordered(List<CategoryCount> part) =>
                [.. part.OrderByDescending(c => c.Failures).ThenBy(c => c.Name, StringComparer.Ordinal)];
            lots.Add(new LotFailureBreakdown(lot, Ordered(modes), Ordered(signatures)));
            (modes, signatures) = ([], []);
        }
        using (var reader = db.ExecuteReader(sql))
        {
            while (reader.Read())
            {
                var rowLot = reader.GetString(0);
                if (rowLot != lot)
                {
                    Close();
                    lot = rowLot;
                }
                var count = new CategoryCount(reader.GetString(2), reader.GetInt32(3), reader.GetInt32(4));
                (reader.GetString(1) == "mode" ? modes : signatures).Add(count);
            }
        }
        Close();
        // lot order as the rest of the reports have it (ordinal), whatever the store's collation
        return [.. lots.OrderBy(l => l.Lot, StringComparer.Ordinal)];
    }

    /// <summary>True on a fleet at step 10 or later (the ingest keeps each lot's screened failures per mode and signature).</summary>
    private static bool HasLotFailureRollups(IDbConnection db) =>
        !IsSqlite(db) && db.ExecuteScalar<string?>("SELECT to_regclass('rollup_lot_failures')::text") is not null;

    /// <summary>
    /// The modes page's rows on a fleet (<see cref="StoredModes"/>'s columns and order): a lot's screened devices'
    /// failures per mode and signature as the ingest keeps them (rollup_lot_failures; the page grouped every failed result,
    /// 1.7-2.8 s at 10 M), and the few failures of devices not screened yet (soak only) counted from lot_failures. A device
    /// is screened or not in all its failures, so the two parts' devices never overlap.
    /// </summary>
    private const string FleetModeCounts =
        $"""
        SELECT lot, part, name, SUM(failures)::int AS failures, SUM(devices)::int AS devices FROM (
            SELECT lot, part, name, failures, devices FROM rollup_lot_failures WHERE part IN ('mode', 'signature') AND failures > 0
            UNION ALL
            SELECT f.lot, p.part, p.name, COUNT(*), COUNT(DISTINCT f.device_id) FROM lot_failures f
            CROSS JOIN LATERAL (VALUES ('mode', COALESCE(f.failure_mode, '{Breakdown.Unclassified}')), ('signature', COALESCE(f.signature, '{Breakdown.Unclassified}'))) p(part, name)
            WHERE NOT f.screened GROUP BY 1, 2, 3) x
        GROUP BY lot, part, name ORDER BY lot, part, name
        """;

    /// <summary>Slot health (failed distinct devices per slot on a p-chart of the slots), slot order.</summary>
    public IReadOnlyList<SlotHealth> Slots()
    {
        using var db = Open();
        // A rig's store counts each slot's devices as results are added (store step 11); a fleet
        // (step 10) keeps each slot's distinct and failed devices as it ingests.
        var fleetSlots = !IsSqlite(db) && db.ExecuteScalar<bool>("SELECT to_regclass('rollup_slots') IS NOT NULL");
        var counts = db.Query<SlotRow>(IsSqlite(db)
            ? "SELECT slot AS Slot, devices AS Devices, failed_devices AS FailedDevices FROM slot_counts ORDER BY slot"
            : fleetSlots
            ? "SELECT slot AS Slot, devices AS Devices, failed_devices AS FailedDevices FROM rollup_slots WHERE devices > 0 ORDER BY slot"
            : """
              SELECT slot AS Slot, COUNT(DISTINCT device_id) AS Devices,
                     COUNT(DISTINCT CASE WHEN verdict <> 'pass' THEN device_id END) AS FailedDevices
              FROM results GROUP BY slot ORDER BY slot
              """).Select(s => ((int)s.Slot, (int)s.FailedDevices, (int)s.Devices)).ToList();
        return counts.Count == 0 ? [] : Breakdown.SlotHealthFromCounts(counts);
    }

    /// <summary>
    /// Soak failures per 1,000 cycles by bootloader build, in the order the builds' first soak runs started. Counted
    /// per run over the covering partial index of soak rows, then per build, so no soak row is read from the table.
    /// </summary>
    public SoakView Soak()
    {
        using var db = Open();
        // the soak engine's rule (SoakRunner.CountsForRate, JudgesCycle): cycles are judged OTAs, failures failed OTAs and factory resets
        var builds = db.Query<SoakRow>(
            $"""
            SELECT ru.bootloader AS Bootloader, MIN(ru.started_at) AS First, SUM(x.Cycles) AS Cycles, SUM(x.Failures) AS Failures
            FROM ({SoakCountsPerRun(IsSqlite(db))}) x
            JOIN runs ru ON ru.id = x.RunId
            WHERE ru.bootloader IS NOT NULL AND ru.status <> 'interrupted'
            GROUP BY ru.bootloader
            """)
            .OrderBy(b => b.First, StringComparer.Ordinal)
            .ThenBy(b => b.Bootloader, StringComparer.Ordinal)
            .Select(b => new BootloaderSoak(b.Bootloader, b.Cycles, (int)b.Failures, PoissonRate.PerThousandCycles((int)b.Failures, b.Cycles)))
            .ToList();
        var comparison = builds.Count >= 2 ? SoakTrends.Compare(builds[^1], builds[^2]) : null;
        return new SoakView(builds, comparison);
    }

    /// <summary>
    /// Soak cycles and failures per run (RunId, Cycles, Failures), by the soak engine's rule; a rig's store counts them from
    /// its per run and test summary (store step 11), a fleet database from its soak rows.
    /// </summary>
    private static string SoakCountsPerRun(bool sqlite) => sqlite
        ? $"""
          SELECT run_id AS RunId, SUM(CASE WHEN test IN ('{SoakRunner.OtaTest}', '{SoakRunner.CycleTest}') THEN results ELSE 0 END) AS Cycles,
                 SUM(CASE WHEN verdict = 'fail' THEN results ELSE 0 END) AS Failures
          FROM run_tests WHERE cycled = 1 AND verdict IN ('pass', 'fail')
            AND test IN ('{SoakRunner.OtaTest}', '{SoakRunner.FactoryResetTest}', '{SoakRunner.CycleTest}')
          GROUP BY run_id
          """
        : $"""
          SELECT run_id AS RunId, SUM(CASE WHEN test IN ('{SoakRunner.OtaTest}', '{SoakRunner.CycleTest}') THEN 1 ELSE 0 END) AS Cycles,
                 SUM(CASE WHEN verdict = 'fail' THEN 1 ELSE 0 END) AS Failures
          FROM results WHERE cycle IS NOT NULL AND verdict IN ('pass', 'fail')
            AND test IN ('{SoakRunner.OtaTest}', '{SoakRunner.FactoryResetTest}', '{SoakRunner.CycleTest}')
          GROUP BY run_id
          """;

    /// <summary>Every attempt of one device, oldest first, with its evidence; null for a device the store has never seen.</summary>
    public DeviceView? Device(string deviceId)
    {
        ArgumentNullException.ThrowIfNull(deviceId);
        var id = deviceId.ToLowerInvariant();
        using var db = Open();
        var device = db.QuerySingleOrDefault<DeviceRow>(
            "SELECT device_id AS DeviceId, lot AS Lot, date_code AS DateCode, supplier AS Supplier FROM devices WHERE device_id = @id", new { id });
        var attempts = ReadRows(db, "WHERE r.device_id = @id", new { id })
            .OrderBy(a => a.Row.RecordedAt).ThenBy(a => a.Row.Test, StringComparer.Ordinal).ThenBy(a => a.Row.Attempt).ThenBy(a => a.Row.Cycle ?? 0)
            .ToList();
        if (device is null && attempts.Count == 0)
            return null;
        return new DeviceView(id, device?.Lot ?? "(unknown)", device?.DateCode, device?.Supplier, attempts);
    }

    /// <summary>
    /// Every result as a <see cref="ResultRow"/> (for the statistics functions or an export). Attempt numbers count
    /// per device, test and cycle across runs in time order, the way the reports read them.
    /// </summary>
    public IReadOnlyList<ResultRow> Rows()
    {
        using var db = Open();
        return ReadRows(db, "", null).Select(a => a.Row).ToList();
    }

    private static IEnumerable<DeviceAttempt> ReadRows(IDbConnection db, string where, object? args) =>
        db.Query<FullRow>(
            $"""
            SELECT r.device_id AS DeviceId, COALESCE(d.lot, '(unknown)') AS Lot, r.slot AS Slot, r.test AS Test,
                   ROW_NUMBER() OVER (PARTITION BY r.device_id, r.test, r.cycle ORDER BY r.started_at, r.attempt) AS Attempt,
                   r.verdict AS Verdict, r.failure_mode AS FailureMode, r.signature AS Signature,
                   CASE WHEN r.cycle IS NULL THEN NULL ELSE ru.bootloader END AS Bootloader, r.cycle AS Cycle,
                   r.ended_at AS EndedAt, r.run_id AS RunId, ru.kind AS Kind, r.device_time_ms AS DeviceTimeMs, r.evidence_json AS EvidenceJson
            FROM results r JOIN runs ru ON ru.id = r.run_id LEFT JOIN devices d ON d.device_id = r.device_id
            {where}
            """, args)
            .Select(f => new DeviceAttempt(
                new ResultRow(f.DeviceId, f.Lot, (int)f.Slot, f.Test, (int)f.Attempt, VerdictNames.Parse(f.Verdict), f.FailureMode, f.Signature,
                    f.Bootloader, (int?)f.Cycle, DateTimeOffset.Parse(f.EndedAt, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal)),
                Guid.Parse(f.RunId), f.Kind, f.DeviceTimeMs, f.EvidenceJson));

    /// <summary>Defect kinds from signature text, and stuck-at totals and bit positions from the bit-error maps in the evidence.</summary>
    private static LotSignatures Signatures(IReadOnlyList<FailureGroup> failures)
    {
        long at0 = 0, at1 = 0;
        var bits = new long[8];
        var kinds = new Dictionary<string, (int Failures, HashSet<string> Devices)>(StringComparer.Ordinal);
        foreach (var f in failures)
        {
            var kind = DefectKinds.Of(f.FailureMode, f.Signature);
            if (!kinds.TryGetValue(kind, out var k))
                kinds[kind] = k = (0, new HashSet<string>(StringComparer.Ordinal));
            k.Devices.Add(f.DeviceId);
            kinds[kind] = (k.Failures + (int)f.Failures, k.Devices);
            // evidence without a bit-error map (or not evidence at all) still counts by its signature
            at0 += f.StuckAt0;
            at1 += f.StuckAt1;
            for (var i = 0; i < 8; i++)
                bits[i] += f.Bits[i];
        }
        var counts = kinds.Select(kv => new CategoryCount(kv.Key, kv.Value.Failures, kv.Value.Devices.Count))
            .OrderByDescending(c => c.Failures).ThenBy(c => c.Name, StringComparer.Ordinal).ToList();
        return new LotSignatures(at0, at1, bits, counts);
    }

    // Dapper row shapes: SQLite hands back 64-bit integers and TEXT.
    private sealed class CountRow
    {
        public string Name { get; set; } = "";
        public long Units { get; set; }
        public long Failed { get; set; }
    }

    private sealed class FailureRow
    {
        public string DeviceId { get; set; } = "";
        public string Lot { get; set; } = "";
        public string? FailureMode { get; set; }
        public string? Signature { get; set; }
        public string? EvidenceJson { get; set; }

        /// <summary>How many failed results the row stands for (a summary row counts several).</summary>
        public long Failures { get; set; } = 1;
    }

    private sealed class FailureGroupRow
    {
        public string DeviceId { get; set; } = "";
        public string? FailureMode { get; set; }
        public string? Signature { get; set; }
        public long Failures { get; set; }
        public long StuckAt0 { get; set; }
        public long StuckAt1 { get; set; }
        public long Bit0 { get; set; }
        public long Bit1 { get; set; }
        public long Bit2 { get; set; }
        public long Bit3 { get; set; }
        public long Bit4 { get; set; }
        public long Bit5 { get; set; }
        public long Bit6 { get; set; }
        public long Bit7 { get; set; }
    }

    private sealed class YieldRow
    {
        public long Devices { get; set; }
        public long FirstPassed { get; set; }
        public long FinalPassed { get; set; }
    }

    private sealed class DeviceRow
    {
        public string DeviceId { get; set; } = "";
        public string Lot { get; set; } = "";
        public long Failed { get; set; }
        public long Judged { get; set; }
        public string? DateCode { get; set; }
        public string? Supplier { get; set; }
        public string? LastSignature { get; set; }
    }

    private sealed class SlotRow
    {
        public long Slot { get; set; }
        public long Devices { get; set; }
        public long FailedDevices { get; set; }
    }

    private sealed class SoakRow
    {
        public string Bootloader { get; set; } = "";
        public string First { get; set; } = "";
        public long Cycles { get; set; }
        public long Failures { get; set; }
    }

    private sealed class FullRow
    {
        public string DeviceId { get; set; } = "";
        public string Lot { get; set; } = "";
        public long Slot { get; set; }
        public string Test { get; set; } = "";
        public long Attempt { get; set; }
        public string Verdict { get; set; } = "";
        public string? FailureMode { get; set; }
        public string? Signature { get; set; }
        public string? Bootloader { get; set; }
        public long? Cycle { get; set; }
        public string EndedAt { get; set; } = "";
        public string RunId { get; set; } = "";
        public string Kind { get; set; } = "";
        public long? DeviceTimeMs { get; set; }
        public string? EvidenceJson { get; set; }
    }
}

/// <summary>What kind of defect a failure signature describes, for the per-lot breakdown.</summary>
public static class DefectKinds
{
    public const string StuckBits = "stuck bits";
    public const string EraseFailure = "erase failure";
    public const string FlashHung = "flash hung (BUSY never clears)";
    public const string NothingPrograms = "no cell programs (dead or write-protected)";
    public const string StuckInDfu = "stuck in DFU";
    public const string Other = "other";

    /// <summary>Reads the kind from the signature text the readback writes (see BitErrorMap.Signature).</summary>
    public static string Of(string? failureMode, string? signature)
    {
        if (failureMode == FailureModes.StuckInDfu) return StuckInDfu;
        if (signature is null) return Other;
        if (signature.StartsWith("erase failure", StringComparison.Ordinal)) return EraseFailure;
        if (signature.Contains("never finishes", StringComparison.Ordinal)) return FlashHung;
        if (signature.StartsWith("no cell programs", StringComparison.Ordinal)) return NothingPrograms;
        if (signature.Contains("stuck-at-", StringComparison.Ordinal)) return StuckBits;
        return Other;
    }

    /// <summary><see cref="Of"/> as a PostgreSQL expression over a failure-mode and a signature column (a fleet lot's page groups by it).</summary>
    public static string Sql(string failureMode, string signature) =>
        $"""
        CASE WHEN {failureMode} IS NOT DISTINCT FROM '{FailureModes.StuckInDfu}' THEN '{StuckInDfu}'
             WHEN {signature} IS NULL THEN '{Other}'
             WHEN left({signature}, 13) = 'erase failure' THEN '{EraseFailure}'
             WHEN strpos({signature}, 'never finishes') > 0 THEN '{FlashHung}'
             WHEN left({signature}, 16) = 'no cell programs' THEN '{NothingPrograms}'
             WHEN strpos({signature}, 'stuck-at-') > 0 THEN '{StuckBits}'
             ELSE '{Other}' END
        """;
}
