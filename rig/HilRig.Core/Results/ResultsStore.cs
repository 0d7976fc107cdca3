using System.Data;
using System.Data.Common;
using Dapper;
using Microsoft.Data.Sqlite;
using Npgsql;
using HilRig.Core.Procedures;

namespace HilRig.Core.Results;

/// <summary>
/// Runs, devices and one row per attempt. Every write is its own transaction, so a crash or a pulled plug loses
/// nothing already recorded. Timestamps come from the caller's clock, never the database's, so virtual-time runs
/// store virtual time. Connections come from a factory so the same code serves SQLite on the rig and PostgreSQL
/// for a fleet.
/// </summary>
public sealed partial class ResultsStore
{
    private readonly Func<IDbConnection> _connect;

    private ResultsStore(Func<IDbConnection> connect, string description)
    {
        _connect = connect;
        Description = description;
        using var probe = connect();
        Dialect = probe is NpgsqlConnection ? StoreDialect.Postgres : StoreDialect.Sqlite;
    }

    /// <summary>Which SQL the store speaks; the schema steps and bulk paths differ where the engines do.</summary>
    internal StoreDialect Dialect { get; }

    /// <summary>Where the store lives, for messages.</summary>
    public string Description { get; }

    /// <summary>
    /// Opens (creating if needed, with its folder) a SQLite store, checks its integrity and brings its schema up to date.
    /// Every commit is synchronous (WAL, synchronous=FULL): a row the rig has called stored survives a power cut.
    /// </summary>
    /// <param name="time">Clock for the migration record; the system clock if not given.</param>
    /// <param name="busyTimeout">How long one statement waits for a store another process holds locked (default 5 s).</param>
    /// <exception cref="ResultsStoreException">Not a SQLite file, a damaged store, or one written by a newer hilrig.</exception>
    public static ResultsStore Open(string path, TimeProvider? time = null, TimeSpan? busyTimeout = null) =>
        Open(path, time, busyTimeout, AlwaysCheckedBytes);

    /// <summary>
    /// A store up to this size is checked whole at every open (about a second on a Pi's card). A bigger one is checked
    /// when its last passed check is over <see cref="CheckInterval"/> old by the rig's clock: a 7 GB store's check read
    /// the whole file for 8-18 minutes, which every command would otherwise wait for.
    /// </summary>
    internal const long AlwaysCheckedBytes = 256L << 20;

    internal static readonly TimeSpan CheckInterval = TimeSpan.FromDays(1);

    internal static ResultsStore Open(string path, TimeProvider? time, TimeSpan? busyTimeout, long alwaysCheckedBytes)
    {
        var full = Path.GetFullPath(path);
        var clock = time ?? TimeProvider.System;
        if (Path.GetDirectoryName(full) is { Length: > 0 } folder)
            Directory.CreateDirectory(folder);
        var store = new ResultsStore(SqliteFactory(full, busyTimeout), full);
        try
        {
            // WAL lets reports and the dashboard read while the rig writes; the mode is stored in the file.
            using (var db = store.OpenConnection())
            {
                db.Execute("PRAGMA journal_mode=WAL");
                var big = File.Exists(full) && new FileInfo(full).Length > alwaysCheckedBytes;
                if (!big || store.CheckDue(db, clock.GetUtcNow()))
                {
                    // reads the whole file: minutes on a store of gigabytes, so the observer hears of it as step 0
                    var check = new SchemaStepProgress(full, 0, Migrations.Latest, "integrity check", 0, Finished: false);
                    StepObserver.Value?.Invoke(check);
                    store.CheckIntegrity(db);
                    if (big)
                        store.NoteCheckPassed(db, clock.GetUtcNow());
                    StepObserver.Value?.Invoke(check with { Finished = true });
                }
            }
            store.Migrate(Migrations.Latest, clock);
        }
        catch (SqliteException e) when (!IsBusy(e))
        {
            throw new ResultsStoreException($"results store {full} cannot be used: {e.Message} (not a SQLite database, or unreadable); pass another store", e);
        }
        return store;
    }

    /// <summary>SQLite's quick_check: a damaged store is refused at open, before anything is added to it.</summary>
    private void CheckIntegrity(IDbConnection db)
    {
        var problems = db.Query<string>("PRAGMA quick_check").ToList();
        if (problems.Count != 1 || problems[0] != "ok")
            throw new ResultsStoreException(
                $"results store {Description} failed its integrity check ({problems.FirstOrDefault()}{(problems.Count > 1 ? $", and {problems.Count - 1} more" : "")}); move it aside and restore the last good copy");
    }

    /// <summary>A big store's check is due when none has passed yet, or the last is over a day old (or in the clock's future).</summary>
    private bool CheckDue(IDbConnection db, DateTimeOffset now)
    {
        // kept beside schema_version, outside the versioned steps: only big SQLite stores have it
        if (db.ExecuteScalar<long>("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'integrity_checks'") == 0)
            return true;
        var last = db.ExecuteScalar<string?>("SELECT MAX(passed_at) FROM integrity_checks");
        if (last is null)
            return true;
        DateTimeOffset passed;
        try
        {
            passed = StoreText.ParseTime(last);
        }
        catch (FormatException)
        {
            return true;
        }
        return now - passed >= CheckInterval || passed > now;
    }

