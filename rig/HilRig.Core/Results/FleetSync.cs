using System.Data;
using System.Net.Sockets;
using System.Reflection;
using Dapper;
using Npgsql;
using NpgsqlTypes;

namespace HilRig.Core.Results;

/// <summary>Why a sync stopped; each has its own exit code and none changes the rig's local data.</summary>
public enum SyncFailure
{
    /// <summary>The server could not be reached (down, wrong host or port, no network): try later.</summary>
    Unreachable,

    /// <summary>The connection broke in the middle of a batch: that batch was not committed; the next sync resends it.</summary>
    Lost,

    /// <summary>Wrong password or unknown role.</summary>
    Authentication,

    /// <summary>The rig's role may not do this (another rig's rows, a role that is not a registered rig).</summary>
    Permission,

    /// <summary>The central schema is not this code's: newer (update hilrig) or older (run hilrig fleet init), or no fleet at all.</summary>
    Schema,
}

public sealed class FleetSyncException : Exception
{
    public FleetSyncException()
    {
    }

    public FleetSyncException(string message)
        : base(message)
    {
    }

    public FleetSyncException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public FleetSyncException(SyncFailure failure, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Failure = failure;
    }

    public SyncFailure Failure { get; }
}

/// <summary>What one sync moved.</summary>
/// <param name="ResultsInserted">Rows new to the central store (a resent batch inserts none twice).</param>
/// <param name="ClockOffsetMs">Server clock minus the rig's, at the middle of the round trip.</param>
public sealed record SyncReport(
    string RigId,
    string Target,
    int Runs,
    int Devices,
    int Calibrations,
    long ResultsSent,
    long ResultsInserted,
    int Batches,
    double ClockOffsetMs,
    TimeSpan Elapsed)
{
    /// <summary>Slots whose health (good, suspect, quarantined, maintenance) the server took as newer than what it held.</summary>
    public int SlotHealth { get; init; }
}

/// <summary>How far behind the rig is, from its own store alone (works with the server unreachable, or none configured).</summary>
/// <param name="Target">The server the counts are against; null when the rig has no fleet connection configured, and then
/// the counts are against the furthest any server was sent (what the central side holds is unknown).</param>
public sealed record SyncStatus(string RigId, string? Target, long ResultsBehind, long ResultsSynced, DateTimeOffset? OldestBehind, DateTimeOffset? LastSync);

/// <summary>
/// Store-and-forward from a rig's SQLite store to the fleet's PostgreSQL. The rig's store stays the source of truth:
/// nothing local is changed except the sync's high-water mark (the results table's rowid, which only grows), and that
/// moves only after the central commit. Runs, devices and calibrations go first in one transaction; results follow in
/// batches, each one binary COPY into a temporary staging table and one call of the fleet's ingest function
/// (INSERT ... ON CONFLICT DO NOTHING, rollups from the rows actually inserted), one transaction per batch. A batch
/// cut off anywhere is either committed or not; either way sending it again is harmless.
/// </summary>
public sealed class FleetSync
{
    private readonly ResultsStore _local;
    private readonly string _connectionString;
    private readonly NpgsqlConnectionStringBuilder _target;
    private readonly string _rigId;
    private readonly string? _line;
    private readonly TimeProvider _time;

