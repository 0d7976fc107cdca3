using System.Net.Sockets;
using Dapper;
using HilRig.Core.Results;
using Npgsql;

namespace HilRig.Core.Campaigns;

/// <summary>A work item a rig holds a lease on.</summary>
/// <param name="CyclesDone">Item cycles per slot already credited (by an earlier lease that expired or was released): run the rest.</param>
/// <param name="PreviousHolder">The rig whose expired lease this claim took over, if any.</param>
public sealed record ClaimedItem(
    string Campaign,
    int Number,
    int Look,
    CampaignKind Kind,
    CampaignArm Arm,
    string? Bootloader,
    string? BootloaderSha256,
    int Slots,
    int CyclesPerSlot,
    int CyclesDone,
    int Cores,
    Guid LeaseId,
    DateTimeOffset LeaseExpires,
    string? PreviousHolder);

public enum RenewOutcome
{
    /// <summary>Still the holder; go on.</summary>
    Ok,

    /// <summary>The campaign was decided or cancelled: finish the step, release.</summary>
    Stop,

    /// <summary>The lease expired and the item went to another rig: stop, credit nothing more.</summary>
    Lost,
}

/// <summary>What one credited run found for one lot and failure mode (null: the run's rows without a counted failure).</summary>
public sealed record CampaignCount(int Number, string RigId, string RunId, string Lot, string? Mode, long Cycles, long Failures, long Units, long UnitsFailed);

/// <summary>
/// The rig's side of the campaign queue in the fleet's PostgreSQL (fleet step 3): heartbeats, claims with a lease,
/// renewals that credit synced runs, releases. Every call goes through the rig role's SECURITY DEFINER functions.
/// </summary>
public sealed class CampaignQueue
{
    private readonly string _connectionString;

    public CampaignQueue(string connectionString)
    {
        _connectionString = CampaignStore.Normalise(connectionString);
        Target = CampaignStore.TargetOf(_connectionString);
    }

    public string Target { get; }

    /// <returns>The server's time of the heartbeat.</returns>
    public DateTimeOffset Heartbeat(int slots, int pid, string host, string state, TimeSpan timeout) =>
        Call(db => new DateTimeOffset(DateTime.SpecifyKind(
            db.ExecuteScalar<DateTime>("SELECT fleet_agent_heartbeat(@slots, @pid, @host, @software, @state, @timeout)",
                new { slots, pid, host, software = FleetSync.SoftwareVersion, state, timeout = timeout.TotalSeconds }), DateTimeKind.Utc)));

    /// <summary>The next item this rig may run, leased for <paramref name="lease"/>; null when there is none (or no live heartbeat).</summary>
    public ClaimedItem? Claim(TimeSpan lease) => Call(db =>
    {
        var row = db.QueryFirstOrDefault<ClaimRow>(
            """
            SELECT campaign AS Campaign, number AS Number, look AS Look, kind AS Kind, arm AS Arm, bootloader AS Bootloader,
                   bootloader_sha256 AS BootloaderSha256, slots AS Slots, cycles_per_slot AS CyclesPerSlot, cycles_done AS CyclesDone,
                   cores AS Cores, lease_id AS LeaseId, lease_expires AS LeaseExpires, previous_holder AS PreviousHolder
            FROM fleet_campaign_claim(@lease)
            """, new { lease = lease.TotalSeconds });
        return row is null ? null : new ClaimedItem(row.Campaign, row.Number, row.Look, row.Kind == "screen" ? CampaignKind.Screen : CampaignKind.Soak,
            row.Arm == "baseline" ? CampaignArm.Baseline : CampaignArm.Candidate, row.Bootloader, row.BootloaderSha256, row.Slots, row.CyclesPerSlot,
            row.CyclesDone, row.Cores, row.LeaseId, new DateTimeOffset(DateTime.SpecifyKind(row.LeaseExpires, DateTimeKind.Utc)), row.PreviousHolder);
    });

    /// <summary>Extends the lease; with <paramref name="runId"/>, credits that (synced) run with the item's cycles up to <paramref name="cyclesDone"/>.</summary>
    public RenewOutcome Renew(Guid lease, Guid? runId, int? cyclesDone, TimeSpan leaseFor) => Call(db =>
        db.ExecuteScalar<string>("SELECT fleet_campaign_renew(@lease, @runId, @cyclesDone, @leaseFor)",
            new { lease, runId = runId is { } id ? StoreText.Id(id) : null, cyclesDone, leaseFor = leaseFor.TotalSeconds }) switch
        {
            "ok" => RenewOutcome.Ok,
            "stop" => RenewOutcome.Stop,
            _ => RenewOutcome.Lost,
        });