    private void NoteCheckPassed(IDbConnection db, DateTimeOffset now)
    {
        db.Execute("CREATE TABLE IF NOT EXISTS integrity_checks (passed_at TEXT NOT NULL)");
        db.Execute("DELETE FROM integrity_checks");
        db.Execute("INSERT INTO integrity_checks (passed_at) VALUES (@at)", new { at = StoreText.Time(now) });
    }

    /// <summary>True for a failure that only says another connection holds the store locked: worth trying again.</summary>
    public static bool IsBusy(Exception error) =>
        error is SqliteException { SqliteErrorCode: 5 or 6 } // SQLITE_BUSY, SQLITE_LOCKED
        || (error is ResultsStoreException && error.InnerException is { } inner && IsBusy(inner));

    /// <summary>Opens a store over any ADO.NET connection factory and brings its schema up to date.</summary>
    public static ResultsStore Open(Func<IDbConnection> connect, string description, TimeProvider? time = null) =>
        OpenAt(connect, description, Migrations.Latest, time);

    /// <summary>Opens a store and brings it to schema <paramref name="version"/> (tests of each step use older ones).</summary>
    internal static ResultsStore OpenAt(Func<IDbConnection> connect, string description, int version, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(connect);
        var store = new ResultsStore(connect, description);
        store.Migrate(version, time ?? TimeProvider.System);
        return store;
    }