    public FleetSync(ResultsStore local, string connectionString, string rigId, string? line = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentException.ThrowIfNullOrEmpty(rigId);
        if (local.Dialect != StoreDialect.Sqlite)
            throw new ResultsStoreException($"sync forwards a rig's SQLite store; {local.Description} is not one");
        _local = local;
        try
        {
            _target = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException e)
        {
            throw new ResultsStoreException($"not a PostgreSQL connection string ({e.Message}); e.g. Host=127.0.0.1;Database=fleet;Username=hilrig_rig_01;Password=...", e);
        }
        // A batch's staging table (evidence included, tens of MB) stays in the session's own buffers between the statements
        // that read it instead of spilling to temporary files (8 MB by default).
        _connectionString = new NpgsqlConnectionStringBuilder(_target.ConnectionString)
        {
            Options = $"{_target.Options} -c temp_buffers=256MB".Trim(),
        }.ConnectionString;
        _rigId = rigId;
        _line = line;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Results per COPY and transaction.</summary>
    public int BatchSize { get; init; } = 50_000;

    /// <summary>Called after a batch is staged and ingested, before its commit (tests cut the connection here).</summary>
    internal Action<NpgsqlConnection>? BeforeCommit { get; init; }

    /// <summary>The server, as messages and the high-water mark name it (no user, no password).</summary>
    public string Target => $"{_target.Host}:{_target.Port}/{_target.Database}";

    public static string SoftwareVersion { get; } =
        typeof(FleetSync).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    /// <summary>Forwards everything not yet forwarded.</summary>
    /// <exception cref="FleetSyncException">The server, the login, the rig's rights or the schema stopped it (local data untouched).</exception>
    public SyncReport Sync(CancellationToken cancellationToken = default)
    {
        var started = _time.GetTimestamp();
        var connected = false;
        var devicesSaved = Task.CompletedTask;
        try
        {
            using var central = new NpgsqlConnection(_connectionString);
            central.Open();
            connected = true;
            CheckSchema(central);

            // The rowid bound first: every result at or below it was committed after its run, so the runs read next
            // include all of theirs (results reference runs on the server too). The first batch is read from SQLite at
            // once, while the runs and devices are read and sent.
            long bound;
            long mark;
            using (var db = _local.OpenConnection())
            {
                EnsureSyncState(db);
                mark = Mark(db);
                bound = db.ExecuteScalar<long>("SELECT COALESCE(MAX(rowid), 0) FROM results");
            }
            var next = mark < bound ? Task.Run(() => ReadBatch(mark, bound), cancellationToken) : Task.FromResult(new List<ResultStage>());
            Task<(int Runs, int Devices, int Calibrations, int SlotHealth)> metaSent;
            double offset;
            try
            {
                offset = ClockOffset(central);
                var (runs, devices, calibrations, health) = ReadMeta();
                // Runs and devices go on a connection of their own while this one stages the first batch of results (COPY:
                // the rig's serialising and the server's parsing), so on two cores that work hides behind the devices'
                // ingest. The batch's ingest waits for their commit; the devices committed are remembered while results go.
                metaSent = Task.Run(() =>
                {
                    using var meta = new NpgsqlConnection(_connectionString);
                    meta.Open();
                    return SendMeta(meta, runs, devices, calibrations, health, offset);
                }, CancellationToken.None);
                devicesSaved = metaSent.ContinueWith(t =>
                {
                    // a failure of the runs and devices is the batch's to report (SendResults waits for them)
                    if (t.IsCompletedSuccessfully)
                        SaveDevicesSent(devices);
                    else
                        _ = t.Exception;
                }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            }
            catch
            {
                Abandon(next);
                throw;
            }

            // The next batch is read while the server ingests this one; the mark still moves only after each batch's
            // central commit, in order.
            long sent = 0, inserted = 0;
            var batches = 0;
            var rows = next.GetAwaiter().GetResult();
            while (rows.Count > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var last = rows[^1].RowId;
                next = last < bound ? Task.Run(() => ReadBatch(last, bound), cancellationToken) : Task.FromResult(new List<ResultStage>());
                try
                {
                    inserted += SendResults(central, rows, metaSent);
                }
                catch
                {
                    Abandon(next);
                    throw;
                }
                batches++;
                sent += rows.Count;
                mark = last;
                // One writer at a time on the rig's store: a first sync's devices can take longer than its busy timeout.
                devicesSaved.GetAwaiter().GetResult();
                SaveMark(mark);
                rows = next.GetAwaiter().GetResult();
            }
            var meta = metaSent.GetAwaiter().GetResult();
            devicesSaved.GetAwaiter().GetResult();
            if (mark < bound)
            {
                // Only other rigs' rows were left (a store copied from elsewhere): nothing of ours to send.
                SaveMark(bound);
            }
            return new SyncReport(_rigId, Target, meta.Runs, meta.Devices, meta.Calibrations, sent, inserted, batches, offset,
                _time.GetElapsedTime(started)) { SlotHealth = meta.SlotHealth };
        }
        catch (Exception e) when (e is NpgsqlException or SocketException or TimeoutException or IOException)
        {
            throw Classify(e, connected);
        }
        finally
        {
            // A failed sync returns only once its runs and devices are settled on the server and its store writes are done
            // (the caller may retry or exit at once); the failure reported is the sync's own.
            if (!devicesSaved.IsCompleted)
                Abandon(devicesSaved, wait: true);
        }
    }

    /// <summary>The rig's runs, the devices the server has not been sent as they are now, its calibrations and slot health.</summary>
    private (List<RunStage> Runs, List<DeviceStage> Devices, List<ResultsStore.CalibrationRow> Calibrations, List<SlotHealthStage> Health) ReadMeta()
    {
        using var db = _local.OpenConnection();
        var runs = db.Query<RunStage>(
            "SELECT id AS Id, rig_id AS RigId, config_hash AS ConfigHash, seed AS Seed, bootloader AS Bootloader, kind AS Kind, started_at AS StartedAt, ended_at AS EndedAt, status AS Status FROM runs WHERE rig_id = @rig",
            new { rig = _rigId }).AsList();
        // Only devices the server has not been sent as they are now: new ones, and ones whose lot, date code or
        // supplier changed since (an inventory import).
        var devices = db.Query<DeviceStage>(
            """
            SELECT d.device_id AS DeviceId, d.lot AS Lot, d.date_code AS DateCode, d.supplier AS Supplier, d.first_seen AS FirstSeen
            FROM devices d LEFT JOIN sync_devices s ON s.target = @target AND s.device_id = d.device_id
            WHERE s.device_id IS NULL OR s.lot IS NOT d.lot OR s.date_code IS NOT d.date_code OR s.supplier IS NOT d.supplier
            """, new { target = Target }).AsList();
        var calibrations = db.Query<ResultsStore.CalibrationRow>(
            """
            SELECT rig_id AS RigId, slot AS Slot, dark_r AS DarkR, dark_g AS DarkG, dark_b AS DarkB, dark_c AS DarkC, dark_noise_c AS DarkNoiseC,
                   gain AS Gain, integration_ms AS IntegrationMs, lit_c AS LitC, calibrated_at AS CalibratedAt
            FROM sensor_calibrations WHERE rig_id = @rig
            """, new { rig = _rigId }).AsList();
        // a rig has at most a few dozen slots: all of them every time, the server keeps the newest change
        var health = db.Query<SlotHealthStage>(
            "SELECT rig_id AS RigId, slot AS Slot, state AS State, reason AS Reason, since AS Since, changed_at AS ChangedAt FROM slot_health WHERE rig_id = @rig",
            new { rig = _rigId }).AsList();
        return (runs, devices, calibrations, health);
    }

    /// <summary>A background step nothing waits for any more: its outcome, or failure, is of no interest.</summary>
    private static void Abandon(Task task, bool wait = false)
    {
        if (wait)
            ((IAsyncResult)task).AsyncWaitHandle.WaitOne();
        task.ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private List<ResultStage> ReadBatch(long mark, long bound)
    {
        using var db = _local.OpenConnection();
        return db.Query<ResultStage>(
            """
            SELECT r.rowid AS RowId, r.id AS Id, r.run_id AS RunId, r.device_id AS DeviceId, r.slot AS Slot, r.test AS Test, r.cycle AS Cycle,
                   r.attempt AS Attempt, r.verdict AS Verdict, r.failure_mode AS FailureMode, r.signature AS Signature,
                   r.device_time_ms AS DeviceTimeMs, r.started_at AS StartedAt, r.ended_at AS EndedAt, r.evidence_json AS EvidenceJson,
                   r.failure_kind AS FailureKind
            FROM results r JOIN runs ru ON ru.id = r.run_id
            WHERE r.rowid > @mark AND r.rowid <= @bound AND ru.rig_id = @rig
            ORDER BY r.rowid LIMIT @limit
            """, new { mark, bound, rig = _rigId, limit = BatchSize }).AsList();
    }

    /// <summary>How many of this rig's results have not reached the server, read from the rig's store only.</summary>
    public SyncStatus Status()
    {
        using var db = _local.OpenConnection();
        EnsureSyncState(db);
        var last = db.ExecuteScalar<string?>("SELECT synced_at FROM sync_state WHERE target = @target", new { target = Target });
        return Count(db, _rigId, Target, Mark(db), last);
    }

    /// <summary>
    /// The backlog of a rig with no fleet connection configured: results past the furthest mark any server was given
    /// (none: every result), from the rig's store only.
    /// </summary>
    public static SyncStatus LocalStatus(ResultsStore local, string rigId)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentException.ThrowIfNullOrEmpty(rigId);
        if (local.Dialect != StoreDialect.Sqlite)
            throw new ResultsStoreException($"sync forwards a rig's SQLite store; {local.Description} is not one");
        using var db = local.OpenConnection();
        EnsureSyncState(db);
        var furthest = db.QuerySingleOrDefault<(long Mark, string SyncedAt)?>(
            "SELECT results_rowid, synced_at FROM sync_state ORDER BY results_rowid DESC, synced_at DESC LIMIT 1");
        return Count(db, rigId, null, furthest?.Mark ?? 0, furthest?.SyncedAt);
    }

    private static SyncStatus Count(IDbConnection db, string rigId, string? target, long mark, string? lastSync)
    {
        var behind = db.QuerySingle<(long Count, string? Oldest)>(
            """
            SELECT COUNT(*), MIN(r.started_at) FROM results r JOIN runs ru ON ru.id = r.run_id
            WHERE r.rowid > @mark AND ru.rig_id = @rig
            """, new { mark, rig = rigId });
        var synced = db.ExecuteScalar<long>(
            "SELECT COUNT(*) FROM results r JOIN runs ru ON ru.id = r.run_id WHERE r.rowid <= @mark AND ru.rig_id = @rig", new { mark, rig = rigId });
        return new SyncStatus(rigId, target, behind.Count, synced, behind.Oldest is null ? null : StoreText.ParseTime(behind.Oldest),
            lastSync is null ? null : StoreText.ParseTime(lastSync));
    }

    private void CheckSchema(NpgsqlConnection central)
    {
        var (store, fleet) = central.QuerySingle<(int?, int?)>(
            """
            SELECT CASE WHEN to_regclass('schema_version') IS NULL THEN NULL ELSE 0 END,
                   CASE WHEN to_regclass('fleet_schema_version') IS NULL THEN NULL ELSE 0 END
            """);
        if (store is null || fleet is null)
            throw new FleetSyncException(SyncFailure.Schema, $"{Target} is not a fleet database (no fleet schema); run `hilrig fleet init --connection ...` there first");
        var storeVersion = central.ExecuteScalar<int?>("SELECT MAX(version) FROM schema_version") ?? 0;
        var fleetVersion = central.ExecuteScalar<int?>("SELECT MAX(version) FROM fleet_schema_version") ?? 0;
        if (storeVersion > Migrations.Latest || fleetVersion > FleetSchema.Latest)
            throw new FleetSyncException(SyncFailure.Schema,
                $"the fleet database at {Target} has schema {storeVersion}.{fleetVersion}, newer than this hilrig ({Migrations.Latest}.{FleetSchema.Latest}); update hilrig on this rig");
        if (storeVersion < Migrations.Latest || fleetVersion < FleetSchema.Latest)
            throw new FleetSyncException(SyncFailure.Schema,
                $"the fleet database at {Target} has schema {storeVersion}.{fleetVersion}, older than this hilrig ({Migrations.Latest}.{FleetSchema.Latest}); run `hilrig fleet init` on it");
    }

    private double ClockOffset(NpgsqlConnection central)
    {
        var before = _time.GetUtcNow();
        var server = central.ExecuteScalar<DateTime>("SELECT clock_timestamp()");
        var after = _time.GetUtcNow();
        var middle = before + ((after - before) / 2);
        return (new DateTimeOffset(DateTime.SpecifyKind(server, DateTimeKind.Utc)) - middle).TotalMilliseconds;
    }

    private (int Runs, int Devices, int Calibrations, int SlotHealth) SendMeta(NpgsqlConnection central, List<RunStage> runs, List<DeviceStage> devices,
        List<ResultsStore.CalibrationRow> calibrations, List<SlotHealthStage> health, double offset)
    {
        using var tx = central.BeginTransaction();
        central.Execute(
            """
            CREATE TEMP TABLE stage_runs (id TEXT, rig_id TEXT, config_hash TEXT, seed INTEGER, bootloader TEXT, kind TEXT,
                                          started_at TEXT, ended_at TEXT, status TEXT) ON COMMIT DROP;
            CREATE TEMP TABLE stage_devices (device_id TEXT, lot TEXT, date_code TEXT, supplier TEXT, first_seen TEXT) ON COMMIT DROP;
            CREATE TEMP TABLE stage_calibrations (rig_id TEXT, slot INTEGER, dark_r FLOAT8, dark_g FLOAT8, dark_b FLOAT8, dark_c FLOAT8,
                                                  dark_noise_c FLOAT8, gain INTEGER, integration_ms FLOAT8, lit_c FLOAT8, calibrated_at TEXT) ON COMMIT DROP;
            CREATE TEMP TABLE stage_slot_health (rig_id TEXT, slot INTEGER, state TEXT, reason TEXT, since TEXT, changed_at TEXT) ON COMMIT DROP;
            """, transaction: tx);
        using (var copy = central.BeginBinaryImport("COPY stage_runs FROM STDIN (FORMAT BINARY)"))
        {
            foreach (var r in runs)
            {
                copy.StartRow();
                copy.Write(r.Id, NpgsqlDbType.Text);
                copy.Write(r.RigId, NpgsqlDbType.Text);
                copy.Write(r.ConfigHash, NpgsqlDbType.Text);
                WriteNullable(copy, r.Seed is { } seed ? (int?)seed : null, NpgsqlDbType.Integer);
                WriteNullable(copy, r.Bootloader, NpgsqlDbType.Text);
                copy.Write(r.Kind, NpgsqlDbType.Text);
                copy.Write(r.StartedAt, NpgsqlDbType.Text);
                WriteNullable(copy, r.EndedAt, NpgsqlDbType.Text);
                copy.Write(r.Status, NpgsqlDbType.Text);
            }
            copy.Complete();
        }
        using (var copy = central.BeginBinaryImport("COPY stage_devices FROM STDIN (FORMAT BINARY)"))
        {
            foreach (var d in devices)
            {
                copy.StartRow();
                copy.Write(d.DeviceId, NpgsqlDbType.Text);
                copy.Write(d.Lot, NpgsqlDbType.Text);
                WriteNullable(copy, d.DateCode, NpgsqlDbType.Text);
                WriteNullable(copy, d.Supplier, NpgsqlDbType.Text);
                copy.Write(d.FirstSeen, NpgsqlDbType.Text);
            }
            copy.Complete();
        }
        using (var copy = central.BeginBinaryImport("COPY stage_calibrations FROM STDIN (FORMAT BINARY)"))
        {
            foreach (var c in calibrations)
            {
                copy.StartRow();
                copy.Write(c.RigId, NpgsqlDbType.Text);
                copy.Write((int)c.Slot, NpgsqlDbType.Integer);
                copy.Write(c.DarkR, NpgsqlDbType.Double);
                copy.Write(c.DarkG, NpgsqlDbType.Double);
                copy.Write(c.DarkB, NpgsqlDbType.Double);
                copy.Write(c.DarkC, NpgsqlDbType.Double);
                copy.Write(c.DarkNoiseC, NpgsqlDbType.Double);
                copy.Write((int)c.Gain, NpgsqlDbType.Integer);
                copy.Write(c.IntegrationMs, NpgsqlDbType.Double);
                copy.Write(c.LitC, NpgsqlDbType.Double);
                copy.Write(c.CalibratedAt, NpgsqlDbType.Text);
            }
            copy.Complete();
        }
        using (var copy = central.BeginBinaryImport("COPY stage_slot_health FROM STDIN (FORMAT BINARY)"))
        {
            foreach (var h in health)
            {
                copy.StartRow();
                copy.Write(h.RigId, NpgsqlDbType.Text);
                copy.Write((int)h.Slot, NpgsqlDbType.Integer);
                copy.Write(h.State, NpgsqlDbType.Text);
                copy.Write(h.Reason, NpgsqlDbType.Text);
                copy.Write(h.Since, NpgsqlDbType.Text);
                copy.Write(h.ChangedAt, NpgsqlDbType.Text);
            }
            copy.Complete();
        }
        var changed = central.QuerySingle<(int Runs, int Devices, int Calibrations)>(
            "SELECT runs, devices, calibrations FROM fleet_ingest_meta(@software, @line, @offset)",
            new { software = SoftwareVersion, line = _line, offset }, tx);
        var slots = central.ExecuteScalar<int>("SELECT fleet_ingest_slot_health()", transaction: tx);
        BeforeCommit?.Invoke(central);
        tx.Commit();
        return (changed.Runs, changed.Devices, changed.Calibrations, slots);
    }

    /// <param name="metaSent">The runs and devices of this sync: the batch is staged meanwhile, and ingested once they are committed.</param>
    private long SendResults(NpgsqlConnection central, List<ResultStage> rows, Task metaSent)
    {
        using var tx = central.BeginTransaction();
        // One staging table per session, emptied by each commit: no catalog rows created and dropped per batch.
        central.Execute(
            """
            CREATE TEMP TABLE IF NOT EXISTS stage_results (id TEXT, run_id TEXT, device_id TEXT, slot INTEGER, test TEXT, cycle INTEGER, attempt INTEGER,
                                             verdict TEXT, failure_mode TEXT, signature TEXT, device_time_ms BIGINT, started_at TEXT,
                                             ended_at TEXT, evidence_json TEXT, failure_kind TEXT) ON COMMIT DELETE ROWS
            """, transaction: tx);
        using (var copy = central.BeginBinaryImport("COPY stage_results FROM STDIN (FORMAT BINARY)"))
        {
            foreach (var r in rows)
            {
                copy.StartRow();
                copy.Write(r.Id, NpgsqlDbType.Text);
                copy.Write(r.RunId, NpgsqlDbType.Text);
                copy.Write(r.DeviceId, NpgsqlDbType.Text);
                copy.Write((int)r.Slot, NpgsqlDbType.Integer);
                copy.Write(r.Test, NpgsqlDbType.Text);
                WriteNullable(copy, r.Cycle is { } cycle ? (int?)cycle : null, NpgsqlDbType.Integer);
                copy.Write((int)r.Attempt, NpgsqlDbType.Integer);
                copy.Write(r.Verdict, NpgsqlDbType.Text);
                WriteNullable(copy, r.FailureMode, NpgsqlDbType.Text);
                WriteNullable(copy, r.Signature, NpgsqlDbType.Text);
                WriteNullable(copy, r.DeviceTimeMs, NpgsqlDbType.Bigint);
                copy.Write(r.StartedAt, NpgsqlDbType.Text);
                copy.Write(r.EndedAt, NpgsqlDbType.Text);
                WriteNullable(copy, r.EvidenceJson, NpgsqlDbType.Text);
                WriteNullable(copy, r.FailureKind, NpgsqlDbType.Text);
            }
            copy.Complete();
        }
        metaSent.GetAwaiter().GetResult();
        var inserted = central.QuerySingle<(int Staged, int Inserted)>("SELECT staged, inserted FROM fleet_ingest_results()", transaction: tx).Inserted;
        BeforeCommit?.Invoke(central);
        tx.Commit();
        return inserted;
    }

    private static void WriteNullable(NpgsqlBinaryImporter copy, string? value, NpgsqlDbType type)
    {
        if (value is null)
            copy.WriteNull();
        else
            copy.Write(value, type);
    }

    private static void WriteNullable<T>(NpgsqlBinaryImporter copy, T? value, NpgsqlDbType type)
        where T : struct
    {
        if (value is { } v)
            copy.Write(v, type);
        else
            copy.WriteNull();
    }

    private static void EnsureSyncState(IDbConnection db) =>
        // Sync bookkeeping, not results: created on first sync rather than by a schema step. sync_devices is each device
        // as last committed on a server; a lost copy only means those devices are sent again.
        db.Execute(
            """
            CREATE TABLE IF NOT EXISTS sync_state (target TEXT PRIMARY KEY, results_rowid INTEGER NOT NULL, synced_at TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS sync_devices (target TEXT NOT NULL, device_id TEXT NOT NULL, lot TEXT NOT NULL, date_code TEXT NULL,
                                                     supplier TEXT NULL, PRIMARY KEY (target, device_id)) WITHOUT ROWID;
            """);

    /// <summary>Remembers the devices the server committed, after that commit, so the next sync leaves them out.</summary>
    private void SaveDevicesSent(List<DeviceStage> devices)
    {
        if (devices.Count == 0)
            return;
        using var db = _local.OpenConnection();
        // One statement over the list as JSON: a statement per device cost more than the central ingest of those devices.
        var json = System.Text.Json.JsonSerializer.Serialize(devices.Select(d => new object?[] { d.DeviceId, d.Lot, d.DateCode, d.Supplier }));
        db.Execute(
            """
            INSERT INTO sync_devices (target, device_id, lot, date_code, supplier)
            SELECT @target, json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]')
            FROM json_each(@json) WHERE true
            ON CONFLICT (target, device_id) DO UPDATE SET lot = excluded.lot, date_code = excluded.date_code, supplier = excluded.supplier
            """, new { target = Target, json });
    }

    private long Mark(IDbConnection db) =>
        db.ExecuteScalar<long?>("SELECT results_rowid FROM sync_state WHERE target = @target", new { target = Target }) ?? 0;

    private void SaveMark(long rowid)
    {
        using var db = _local.OpenConnection();
        db.Execute(
            """
            INSERT INTO sync_state (target, results_rowid, synced_at) VALUES (@target, @rowid, @at)
            ON CONFLICT (target) DO UPDATE SET results_rowid = MAX(sync_state.results_rowid, excluded.results_rowid), synced_at = excluded.synced_at
            """, new { target = Target, rowid, at = StoreText.Time(_time.GetUtcNow()) });
    }

    private FleetSyncException Classify(Exception e, bool connected)
    {
        var user = _target.Username;
        if (e is PostgresException pg)
        {
            return pg.SqlState switch
            {
                "28P01" or "28000" => new FleetSyncException(SyncFailure.Authentication,
                    $"{Target} refused the login of {user}: wrong password or no such role (hilrig fleet add-rig prints a rig's connection string)", e),
                "42501" => new FleetSyncException(SyncFailure.Permission, $"{Target} refused {user}: {pg.MessageText}", e),
                "3D000" => new FleetSyncException(SyncFailure.Schema, $"{Target}: {pg.MessageText}; create it and run `hilrig fleet init` there", e),
                "42883" or "42P01" => new FleetSyncException(SyncFailure.Schema, $"{Target} is not a fleet database at this hilrig's schema ({pg.MessageText}); run `hilrig fleet init` there", e),
                _ when pg.SqlState.StartsWith("57P", StringComparison.Ordinal) || pg.SqlState.StartsWith("08", StringComparison.Ordinal) =>
                    new FleetSyncException(SyncFailure.Lost, $"lost {Target} in the middle of a batch ({pg.MessageText}); nothing of that batch was kept, the next sync sends it again", e),
                _ => new FleetSyncException(SyncFailure.Lost, $"{Target} stopped the sync: {pg.SqlState} {pg.MessageText}; the next sync sends the batch again", e),
            };
        }
        var reason = (e.InnerException as SocketException)?.Message ?? e.InnerException?.Message ?? e.Message;
        return connected
            ? new FleetSyncException(SyncFailure.Lost, $"lost {Target} in the middle of a batch ({reason}); nothing of that batch was kept, the next sync sends it again", e)
            : new FleetSyncException(SyncFailure.Unreachable, $"cannot reach the fleet database at {Target}: {reason}; results stay on the rig and go with the next sync", e);
    }

    private sealed class RunStage
    {
        public string Id { get; set; } = "";
        public string RigId { get; set; } = "";
        public string ConfigHash { get; set; } = "";
        public long? Seed { get; set; }
        public string? Bootloader { get; set; }
        public string Kind { get; set; } = "";
        public string StartedAt { get; set; } = "";
        public string? EndedAt { get; set; }
        public string Status { get; set; } = "";
    }

    private sealed class SlotHealthStage
    {
        public string RigId { get; set; } = "";
        public long Slot { get; set; }
        public string State { get; set; } = "";
        public string Reason { get; set; } = "";
        public string Since { get; set; } = "";
        public string ChangedAt { get; set; } = "";
    }

    private sealed class DeviceStage
    {
        public string DeviceId { get; set; } = "";
        public string Lot { get; set; } = "";
        public string? DateCode { get; set; }
        public string? Supplier { get; set; }
        public string FirstSeen { get; set; } = "";
    }

    /// <summary>A result row as the rig's store holds it, with its rowid: the high-water mark.</summary>
    private sealed class ResultStage : ResultsStore.ResultRow
    {
        public long RowId { get; set; }
    }
}