    /// <returns>done, queued, skipped, or lost (no longer the holder).</returns>
    public string Release(Guid lease) => Call(db => db.ExecuteScalar<string>("SELECT fleet_campaign_release(@lease)", new { lease })!);

    /// <summary>Records the rule's decision on complete looks 1..<paramref name="look"/>; false when the campaign was already over.</summary>
    public bool Conclude(string campaign, int look, string decision) =>
        Call(db => db.ExecuteScalar<bool>("SELECT fleet_campaign_conclude(@campaign, @look, @decision)", new { campaign, look, decision }));

    public IReadOnlyList<CampaignCount> Counts(string campaign) => Call(db => CampaignStore.ReadCounts(db, campaign));

    public CampaignSnapshot? Snapshot(string campaign) => Call(db => CampaignStore.ReadSnapshot(db, campaign));

    /// <summary>A bootloader image stored with a campaign, checked against its hash.</summary>
    public byte[] Blob(string sha256) => Call(db =>
    {
        var bytes = db.ExecuteScalar<byte[]?>("SELECT bytes FROM campaign_blobs WHERE sha256 = @sha256", new { sha256 })
            ?? throw new ResultsStoreException($"bootloader image sha256 {sha256} is not in the fleet store");
        var actual = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
        return actual == sha256 ? bytes : throw new ResultsStoreException($"bootloader image sha256 {sha256} reads back as {actual}: damaged in the fleet store");
    });

    private T Call<T>(Func<NpgsqlConnection, T> action) => CampaignStore.Guarded(_connectionString, Target, action);

    private sealed class ClaimRow
    {
        public string Campaign { get; set; } = "";
        public int Number { get; set; }
        public int Look { get; set; }
        public string Kind { get; set; } = "";
        public string Arm { get; set; } = "";
        public string? Bootloader { get; set; }
        public string? BootloaderSha256 { get; set; }
        public int Slots { get; set; }
        public int CyclesPerSlot { get; set; }
        public int CyclesDone { get; set; }
        public int Cores { get; set; }
        public Guid LeaseId { get; set; }
        public DateTime LeaseExpires { get; set; }
        public string? PreviousHolder { get; set; }
    }
}

/// <summary>A campaign as stored centrally.</summary>
public sealed record CampaignRecord(
    string Name,
    string Kind,
    string? Bootloader,
    string? BootloaderSha256,
    string? Baseline,
    long Cycles,
    int Cores,
    string Lots,
    string Rigs,
    double Margin,
    double Alpha,
    double Power,
    int CyclesPerSlot,
    int Looks,
    string State,
    string? Decision,
    int? DecidedLook,
    string? DecidedBy,
    DateTime CreatedAt,
    string CreatedBy,
    DateTime? EndedAt)
{
    public IReadOnlyList<string> LotList => Lots.Length == 0 ? [] : Lots.Split(',');
}

public sealed record CampaignItemRecord(
    int Number,
    int Look,
    string PlannedRig,
    string Arm,
    string? Bootloader,
    int Slots,
    int CyclesPerSlot,
    int Cores,
    string State,
    int CyclesDone,
    string? LeasedBy,
    DateTime? LeaseExpires,
    int Attempts,
    DateTime? DoneAt);

public sealed record AgentRecord(string RigId, int Slots, int? Pid, string? Host, string State, DateTime HeartbeatAt, double HeartbeatTimeoutS, DateTime StartedAt, bool Alive);

/// <summary>A stored baseline's counts for one lot and failure mode (null: its cycles without a counted failure), fixed at create.</summary>
public sealed record BaselineCount(string Lot, string? Mode, long Cycles, long Failures);

/// <summary>Everything the status of a campaign is computed from, read in one transaction.</summary>
public sealed record CampaignSnapshot(
    CampaignRecord Campaign,
    IReadOnlyList<CampaignItemRecord> Items,
    IReadOnlyList<CampaignCount> Counts,
    IReadOnlyList<AgentRecord> Agents,
    DateTime ServerTime)
{
    /// <summary>The stored baseline's counts (a soak run or an earlier campaign); empty for a build run alongside, or a screen.</summary>
    public IReadOnlyList<BaselineCount> Baseline { get; init; } = [];
}