    /// <summary>
    /// Opens a PostgreSQL store (a fleet's central database, or a rig writing straight to one) and brings its schema
    /// up to date. The connection string is Npgsql's (Host=...;Database=...;Username=...;Password=...).
    /// </summary>
    /// <exception cref="ResultsStoreException">Unreachable, refused, or a store newer than this code.</exception>
    public static ResultsStore OpenPostgres(string connectionString, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException e)
        {
            throw new ResultsStoreException($"results.connectionString is not a PostgreSQL connection string ({e.Message}); e.g. Host=127.0.0.1;Database=fleet;Username=rig_a;Password=...", e);
        }
        return Open(PostgresFactory(builder.ConnectionString), PostgresDescription(builder), time);
    }

    /// <summary>A connection string shown without its password.</summary>
    public static string PostgresDescription(NpgsqlConnectionStringBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return $"postgres://{builder.Username}@{builder.Host}:{builder.Port}/{builder.Database}";
    }

    internal static Func<IDbConnection> PostgresFactory(string connectionString) => () => new NpgsqlConnection(connectionString);

    internal static Func<IDbConnection> SqliteFactory(string path, TimeSpan? busyTimeout = null)
    {
        var connectionString = SqliteConnectionString(path, readOnly: false, busyTimeout);
        return () => new SqliteConnection(connectionString);
    }

    /// <summary>
    /// The one way hilrig connects to a SQLite store, for writers and readers alike (reports, dashboard, doctor, benches).
    /// Never pooled: a pooled connection stays open after use, keeping the store's WAL index mapped in this process after
    /// its locks may have gone (see <see cref="IsSqliteFile"/>), and another process that then closes the store last
    /// deletes that WAL and index under it: this process reads "disk I/O error" or "database disk image is malformed",
    /// and what it writes goes to a log no other process sees. A connection per use closes all of that with it.
    /// </summary>
    /// <param name="busyTimeout">How long one statement waits for a lock held elsewhere (default 5 s).</param>
    public static string SqliteConnectionString(string path, bool readOnly = false, TimeSpan? busyTimeout = null) =>
        new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWriteCreate,
            ForeignKeys = true,
            // a statement waits this long for a lock held elsewhere; the recorder retries beyond it
            DefaultTimeout = (int)Math.Ceiling((busyTimeout ?? TimeSpan.FromSeconds(5)).TotalSeconds),
            Pooling = false,
        }.ToString();

    /// <summary>
    /// Whether an existing file can be a SQLite database, asked of SQLite itself (null: it can, or it is empty or absent;
    /// else why not). Never by opening the file directly: closing any descriptor of a file drops every POSIX lock this
    /// process holds on it, including the shared lock by which a live SQLite connection here tells other processes the
    /// store is in use. Without it the next process to close the store deletes its WAL and index under this one.
    /// </summary>
    public static string? IsSqliteFile(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            using var db = new SqliteConnection(SqliteConnectionString(path, readOnly: true));
            db.Open();
            db.ExecuteScalar<long>("PRAGMA schema_version");
            return null;
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 26) // SQLITE_NOTADB
        {
            return "it has no SQLite header";
        }
        catch (SqliteException e) when (!IsBusy(e))
        {
            return $"cannot read it: {e.Message}";
        }
        catch (SqliteException)
        {
            // locked by a writer right now: SQLite read its header to get that far
            return null;
        }
    }

    /// <summary>The schema version this hilrig writes.</summary>
    public static int LatestSchemaVersion => Migrations.Latest;

    /// <summary>
    /// The condition of a SQLite store's ix_units_days (step 17), word for word as a query must say it for SQLite to read
    /// that partial index (over units, unaliased): a unit screened on more than one day, or with no span yet.
    /// </summary>
    public const string UnitOverDays = "(first_at IS NULL OR substr(first_at, 1, 10) <> substr(last_at, 1, 10))";

    public int SchemaVersion
    {
        get
        {
            using var db = OpenConnection();
            return CurrentVersion(db, null);
        }
    }

    /// <summary>Applies the steps after the store's version up to <paramref name="target"/>, all in one transaction.</summary>
    internal void Migrate(int target, TimeProvider time)
    {
        using var db = OpenConnection();
        using var tx = db.BeginTransaction();
        // Several rigs (or a rig and `fleet init`) may open one PostgreSQL store at once: one migrates, the others wait
        // and then find nothing to do. SQLite's write lock does the same for a file.
        if (Dialect == StoreDialect.Postgres)
            db.Execute("SELECT pg_advisory_xact_lock(7274400001)", transaction: tx);
        db.Execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TEXT NOT NULL)", transaction: tx);
        var current = CurrentVersion(db, tx);
        if (current > Migrations.Latest)
            throw new ResultsStoreException(
                $"results store {Description} has schema version {current}, newer than this hilrig understands ({Migrations.Latest}); update hilrig or use another store");
        var observer = StepObserver.Value;
        for (var version = current + 1; version <= target; version++)
        {
            var step = new SchemaStepProgress(Description, version, Migrations.Latest, Migrations.Title(version), current, Finished: false);
            observer?.Invoke(step);
            foreach (var statement in Migrations.Step(Dialect, version))
                db.Execute(statement, transaction: tx, commandTimeout: 0);
            db.Execute("INSERT INTO schema_version (version, applied_at) VALUES (@version, @at)",
                new { version, at = StoreText.Time(time.GetUtcNow()) }, tx);
            observer?.Invoke(step with { Finished = true });
        }
        tx.Commit();
    }

    private static readonly AsyncLocal<Action<SchemaStepProgress>?> StepObserver = new();

    /// <summary>
    /// Tells <paramref name="observer"/> each schema step as it starts and as it ends, for every store opened in this
    /// call's flow until the result is disposed (a command's whole run): a big store's upgrade can rebuild an index for
    /// minutes, and the caller, which may read the clock, says so. Core only reports the steps.
    /// </summary>
    public static IDisposable ObserveSchemaSteps(Action<SchemaStepProgress> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var previous = StepObserver.Value;
        StepObserver.Value = observer;
        return new RestoreObserver(previous);
    }

    private sealed class RestoreObserver(Action<SchemaStepProgress>? previous) : IDisposable
    {
        public void Dispose() => StepObserver.Value = previous;
    }

    private static int CurrentVersion(IDbConnection db, IDbTransaction? tx) =>
        db.ExecuteScalar<int?>("SELECT MAX(version) FROM schema_version", transaction: tx) ?? 0;

    public Guid StartRun(RunInfo run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var id = NewId(run.StartedAt);
        Write((db, tx) => db.Execute(
            """
            INSERT INTO runs (id, rig_id, config_hash, seed, bootloader, kind, started_at, ended_at, status, owner_pid, owner_host, owner_boot_id)
            VALUES (@id, @rigId, @configHash, @seed, @bootloader, @kind, @startedAt, NULL, @status, @ownerPid, @ownerHost, @ownerBootId)
            """,
            new
            {
                id = StoreText.Id(id), rigId = run.RigId, configHash = run.ConfigHash, seed = run.Seed,
                bootloader = run.Bootloader, kind = run.Kind, startedAt = StoreText.Time(run.StartedAt),
                status = StoreText.Status(RunStatus.Running),
                ownerPid = run.Owner?.Pid, ownerHost = run.Owner?.Host, ownerBootId = run.Owner?.BootId,
            }, tx));
        return id;
    }

    /// <summary>
    /// Marks every run left <c>running</c> whose owning process <paramref name="current"/> no longer sees (another boot, or
    /// no such process on this host) as interrupted, ended at <paramref name="now"/>. Runs without a recorded owner
    /// (older hilrig) are left as they are.
    /// </summary>
    /// <returns>The runs marked.</returns>
    public IReadOnlyList<Guid> MarkInterruptedRuns(RunOwner current, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(current);
        var marked = new List<Guid>();
        Write((db, tx) =>
        {
            var running = db.Query<OwnerRow>(
                "SELECT id AS Id, owner_pid AS Pid, owner_host AS Host, owner_boot_id AS BootId FROM runs WHERE status = @running AND owner_pid IS NOT NULL",
                new { running = StoreText.Status(RunStatus.Running) }, tx);
            foreach (var run in running)
            {
                if (current.SeesAlive(new RunOwner((int)run.Pid, run.Host ?? "", run.BootId))) continue;
                db.Execute("UPDATE runs SET status = @status, ended_at = @endedAt WHERE id = @id AND status = @running",
                    new { id = run.Id, status = StoreText.Status(RunStatus.Interrupted), endedAt = StoreText.Time(now), running = StoreText.Status(RunStatus.Running) }, tx);
                marked.Add(Guid.Parse(run.Id));
            }
        });
        return marked;
    }

    /// <summary>Takes a run back into <c>running</c> under <paramref name="owner"/>, to finish it under the same id.</summary>
    /// <exception cref="ResultsStoreException">No such run, or a live process is running it.</exception>
    public void ResumeRun(Guid runId, RunOwner owner)
    {
        ArgumentNullException.ThrowIfNull(owner);
        Write((db, tx) =>
        {
            var run = db.QuerySingleOrDefault<OwnerRow>(
                "SELECT id AS Id, owner_pid AS Pid, owner_host AS Host, owner_boot_id AS BootId, status AS Status FROM runs WHERE id = @id",
                new { id = StoreText.Id(runId) }, tx)
                ?? throw new ResultsStoreException($"no run {runId} in results store {Description}");
            if (run.Status == StoreText.Status(RunStatus.Running) && owner.SeesAlive(new RunOwner((int)run.Pid, run.Host ?? "", run.BootId)))
                throw new ResultsStoreException($"run {runId} is still running (process {run.Pid} on {run.Host}); wait for it or stop it first");
            db.Execute(
                "UPDATE runs SET status = @status, ended_at = NULL, owner_pid = @pid, owner_host = @host, owner_boot_id = @bootId WHERE id = @id",
                new { id = run.Id, status = StoreText.Status(RunStatus.Running), pid = owner.Pid, host = owner.Host, bootId = owner.BootId }, tx);
        });
    }

    public void FinishRun(Guid runId, RunStatus status, DateTimeOffset endedAt)
    {
        var changed = 0;
        Write((db, tx) => changed = db.Execute(
            "UPDATE runs SET status = @status, ended_at = @endedAt WHERE id = @id",
            new { id = StoreText.Id(runId), status = StoreText.Status(status), endedAt = StoreText.Time(endedAt) }, tx));
        if (changed == 0)
            throw new ResultsStoreException($"no run {runId} in results store {Description}");
    }

    public StoredRun? GetRun(Guid runId)
    {
        using var db = OpenConnection();
        var row = db.QuerySingleOrDefault<RunRow>(
            """
            SELECT id AS Id, rig_id AS RigId, config_hash AS ConfigHash, seed AS Seed, bootloader AS Bootloader,
                   kind AS Kind, started_at AS StartedAt, ended_at AS EndedAt, status AS Status
            FROM runs WHERE id = @id
            """,
            new { id = StoreText.Id(runId) });
        return row?.ToRun();
    }

    /// <summary>Records a device and its chip lot; a known device keeps its first-seen time, other fields are updated.</summary>
    public void UpsertDevice(string deviceId, string lot, DateTimeOffset seenAt, string? dateCode = null, string? supplier = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(deviceId);
        ArgumentException.ThrowIfNullOrEmpty(lot);
        Write((db, tx) => db.Execute(
            """
            INSERT INTO devices (device_id, lot, date_code, supplier, first_seen)
            VALUES (@deviceId, @lot, @dateCode, @supplier, @seenAt)
            ON CONFLICT (device_id) DO UPDATE SET
                lot = excluded.lot,
                date_code = COALESCE(excluded.date_code, devices.date_code),
                supplier = COALESCE(excluded.supplier, devices.supplier)
            """,
            new { deviceId = deviceId.ToLowerInvariant(), lot, dateCode, supplier, seenAt = StoreText.Time(seenAt) }, tx));
        Write((db, tx) => RefreshUnit(db, tx, deviceId.ToLowerInvariant()));
    }

    /// <summary>
    /// Records many devices with their chip lots in ONE transaction (a lot inventory import): all or nothing.
    /// Known devices keep their first-seen time; verdicts already summarised move to the devices' new lots.
    /// </summary>
    /// <returns>How many devices were new to the store.</returns>
    public int ImportDevices(IEnumerable<Inventory.DeviceLot> devices, DateTimeOffset seenAt)
    {
        ArgumentNullException.ThrowIfNull(devices);
        var added = 0;
        Write((db, tx) =>
        {
            var before = db.ExecuteScalar<long>("SELECT COUNT(*) FROM devices", transaction: tx);
            using var cmd = db.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText =
                """
                INSERT INTO devices (device_id, lot, date_code, supplier, first_seen)
                VALUES (@deviceId, @lot, @dateCode, @supplier, @seenAt)
                ON CONFLICT (device_id) DO UPDATE SET
                    lot = excluded.lot,
                    date_code = COALESCE(excluded.date_code, devices.date_code),
                    supplier = COALESCE(excluded.supplier, devices.supplier)
                """;
            var id = AddParameter(cmd, "@deviceId");
            var lot = AddParameter(cmd, "@lot");
            var dateCode = AddParameter(cmd, "@dateCode");
            var supplier = AddParameter(cmd, "@supplier");
            AddParameter(cmd, "@seenAt").Value = StoreText.Time(seenAt);
            // Npgsql prepares only parameters that already have a type or value; SQLite gains from it, PostgreSQL barely.
            if (Dialect == StoreDialect.Sqlite)
                cmd.Prepare();
            foreach (var d in devices)
            {
                id.Value = d.DeviceId.ToLowerInvariant();
                lot.Value = d.Lot;
                dateCode.Value = (object?)d.DateCode ?? DBNull.Value;
                supplier.Value = (object?)d.Supplier ?? DBNull.Value;
                cmd.ExecuteNonQuery();
            }
            added = (int)(db.ExecuteScalar<long>("SELECT COUNT(*) FROM devices", transaction: tx) - before);
            db.Execute(Summaries.RelabelUnits, transaction: tx);
            foreach (var statement in Summaries.RecountLots)
                db.Execute(statement, transaction: tx);
        });
        return added;
    }

    /// <summary>
    /// Bulk load of already-numbered attempts in ONE transaction, for generated production histories (the
    /// <c>sim fleet</c> fast path): no per-row attempt check and no summary upkeep, so call
    /// <see cref="RebuildSummaries"/> once after the last batch.
    /// </summary>
    public void BulkLoadResults(IEnumerable<ResultRecord> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        Write((db, tx) =>
        {
            BigCache(db, tx);
            InsertResults(db, tx, results);
        });
    }

    /// <summary>
    /// A whole generated history (the fleet's fast path) in ONE transaction, all or nothing, with every summary exact
    /// afterwards. On SQLite the results table's secondary indexes and summary triggers (and those on the tables step 15's
    /// per-lot failure summary watches) are set aside while the rows go in, then the indexes are built by sorting and every summary is counted from all results, set-based, as the migrations
    /// count rows already stored: per row that is a fraction of the upkeep an insert pays with ten indexes and four
    /// triggers. The store's rollback journal stands in for its write-ahead log meanwhile (a fresh store's new pages are
    /// written once, not to the log and then again to the file), when no other connection has it open. PostgreSQL takes the
    /// rows in transactions of <paramref name="batchSize"/> and rebuilds its summaries after.
    /// </summary>
    /// <param name="phaseEnded">Told each phase's name as it ends (rows, summaries, indexes, commit), for a bench to time.</param>
    public void BulkLoadHistory(IEnumerable<ResultRecord> results, Action<string>? phaseEnded = null, int batchSize = 100_000)
    {
        ArgumentNullException.ThrowIfNull(results);
        void Done(string name) => phaseEnded?.Invoke(name);
        if (Dialect == StoreDialect.Postgres)
        {
            foreach (var batch in results.Chunk(batchSize))
                BulkLoadResults(batch);
            Done("rows");
            RebuildSummaries();
            Done("summaries");
            return;
        }

        using var db = OpenConnection();
        // leaves WAL only when this is the store's one connection; otherwise the mode stays and the load goes through the log
        var leftWal = LeaveWal(db);
        try
        {
            using (var tx = db.BeginTransaction())
            {
                // 1 GiB of page cache for this connection: the summaries' sorts and the index builds stay in memory longer
                db.Execute("PRAGMA cache_size = -1048576", transaction: tx);
                var upkeep = db.Query<(string Type, string Name, string Sql)>(
                    """
                    SELECT type, name, sql FROM sqlite_master
                    WHERE sql IS NOT NULL AND (tbl_name = 'results' AND type IN ('index', 'trigger') OR type = 'trigger' AND tbl_name IN @tables)
                    ORDER BY rowid
                    """, new { tables = Migrations.SummaryTriggerTables }, transaction: tx).ToList();
                foreach (var (type, name, _) in upkeep)
                    db.Execute($"DROP {type.ToUpperInvariant()} \"{name}\"", transaction: tx);
                InsertResults(db, tx, results);
                Done("rows");
                // before the indexes, so each summary reads the table in order and sorts, not row by row through an index
                foreach (var statement in Summaries.Rebuild.Concat(Migrations.RecountPageSummaries))
                    db.Execute(statement, transaction: tx, commandTimeout: 0);
                Done("summaries");
                // a duplicate attempt fails its unique index here and the whole load rolls back
                foreach (var (_, _, sql) in upkeep.Where(u => u.Type == "index"))
                    db.Execute(sql, transaction: tx, commandTimeout: 0);
                foreach (var (_, _, sql) in upkeep.Where(u => u.Type == "trigger"))
                    db.Execute(sql, transaction: tx);
                Done("indexes");
                tx.Commit();
            }
            Done("commit");
        }
        finally
        {
            if (leftWal)
                db.Execute("PRAGMA journal_mode=WAL");
        }
    }

    /// <summary>Takes a SQLite store out of WAL into a rollback journal; false when another connection holds it in WAL.</summary>
    private static bool LeaveWal(IDbConnection db)
    {
        try
        {
            return db.ExecuteScalar<string>("PRAGMA journal_mode=DELETE") == "delete";
        }
        catch (SqliteException e) when (IsBusy(e))
        {
            return false;
        }
    }

    private void InsertResults(IDbConnection db, IDbTransaction tx, IEnumerable<ResultRecord> results)
    {
        using var cmd = db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText =
            """
            INSERT INTO results (id, run_id, device_id, slot, test, cycle, attempt, verdict, failure_mode, signature,
                                 device_time_ms, started_at, ended_at, evidence_json)
            VALUES (@id, @runId, @deviceId, @slot, @test, @cycle, @attempt, @verdict, @failureMode, @signature,
                    @deviceTimeMs, @startedAt, @endedAt, @evidenceJson)
            """;
        string[] names = ["@id", "@runId", "@deviceId", "@slot", "@test", "@cycle", "@attempt", "@verdict", "@failureMode", "@signature", "@deviceTimeMs", "@startedAt", "@endedAt", "@evidenceJson"];
        var p = names.Select(n => AddParameter(cmd, n)).ToArray();
        // Npgsql prepares only parameters that already have a type or value; SQLite gains from it, PostgreSQL barely.
        if (Dialect == StoreDialect.Sqlite)
            cmd.Prepare();
        foreach (var r in results)
        {
            p[0].Value = StoreText.Id(NewId(r.StartedAt));
            p[1].Value = StoreText.Id(r.RunId);
            p[2].Value = r.DeviceId.ToLowerInvariant();
            p[3].Value = r.Slot;
            p[4].Value = r.Test;
            p[5].Value = (object?)r.Cycle ?? DBNull.Value;
            p[6].Value = r.Attempt ?? throw new ArgumentException("bulk-loaded attempts must carry their attempt number", nameof(results));
            p[7].Value = StoreText.Verdict(r.Verdict);
            p[8].Value = (object?)r.FailureMode ?? DBNull.Value;
            p[9].Value = (object?)r.Signature ?? DBNull.Value;
            p[10].Value = r.DeviceTime is { } t ? (long)t.TotalMilliseconds : DBNull.Value;
            p[11].Value = StoreText.Time(r.StartedAt);
            p[12].Value = StoreText.Time(r.EndedAt);
            p[13].Value = (object?)r.EvidenceJson ?? DBNull.Value;
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>Recomputes the unit verdicts and per-lot counts from all results (after <see cref="BulkLoadResults"/>).</summary>
    public void RebuildSummaries() => Write((db, tx) =>
    {
        BigCache(db, tx);
        foreach (var statement in Summaries.Rebuild)
            db.Execute(statement, transaction: tx, commandTimeout: 0);
    });

    // Bulk work inserts into indexes keyed by random device ids: SQLite's default 2 MiB page cache makes every insert a
    // disk read once the indexes outgrow it; 256 MiB for this connection keeps them in memory.
    private static void BigCache(IDbConnection db, IDbTransaction tx)
    {
        if (db is SqliteConnection)
            db.Execute("PRAGMA cache_size = -262144", transaction: tx);
    }

    private static IDbDataParameter AddParameter(IDbCommand cmd, string name)
    {
        var p = cmd.CreateParameter();
        p.ParameterName = name;
        cmd.Parameters.Add(p);
        return p;
    }

    /// <summary>
    /// Brings one device's unit verdict and its lot's counts up to date with its deciding attempts and its lot.
    /// Runs inside the transaction of the write that changed them, so the summaries never disagree with the rows.
    /// </summary>
    private static void RefreshUnit(IDbConnection db, IDbTransaction tx, string deviceId)
    {
        var now = db.QuerySingle<UnitRow>(
            """
            SELECT COUNT(*) AS Tests,
                   COALESCE(MAX(CASE WHEN verdict <> 'rig-fault' THEN 1 ELSE 0 END), 0) AS Judged,
                   COALESCE(MAX(CASE WHEN verdict = 'fail' THEN 1 ELSE 0 END), 0) AS Failed
            FROM unit_tests WHERE device_id = @deviceId
            """, new { deviceId }, tx);
        if (now.Tests == 0)
            return;
        now.Lot = db.ExecuteScalar<string?>("SELECT lot FROM devices WHERE device_id = @deviceId", new { deviceId }, tx) ?? Summaries.UnknownLot;
        var was = db.QuerySingleOrDefault<UnitRow>(
            "SELECT lot AS Lot, judged AS Judged, failed AS Failed FROM units WHERE device_id = @deviceId", new { deviceId }, tx);
        if (was is not null && was.Lot == now.Lot && was.Judged == now.Judged && was.Failed == now.Failed)
            return;
        if (was is not null)
            db.Execute("UPDATE lot_counts SET units = units - @Judged, failed = failed - @Failed WHERE lot = @Lot", was, tx);
        db.Execute(
            """
            INSERT INTO units (device_id, lot, judged, failed) VALUES (@deviceId, @lot, @judged, @failed)
            ON CONFLICT (device_id) DO UPDATE SET lot = excluded.lot, judged = excluded.judged, failed = excluded.failed
            """, new { deviceId, lot = now.Lot, judged = now.Judged, failed = now.Failed }, tx);
        db.Execute(
            """
            INSERT INTO lot_counts (lot, units, failed) VALUES (@Lot, @Judged, @Failed)
            ON CONFLICT (lot) DO UPDATE SET units = lot_counts.units + excluded.units, failed = lot_counts.failed + excluded.failed
            """, now, tx);
    }

    /// <summary>
    /// Stores one attempt in its own transaction. Without an attempt number it gets the next one for that device,
    /// test and cycle in the run; a given number that is already recorded is refused, never overwritten.
    /// </summary>
    /// <returns>The stored row, with its id and attempt number.</returns>
    public StoredResult RecordResult(ResultRecord result)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentException.ThrowIfNullOrEmpty(result.DeviceId);
        ArgumentException.ThrowIfNullOrEmpty(result.Test);
        if (result.Attempt is < 1)
            throw new ArgumentOutOfRangeException(nameof(result), result.Attempt, "attempt numbers start at 1");
        var id = NewId(result.StartedAt);
        var deviceId = result.DeviceId.ToLowerInvariant();
        var attempt = 0;
        Write((db, tx) =>
        {
            // Separate statements for a null cycle: PostgreSQL cannot type an untyped "@cycle IS NULL".
            var sameCycle = result.Cycle is null ? "cycle IS NULL" : "cycle = @cycle";
            var key = new { runId = StoreText.Id(result.RunId), deviceId, test = result.Test, cycle = result.Cycle, attempt = result.Attempt };
            if (result.Attempt is { } given)
            {
                var taken = db.ExecuteScalar<long>(
                    $"SELECT COUNT(*) FROM results WHERE run_id = @runId AND device_id = @deviceId AND test = @test AND {sameCycle} AND attempt = @attempt",
                    key, tx);
                if (taken > 0)
                    throw new ResultsStoreException(
                        $"attempt {given} of test '{result.Test}' on device {deviceId} in run {result.RunId} is already recorded; attempts are never overwritten");
                attempt = given;
            }
            else
            {
                attempt = 1 + db.ExecuteScalar<int>(
                    $"SELECT COALESCE(MAX(attempt), 0) FROM results WHERE run_id = @runId AND device_id = @deviceId AND test = @test AND {sameCycle}",
                    key, tx);
            }
            db.Execute(
                """
                INSERT INTO results (id, run_id, device_id, slot, test, cycle, attempt, verdict, failure_mode, signature,
                                     device_time_ms, started_at, ended_at, evidence_json, failure_kind)
                VALUES (@id, @runId, @deviceId, @slot, @test, @cycle, @attempt, @verdict, @failureMode, @signature,
                        @deviceTimeMs, @startedAt, @endedAt, @evidenceJson, @failureKind)
                """,
                new
                {
                    failureKind = result.StoredKind == FailureKind.None ? null : result.StoredKind.ToName(),
                    id = StoreText.Id(id), runId = StoreText.Id(result.RunId), deviceId, slot = result.Slot, test = result.Test,
                    cycle = result.Cycle, attempt, verdict = StoreText.Verdict(result.Verdict), failureMode = result.FailureMode,
                    signature = result.Signature, deviceTimeMs = (long?)result.DeviceTime?.TotalMilliseconds,
                    startedAt = StoreText.Time(result.StartedAt), endedAt = StoreText.Time(result.EndedAt), evidenceJson = result.EvidenceJson,
                },
                tx);
            if (result.Cycle is null)
            {
                db.Execute(Summaries.UpsertUnitTest,
                    new { deviceId, test = result.Test, startedAt = StoreText.Time(result.StartedAt), attempt, verdict = StoreText.Verdict(result.Verdict) }, tx);
                RefreshUnit(db, tx, deviceId);
            }
        });
        return new StoredResult(id, result.RunId, deviceId, result.Slot, result.Test, result.Cycle, attempt, result.Verdict,
            result.FailureMode, result.Signature,
            result.DeviceTime is { } t ? TimeSpan.FromMilliseconds((long)t.TotalMilliseconds) : null,
            result.StartedAt, result.EndedAt, result.EvidenceJson) { Kind = result.StoredKind };
    }

    /// <summary>Results in the order they happened, optionally for one run and/or one device.</summary>
    public IReadOnlyList<StoredResult> GetResults(Guid? runId = null, string? deviceId = null)
    {
        var where = new List<string>();
        if (runId is not null)
            where.Add("run_id = @runId");
        if (deviceId is not null)
            where.Add("device_id = @deviceId");
        using var db = OpenConnection();
        return ReadResults(db, where.Count > 0 ? string.Join(" AND ", where) : null, "started_at, attempt",
            new { runId = runId is { } r ? StoreText.Id(r) : null, deviceId = deviceId?.ToLowerInvariant() });
    }

    /// <summary>
    /// Stored results as they are, on either engine: those matching <paramref name="where"/> (SQL over the results table,
    /// its parameters in <paramref name="args"/>; null for all) in <paramref name="orderBy"/>'s order. The dashboard's
    /// pages read their result rows through here too.
    /// </summary>
    public static IReadOnlyList<StoredResult> ReadResults(IDbConnection db, string? where, string orderBy, object? args)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentException.ThrowIfNullOrEmpty(orderBy);
        return db.Query<ResultRow>(
            $"""
            SELECT id AS Id, run_id AS RunId, device_id AS DeviceId, slot AS Slot, test AS Test, cycle AS Cycle,
                   attempt AS Attempt, verdict AS Verdict, failure_mode AS FailureMode, signature AS Signature,
                   device_time_ms AS DeviceTimeMs, started_at AS StartedAt, ended_at AS EndedAt, evidence_json AS EvidenceJson,
                   failure_kind AS FailureKind
            FROM results
            {(where is null ? "" : "WHERE " + where)}
            ORDER BY {orderBy}
            """, args)
            .Select(row => row.ToResult())
            .ToList();
    }

    /// <summary>
    /// Per chip lot: units tested, units failed, failure rate. A unit's verdict per test (and soak cycle) is its
    /// latest attempt, so a Core that failed, was retested and passed is not failed; a unit fails if any of those
    /// latest verdicts is a fail. Devices never registered with a lot count under "(unknown)".
    /// </summary>
    public IReadOnlyList<LotSummary> LotSummary()
    {
        using var db = OpenConnection();
        return db.Query<LotRow>(
            """
            WITH latest AS (
                SELECT device_id, verdict,
                       ROW_NUMBER() OVER (PARTITION BY device_id, test, cycle ORDER BY started_at DESC, attempt DESC) AS rn
                FROM results
            ),
            units AS (
                SELECT device_id, MAX(CASE WHEN verdict = 'fail' THEN 1 ELSE 0 END) AS failed
                FROM latest WHERE rn = 1 GROUP BY device_id
            )
            SELECT COALESCE(d.lot, '(unknown)') AS Lot, COUNT(*) AS Units, SUM(u.failed) AS Failed
            FROM units u LEFT JOIN devices d ON d.device_id = u.device_id
            GROUP BY COALESCE(d.lot, '(unknown)')
            ORDER BY Lot
            """)
            .Select(row => new LotSummary(row.Lot, (int)row.Units, (int)row.Failed))
            .ToList();
    }

    // Row ids must stay unique when many rigs' stores merge into the fleet database, so they are not drawn from the
    // simulation seed; version 7 keeps them in time order, which keeps inserts at the end of the index.
    private static Guid NewId(DateTimeOffset at) => Guid.CreateVersion7(at);

    internal IDbConnection OpenConnection()
    {
        var db = _connect();
        try
        {
            db.Open();
            // per connection, not stored in the file: a commit returns only once it is on disk
            if (db is SqliteConnection)
                db.Execute("PRAGMA synchronous=FULL");
        }
        catch (DbException e)
        {
            db.Dispose();
            throw new ResultsStoreException($"cannot open results store {Description}: {e.Message}", e);
        }
        return db;
    }

    private void Write(Action<IDbConnection, IDbTransaction> work)
    {
        using var db = OpenConnection();
        using var tx = db.BeginTransaction();
        work(db, tx);
        tx.Commit();
    }

    // Dapper row shapes: SQLite hands back 64-bit integers and TEXT, converted to the public records here.
    private sealed class RunRow
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

        public StoredRun ToRun() => new(
            Guid.Parse(Id), RigId, ConfigHash, (int?)Seed, Bootloader, Kind, StoreText.ParseTime(StartedAt),
            EndedAt is null ? null : StoreText.ParseTime(EndedAt), StoreText.ParseStatus(Status));
    }

    /// <summary>A stored result as Dapper reads it (sync reads the same columns with the rowid).</summary>
    internal class ResultRow
    {
        public string Id { get; set; } = "";
        public string RunId { get; set; } = "";
        public string DeviceId { get; set; } = "";
        public long Slot { get; set; }
        public string Test { get; set; } = "";
        public long? Cycle { get; set; }
        public long Attempt { get; set; }
        public string Verdict { get; set; } = "";
        public string? FailureMode { get; set; }
        public string? Signature { get; set; }
        public long? DeviceTimeMs { get; set; }
        public string StartedAt { get; set; } = "";
        public string EndedAt { get; set; } = "";
        public string? EvidenceJson { get; set; }

        /// <summary>Null for a pass, and for rows read by queries that do not select it.</summary>
        public string? FailureKind { get; set; }

        public StoredResult ToResult()
        {
            var result = new StoredResult(
                Guid.Parse(Id), Guid.Parse(RunId), DeviceId, (int)Slot, Test, (int?)Cycle, (int)Attempt,
                StoreText.ParseVerdict(Verdict), FailureMode, Signature,
                DeviceTimeMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null,
                StoreText.ParseTime(StartedAt), StoreText.ParseTime(EndedAt), EvidenceJson);
            return FailureKind is { } kind ? result with { Kind = FailureKinds.Parse(kind) } : result;
        }
    }

    private sealed class OwnerRow
    {
        public string Id { get; set; } = "";
        public long Pid { get; set; }
        public string? Host { get; set; }
        public string? BootId { get; set; }
        public string Status { get; set; } = "";
    }

    private sealed class UnitRow
    {
        public long Tests { get; set; }
        public string Lot { get; set; } = "";
        public long Judged { get; set; }
        public long Failed { get; set; }
    }

    private sealed class LotRow
    {
        public string Lot { get; set; } = "";
        public long Units { get; set; }
        public long Failed { get; set; }
    }
}
