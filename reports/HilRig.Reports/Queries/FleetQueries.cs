using System.Data;
using Dapper;

namespace HilRig.Reports.Queries;

/// <summary>A rig as the fleet knows it: its last sync, its clock, and its result counts.</summary>
/// <param name="LastSyncAt">When the rig last committed a sync (null on a rig's own store, which has no syncs).</param>
/// <param name="LastResultAt">The start time of its newest result, as stored.</param>
public sealed record RigSummary(
    string RigId, string? Line, string? SoftwareVersion, DateTimeOffset? LastSyncAt, double? ClockOffsetMs,
    long Results, long Failed, long RigFaults, string? LastResultAt);

/// <summary>One slot of a rig: results, failed and rig-fault results, newest result.</summary>
public sealed record RigSlotCounts(int Slot, long Results, long Failed, long RigFaults, string LastResultAt);

/// <summary>One day (UTC, yyyy-MM-dd) of a rig's results.</summary>
public sealed record RigDayCounts(string Day, long Results, long Failed, long RigFaults);

/// <summary>One rig's page: the rig, its slots, and its newest days.</summary>
public sealed record RigView(RigSummary Rig, IReadOnlyList<RigSlotCounts> Slots, IReadOnlyList<RigDayCounts> Days);

/// <summary>
/// The fleet's rigs. On a fleet database they come from the rollups the ingest keeps (fleet_rigs, rollup_rig_slot,
/// rollup_rig_day), so a rig's page costs the same at ten results or ten million; on a rig's own SQLite store, which has
/// no rollups, the same numbers are counted from its results.
/// </summary>
public sealed partial class ResultsQueries
{
    /// <summary>Every rig with results, or registered with the fleet, in rig id order.</summary>
    public IReadOnlyList<RigSummary> Rigs()
    {
        using var db = Open();
        return IsFleet(db)
            ? [.. db.Query<RigRow>(FleetRigSelect + " ORDER BY f.rig_id").Select(r => r.ToSummary())]
            : [.. db.Query<RigRow>(LocalRigSelect + " GROUP BY ru.rig_id ORDER BY ru.rig_id").Select(r => r.ToSummary())];
    }

    /// <summary>One rig with its slots (slot order) and its newest <paramref name="days"/> days (newest first); null for an unknown rig.</summary>
    public RigView? Rig(string rigId, int days = 30)
    {
        ArgumentNullException.ThrowIfNull(rigId);
        using var db = Open();
        if (IsFleet(db))
        {
            var rig = db.QuerySingleOrDefault<RigRow>(FleetRigSelect + " WHERE f.rig_id = @rigId", new { rigId });
            if (rig is null)
                return null;
            var slots = db.Query<SlotCountRow>(
                "SELECT slot AS Slot, results AS Results, failed AS Failed, rig_faults AS RigFaults, last_result_at AS LastResultAt FROM rollup_rig_slot WHERE rig_id = @rigId AND results > 0 ORDER BY slot",
                new { rigId });
            var perDay = db.Query<DayCountRow>(
                "SELECT day AS Day, results AS Results, failed AS Failed, rig_faults AS RigFaults FROM rollup_rig_day WHERE rig_id = @rigId ORDER BY day DESC LIMIT @days",
                new { rigId, days });
            return new RigView(rig.ToSummary(), [.. slots.Select(s => s.ToCounts())], [.. perDay.Select(d => d.ToCounts())]);
        }
        var local = db.QuerySingleOrDefault<RigRow>(LocalRigSelect + " WHERE ru.rig_id = @rigId GROUP BY ru.rig_id", new { rigId });
        if (local is null)
            return null;
        var localSlots = db.Query<SlotCountRow>(
            $"""
            SELECT r.slot AS Slot, {Counts}, MAX(r.started_at) AS LastResultAt
            FROM results r JOIN runs ru ON ru.id = r.run_id WHERE ru.rig_id = @rigId GROUP BY r.slot ORDER BY r.slot
            """, new { rigId });
        var localDays = db.Query<DayCountRow>(
            $"""
            SELECT substr(r.started_at, 1, 10) AS Day, {Counts}
            FROM results r JOIN runs ru ON ru.id = r.run_id WHERE ru.rig_id = @rigId GROUP BY substr(r.started_at, 1, 10) ORDER BY 1 DESC LIMIT @days
            """, new { rigId, days });
        return new RigView(local.ToSummary(), [.. localSlots.Select(s => s.ToCounts())], [.. localDays.Select(d => d.ToCounts())]);
    }

    private const string Counts =
        "COUNT(*) AS Results, SUM(CASE WHEN r.verdict = 'fail' THEN 1 ELSE 0 END) AS Failed, SUM(CASE WHEN r.verdict = 'rig-fault' THEN 1 ELSE 0 END) AS RigFaults";

    private const string FleetRigSelect =
        """
        SELECT f.rig_id AS RigId, f.line AS Line, f.software_version AS SoftwareVersion, to_char(f.last_sync_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS LastSyncAt,
               f.clock_offset_ms AS ClockOffsetMs, f.last_result_at AS LastResultAt,
               COALESCE(s.results, 0) AS Results, COALESCE(s.failed, 0) AS Failed, COALESCE(s.rig_faults, 0) AS RigFaults
        FROM fleet_rigs f
        LEFT JOIN (SELECT rig_id, SUM(results)::bigint AS results, SUM(failed)::bigint AS failed, SUM(rig_faults)::bigint AS rig_faults FROM rollup_rig_slot GROUP BY rig_id) s
               ON s.rig_id = f.rig_id
        """;

    private const string LocalRigSelect =
        $"""
        SELECT ru.rig_id AS RigId, NULL AS Line, NULL AS SoftwareVersion, NULL AS LastSyncAt, NULL AS ClockOffsetMs, MAX(r.started_at) AS LastResultAt,
               {Counts}
        FROM runs ru JOIN results r ON r.run_id = ru.id
        """;

    /// <summary>A fleet database has the rigs' rollups; a rig's store has none.</summary>
    private static bool IsFleet(IDbConnection db) =>
        db is Npgsql.NpgsqlConnection && db.ExecuteScalar<bool>("SELECT to_regclass('rollup_rig_day') IS NOT NULL");

    private sealed class RigRow
    {
        public string RigId { get; set; } = "";
        public string? Line { get; set; }
        public string? SoftwareVersion { get; set; }
        public string? LastSyncAt { get; set; }
        public double? ClockOffsetMs { get; set; }
        public string? LastResultAt { get; set; }
        public long Results { get; set; }
        public long Failed { get; set; }
        public long RigFaults { get; set; }

        public RigSummary ToSummary() => new(RigId, Line, SoftwareVersion,
            LastSyncAt is null ? null : DateTimeOffset.Parse(LastSyncAt, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal),
            ClockOffsetMs, Results, Failed, RigFaults, LastResultAt);
    }

    private sealed class SlotCountRow
    {
        public long Slot { get; set; }
        public long Results { get; set; }
        public long Failed { get; set; }
        public long RigFaults { get; set; }
        public string LastResultAt { get; set; } = "";

        public RigSlotCounts ToCounts() => new((int)Slot, Results, Failed, RigFaults, LastResultAt);
    }

    private sealed class DayCountRow
    {
        public string Day { get; set; } = "";
        public long Results { get; set; }
        public long Failed { get; set; }
        public long RigFaults { get; set; }

        public RigDayCounts ToCounts() => new(Day, Results, Failed, RigFaults);
    }
}