/// <summary>
/// The administrator's side of campaigns (create, cancel; plain SQL as the tables' owner) and the reads every side
/// shares (list, one campaign's snapshot). Server and permission problems come out as <see cref="FleetSyncException"/>.
/// </summary>
public static class CampaignStore
{
    /// <summary>Rigs that may run a new campaign: those with a live agent, with the slots it reported.</summary>
    public static IReadOnlyList<RigCapacity> LiveRigs(string connectionString)
    {
        var cs = Normalise(connectionString);
        return Guarded(cs, TargetOf(cs), db => db.Query<(string, int)>(
            "SELECT rig_id, slots FROM fleet_agents a WHERE fleet_agent_alive(a.rig_id) ORDER BY rig_id").Select(r => new RigCapacity(r.Item1, r.Item2)).ToList());
    }

    /// <summary>Every rig that ever ran an agent, alive or not, with its slots.</summary>
    public static IReadOnlyList<RigCapacity> KnownRigs(string connectionString)
    {
        var cs = Normalise(connectionString);
        return Guarded(cs, TargetOf(cs), db => db.Query<(string, int)>("SELECT rig_id, slots FROM fleet_agents ORDER BY rig_id")
            .Select(r => new RigCapacity(r.Item1, r.Item2)).ToList());
    }

    /// <summary>Stores the campaign, its bootloader image (by content hash) and its plan's work items, in one transaction.</summary>
    /// <exception cref="ResultsStoreException">A campaign of that name exists already.</exception>
    /// <param name="baseline">A stored baseline's counts (<see cref="ResolveBaseline"/>), kept with the campaign.</param>
    public static void Create(string connectionString, CampaignPlan plan, byte[]? bootloaderImage, IReadOnlyList<BaselineCount>? baseline = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var cs = Normalise(connectionString);
        var c = plan.Campaign;
        Guarded(cs, TargetOf(cs), db =>
        {
            using var tx = db.BeginTransaction();
            if (db.ExecuteScalar<long>("SELECT COUNT(*) FROM campaigns WHERE name = @name", new { name = c.Name }, tx) > 0)
                throw new ResultsStoreException($"campaign {c.Name} exists already (hilrig campaign list); choose another name");
            string? sha = null;
            if (c.Bootloader is CampaignBootloader.Image image)
            {
                sha = image.Sha256;
                db.Execute("INSERT INTO campaign_blobs (sha256, length, bytes) VALUES (@sha, @length, @bytes) ON CONFLICT (sha256) DO NOTHING",
                    new { sha, length = bootloaderImage!.Length, bytes = bootloaderImage }, tx);
            }
            db.Execute(
                """
                INSERT INTO campaigns (name, kind, bootloader, bootloader_sha256, baseline, cycles, cores, lots, rigs, margin, alpha, power, cycles_per_slot, looks)
                VALUES (@name, @kind, @bootloader, @sha, @baseline, @cycles, @cores, @lots, @rigs, @margin, @alpha, @power, @perSlot, @looks)
                """,
                new
                {
                    name = c.Name, kind = c.Kind == CampaignKind.Screen ? "screen" : "soak", bootloader = c.Bootloader?.ToString(), sha,
                    baseline = c.Baseline?.ToString(), cycles = c.Cycles, cores = c.Cores, lots = string.Join(',', c.Lots),
                    rigs = string.Join(',', c.Rigs), margin = c.Margin, alpha = c.Alpha, power = c.Power,
                    perSlot = plan.CyclesPerSlot, looks = plan.Looks,
                }, tx);
            using (var copy = db.BeginBinaryImport(
                "COPY campaign_items (campaign, number, look, planned_rig, arm, bootloader, bootloader_sha256, slots, cycles_per_slot, cores) FROM STDIN (FORMAT BINARY)"))
            {
                foreach (var i in plan.Items)
                {
                    copy.StartRow();
                    copy.Write(c.Name);
                    copy.Write(i.Number);
                    copy.Write(i.Look);
                    copy.Write(i.Rig);
                    copy.Write(i.Arm == CampaignArm.Baseline ? "baseline" : "candidate");
                    if (i.Bootloader is null) copy.WriteNull(); else copy.Write(i.Bootloader);
                    if (i.Arm == CampaignArm.Candidate && sha is not null) copy.Write(sha); else copy.WriteNull();
                    copy.Write(i.Slots);
                    // a screen item is one pass over its batch of Cores
                    copy.Write(c.Kind == CampaignKind.Screen ? 1 : i.CyclesPerSlot);
                    copy.Write(i.Cores);
                }
                copy.Complete();
            }
            foreach (var b in baseline ?? [])
                db.Execute("INSERT INTO campaign_baselines (campaign, lot, mode, cycles, failures) VALUES (@name, @lot, @mode, @cycles, @failures)",
                    new { name = c.Name, lot = b.Lot, mode = b.Mode, cycles = b.Cycles, failures = b.Failures }, tx);
            tx.Commit();
            return 0;
        });
    }

    /// <summary>
    /// What a typed stored baseline names in the fleet store, and its counts per lot and failure mode by the soak's rule
    /// (as <c>fleet_campaign_counts</c> counts a campaign's): an earlier soak campaign's candidate arm (its credited
    /// cycles), or a soak run (its id or an unambiguous prefix of it, as `hilrig runs` takes one).
    /// </summary>
    /// <exception cref="ResultsStoreException">It names nothing, both a campaign and a run, several runs, or something that soaked no cycle.</exception>
    public static (CampaignBaseline Baseline, IReadOnlyList<BaselineCount> Counts) ResolveBaseline(string connectionString, CampaignBaseline.Stored stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        var cs = Normalise(connectionString);
        var target = TargetOf(cs);
        return Guarded(cs, target, db =>
        {
            var text = stored.Reference;
            var campaignKind = db.ExecuteScalar<string?>("SELECT kind FROM campaigns WHERE name = @text", new { text });
            Guid? run = null;
            string? runProblem = null;
            if (RunIds.Digits(text) is { } digits)
            {
                var candidates = db.Query<string>("SELECT id FROM runs WHERE kind = 'soak' AND replace(id, '-', '') LIKE @prefix",
                    new { prefix = digits + "%" }).Select(Guid.Parse);
                if (RunIds.TryResolve(text, candidates, $"the soak runs of {target}", out var id, out var problem)) run = id;
                else runProblem = problem;
            }
            if (campaignKind is not null && run is not null)
                throw new ResultsStoreException($"--baseline {text}: names both campaign {text} and soak run {run}; give the run's full id, or rename nothing and pick one");
            IReadOnlyList<BaselineCount> counts;
            CampaignBaseline resolved;
            if (campaignKind is not null)
            {
                if (campaignKind != "soak")
                    throw new ResultsStoreException($"--baseline {text}: campaign {text} is a {campaignKind} campaign; a baseline is a soak campaign or a soak run");
                resolved = new CampaignBaseline.Campaign(text);
                counts = [.. db.Query<BaselineCount>(
                    """
                    SELECT x.lot AS Lot, x.mode AS Mode, SUM(x.cycles)::bigint AS Cycles, SUM(x.failures)::bigint AS Failures
                    FROM fleet_campaign_counts(@text) x JOIN campaign_items i ON i.campaign = @text AND i.number = x.number
                    WHERE i.arm = 'candidate'
                    GROUP BY 1, 2 ORDER BY 1, 2
                    """, new { text })];
            }
            else if (run is { } id)
            {
                resolved = new CampaignBaseline.Run(StoreText.Id(id));
                counts = [.. db.Query<BaselineCount>(
                    """
                    SELECT COALESCE(d.lot, '(unknown)') AS Lot,
                           CASE WHEN r.verdict = 'fail' AND r.test IN ('ota', 'factory-reset', 'soak') THEN COALESCE(r.failure_mode, r.test) END AS Mode,
                           COUNT(*) FILTER (WHERE r.test IN ('ota', 'soak') AND r.verdict IN ('pass', 'fail')) AS Cycles,
                           COUNT(*) FILTER (WHERE r.test IN ('ota', 'factory-reset', 'soak') AND r.verdict = 'fail') AS Failures
                    FROM results r LEFT JOIN devices d ON d.device_id = r.device_id
                    WHERE r.run_id = @id
                    GROUP BY 1, 2 ORDER BY 1, 2
                    """, new { id = StoreText.Id(id) })];
            }
            else
            {
                throw new ResultsStoreException(runProblem is not null && !runProblem.Contains("no run with that id", StringComparison.Ordinal)
                    ? $"--baseline {runProblem}"
                    : $"--baseline {text}: no campaign of that name and no soak run with that id in {target}; valid: BL13, BL14, candidate, a campaign name (hilrig campaign list) or a soak run id (hilrig runs)");
            }
            if (counts.Sum(x => x.Cycles) == 0)
                throw new ResultsStoreException($"--baseline {text}: {resolved} has no soak cycles credited in {target}; a baseline needs cycles to compare with");
            return (resolved, counts);
        });
    }

    /// <returns>The campaign's state before (null: no such campaign).</returns>
    public static string? Cancel(string connectionString, string name)
    {
        var cs = Normalise(connectionString);
        return Guarded(cs, TargetOf(cs), db =>
        {
            using var tx = db.BeginTransaction();
            var state = db.ExecuteScalar<string?>("SELECT state FROM campaigns WHERE name = @name FOR UPDATE", new { name }, tx);
            if (state == "running")
            {
                db.Execute("UPDATE campaigns SET state = 'cancelled', ended_at = clock_timestamp() WHERE name = @name", new { name }, tx);
                db.Execute("UPDATE campaign_items SET state = 'skipped' WHERE campaign = @name AND state = 'queued'", new { name }, tx);
            }
            tx.Commit();
            return state;
        });
    }

    public static IReadOnlyList<CampaignRecord> List(string connectionString)
    {
        var cs = Normalise(connectionString);
        return Guarded(cs, TargetOf(cs), db => db.Query<CampaignRecord>(CampaignColumns + " ORDER BY created_at DESC, name").ToList());
    }

    /// <summary>Items done and planned per campaign (for the list).</summary>
    public static IReadOnlyDictionary<string, (int Done, int Items)> Progress(string connectionString)
    {
        var cs = Normalise(connectionString);
        return Guarded(cs, TargetOf(cs), db => db.Query<(string, int, int)>(
            "SELECT campaign, COUNT(*) FILTER (WHERE state = 'done')::int, COUNT(*)::int FROM campaign_items GROUP BY campaign")
            .ToDictionary(r => r.Item1, r => (r.Item2, r.Item3), StringComparer.Ordinal));
    }

    public static CampaignSnapshot? Snapshot(string connectionString, string name)
    {
        var cs = Normalise(connectionString);
        return Guarded(cs, TargetOf(cs), db => ReadSnapshot(db, name));
    }

    /// <summary>One campaign's snapshot over an open connection to the fleet database (the dashboard's).</summary>
    public static CampaignSnapshot? ReadSnapshot(NpgsqlConnection db, string name)
    {
        ArgumentNullException.ThrowIfNull(db);
        using var tx = db.BeginTransaction(System.Data.IsolationLevel.RepeatableRead);
        var campaign = db.QueryFirstOrDefault<CampaignRecord>(CampaignColumns + " WHERE name = @name", new { name }, tx);
        if (campaign is null) return null;
        var items = db.Query<CampaignItemRecord>(
            """
            SELECT number AS Number, look AS Look, planned_rig AS PlannedRig, arm AS Arm, bootloader AS Bootloader, slots AS Slots,
                   cycles_per_slot AS CyclesPerSlot, cores AS Cores, state AS State, cycles_done AS CyclesDone, leased_by AS LeasedBy,
                   lease_expires AS LeaseExpires, attempts AS Attempts, done_at AS DoneAt
            FROM campaign_items WHERE campaign = @name ORDER BY number
            """, new { name }, tx).ToList();
        var counts = ReadCounts(db, name, tx);
        var agents = db.Query<AgentRecord>(
            """
            SELECT rig_id AS RigId, slots AS Slots, pid AS Pid, host AS Host, state AS State, heartbeat_at AS HeartbeatAt,
                   heartbeat_timeout_s AS HeartbeatTimeoutS, started_at AS StartedAt, fleet_agent_alive(rig_id) AS Alive
            FROM fleet_agents ORDER BY rig_id
            """, transaction: tx).ToList();
        var baseline = db.Query<BaselineCount>(
            "SELECT lot AS Lot, mode AS Mode, cycles AS Cycles, failures AS Failures FROM campaign_baselines WHERE campaign = @name ORDER BY lot, mode",
            new { name }, tx).ToList();
        var now = db.ExecuteScalar<DateTime>("SELECT clock_timestamp()", transaction: tx);
        tx.Commit();
        return new CampaignSnapshot(campaign, items, counts, agents, now) { Baseline = baseline };
    }

    /// <summary>Every campaign, newest first, over an open connection to the fleet database.</summary>
    public static IReadOnlyList<CampaignRecord> ReadList(NpgsqlConnection db) => db.Query<CampaignRecord>(CampaignColumns + " ORDER BY created_at DESC, name").ToList();

    internal static List<CampaignCount> ReadCounts(NpgsqlConnection db, string campaign, NpgsqlTransaction? tx = null) =>
        db.Query<CampaignCount>(
            """
            SELECT number AS Number, rig_id AS RigId, run_id AS RunId, lot AS Lot, mode AS Mode, cycles AS Cycles, failures AS Failures,
                   units AS Units, units_failed AS UnitsFailed
            FROM fleet_campaign_counts(@campaign)
            """, new { campaign }, tx).ToList();

    private const string CampaignColumns =
        """
        SELECT name AS Name, kind AS Kind, bootloader AS Bootloader, bootloader_sha256 AS BootloaderSha256, baseline AS Baseline, cycles AS Cycles,
               cores AS Cores, lots AS Lots, rigs AS Rigs, margin AS Margin, alpha AS Alpha, power AS Power, cycles_per_slot AS CyclesPerSlot,
               looks AS Looks, state AS State, decision AS Decision, decided_look AS DecidedLook, decided_by AS DecidedBy,
               created_at AS CreatedAt, created_by AS CreatedBy, ended_at AS EndedAt
        FROM campaigns
        """;

    internal static string Normalise(string connectionString)
    {
        try
        {
            return new NpgsqlConnectionStringBuilder(connectionString).ConnectionString;
        }
        catch (ArgumentException e)
        {
            throw new ResultsStoreException($"not a PostgreSQL connection string ({e.Message}); e.g. Host=127.0.0.1;Database=fleet;Username=hilrig_rig_01;Password=...", e);
        }
    }

    internal static string TargetOf(string connectionString)
    {
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        return $"{b.Host}:{b.Port}/{b.Database}";
    }

    /// <summary>Runs <paramref name="action"/> on an open connection; the server's refusals become a <see cref="FleetSyncException"/> with its cause.</summary>
    internal static T Guarded<T>(string connectionString, string target, Func<NpgsqlConnection, T> action)
    {
        var connected = false;
        try
        {
            using var db = new NpgsqlConnection(connectionString);
            db.Open();
            connected = true;
            return action(db);
        }
        catch (PostgresException pg)
        {
            var user = new NpgsqlConnectionStringBuilder(connectionString).Username;
            throw pg.SqlState switch
            {
                "28P01" or "28000" => new FleetSyncException(SyncFailure.Authentication, $"{target} refused the login of {user}: wrong password or no such role", pg),
                "42501" => new FleetSyncException(SyncFailure.Permission, $"{target} refused {user}: {pg.MessageText}", pg),
                "42883" or "42P01" or "3D000" => new FleetSyncException(SyncFailure.Schema,
                    $"{target} has no campaign tables at this hilrig's schema ({pg.MessageText}); run `hilrig fleet init` there", pg),
                "22023" or "55000" => new FleetSyncException(SyncFailure.Permission, $"{target} refused: {pg.MessageText}", pg),
                _ when pg.SqlState.StartsWith("57P", StringComparison.Ordinal) || pg.SqlState.StartsWith("08", StringComparison.Ordinal) =>
                    new FleetSyncException(SyncFailure.Lost, $"lost {target} ({pg.MessageText})", pg),
                _ => new FleetSyncException(SyncFailure.Lost, $"{target}: {pg.SqlState} {pg.MessageText}", pg),
            };
        }
        catch (Exception e) when (e is NpgsqlException or SocketException or TimeoutException or IOException)
        {
            var reason = (e.InnerException as SocketException)?.Message ?? e.InnerException?.Message ?? e.Message;
            throw connected
                ? new FleetSyncException(SyncFailure.Lost, $"lost {target} ({reason})", e)
                : new FleetSyncException(SyncFailure.Unreachable, $"cannot reach the fleet database at {target}: {reason}", e);
        }
    }
}
