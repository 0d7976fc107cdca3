using System.Data;
using Dapper;
using HilRig.Core.Results;

namespace HilRig.Reports.Queries;

/// <summary>One stored run with its result counts, as `hilrig runs` lists it.</summary>
public sealed record RunListing(
    Guid Id, string Kind, string Status, string RigId, string? Bootloader, long? Seed,
    DateTimeOffset StartedAt, DateTimeOffset? EndedAt, int Results, int Pass, int Fail, int RigFault);

/// <summary>What one slot did in a run: its devices, its result counts and the verdict of its last result.</summary>
public sealed record RunSlotSummary(int Slot, IReadOnlyList<string> Devices, int Results, int Pass, int Fail, int RigFault,
    string LastTest, string LastVerdict, string? FailureMode);

public sealed record RunDetail(RunListing Run, IReadOnlyList<RunSlotSummary> Slots);

public sealed partial class ResultsQueries
{
    /// <summary>
    /// The runs a query selects (<paramref name="tail"/>: its WHERE, ORDER BY and LIMIT over <c>runs ru</c>), with their
    /// result counts. Every run list and run page counts here, in one pass per 500 runs: on SQLite from the summary
    /// run_slot_counts (a few rows per run, however many results), elsewhere from the results grouped by run and verdict.
    /// </summary>
    private static List<RunRow> ListRuns(IDbConnection db, string tail, object? args)
    {
        var runs = db.Query<RunRow>(
            """
            SELECT ru.id AS Id, ru.kind AS Kind, ru.status AS Status, ru.rig_id AS RigId, ru.bootloader AS Bootloader, ru.seed AS Seed,
                   ru.started_at AS StartedAt, ru.ended_at AS EndedAt
            FROM runs ru
            """ + " " + tail, args).ToList();
        var byId = runs.ToDictionary(r => r.Id, StringComparer.Ordinal);
        var counted = IsSqlite(db)
            ? "SELECT run_id AS RunId, verdict AS Verdict, SUM(results) AS N FROM run_slot_counts WHERE run_id IN @ids GROUP BY run_id, verdict"
            // Npgsql takes the list as one array parameter
            : "SELECT run_id AS RunId, verdict AS Verdict, COUNT(*) AS N FROM results WHERE run_id = ANY(@ids) GROUP BY run_id, verdict";
        foreach (var chunk in runs.Select(r => r.Id).Chunk(500))
        {
            foreach (var c in db.Query<VerdictCountRow>(counted, new { ids = chunk }))
            {
                var r = byId[c.RunId];
                r.Results += c.N;
                if (c.Verdict == "pass") r.Pass += c.N;
                else if (c.Verdict == "fail") r.Fail += c.N;
                else if (c.Verdict == "rig-fault") r.RigFault += c.N;
            }
        }
        return runs;
    }

    /// <summary>Runs newest first (by start, then id), at most <paramref name="limit"/> of them when given.</summary>
    public IReadOnlyList<RunListing> Runs(int? limit = null)
    {
        using var db = Open();
        var rows = ListRuns(db, "ORDER BY ru.started_at DESC, ru.id DESC" + (limit is { } n ? $" LIMIT {n}" : ""), null);
        return [.. rows.Select(r => r.ToListing())];
    }

    /// <summary>Every run id in the store, for resolving a typed prefix with <see cref="RunIds"/>.</summary>
    public IReadOnlyList<Guid> RunIdList()
    {
        using var db = Open();
        return [.. db.Query<string>("SELECT id FROM runs").Select(Guid.Parse)];
    }

    /// <summary>
    /// One run with a summary per slot (slot order); null when the store has no such run. Counted per slot in SQL
    /// (devices in the order they first finished, the last result and the last failure mode by end time), never by
    /// reading the run's every result; on SQLite from the summaries run_slot_counts, run_slot_devices and run_slots.
    /// </summary>
    public RunDetail? Run(Guid id)
    {
        using var db = Open();
        var args = new { id = id.ToString("D") };
        var row = ListRuns(db, "WHERE ru.id = @id", args).SingleOrDefault();
        if (row is null) return null;
        var sqlite = IsSqlite(db);
        var counts = db.Query<RunSlotCountRow>(sqlite
            ? "SELECT slot AS Slot, verdict AS Verdict, results AS N FROM run_slot_counts WHERE run_id = @id"
            : "SELECT slot AS Slot, verdict AS Verdict, COUNT(*) AS N FROM results WHERE run_id = @id GROUP BY slot, verdict", args).ToList();
        var devices = db.Query<SlotDeviceRow>(sqlite
            ? "SELECT slot AS Slot, device_id AS DeviceId FROM run_slot_devices WHERE run_id = @id ORDER BY slot, first_ended_at, device_id"
            : "SELECT slot AS Slot, device_id AS DeviceId FROM results WHERE run_id = @id GROUP BY slot, device_id ORDER BY slot, MIN(ended_at), device_id", args)
            .ToLookup(d => d.Slot, d => d.DeviceId);
        var lasts = db.Query<RunSlotLastRow>(sqlite
            ? "SELECT slot AS Slot, last_test AS Test, last_verdict AS Verdict, failure_mode AS FailureMode FROM run_slots WHERE run_id = @id"
            : """
              SELECT l.slot AS Slot, l.test AS Test, l.verdict AS Verdict,
                     (SELECT m.failure_mode FROM results m WHERE m.run_id = l.run_id AND m.slot = l.slot AND m.failure_mode IS NOT NULL
                      ORDER BY m.ended_at DESC, m.id DESC LIMIT 1) AS FailureMode
              FROM (SELECT run_id, slot, test, verdict, ROW_NUMBER() OVER (PARTITION BY slot ORDER BY ended_at DESC, id DESC) AS rn
                    FROM results WHERE run_id = @id) l
              WHERE l.rn = 1
              """, args).ToDictionary(l => l.Slot);
        var slots = counts.GroupBy(c => c.Slot).OrderBy(g => g.Key).Select(g =>
        {
            long Of(string verdict) => g.Where(c => c.Verdict == verdict).Sum(c => c.N);
            var last = lasts[g.Key];
            return new RunSlotSummary((int)g.Key, [.. devices[g.Key]], (int)g.Sum(c => c.N), (int)Of("pass"), (int)Of("fail"), (int)Of("rig-fault"),
                last.Test, last.Verdict, last.FailureMode);
        }).ToList();
        return new RunDetail(row.ToListing(), slots);
    }

    private sealed class RunRow
    {
        public string Id { get; set; } = "";
        public string Kind { get; set; } = "";
        public string Status { get; set; } = "";
        public string RigId { get; set; } = "";
        public string? Bootloader { get; set; }
        public long? Seed { get; set; }
        public string StartedAt { get; set; } = "";
        public string? EndedAt { get; set; }
        public long Results { get; set; }
        public long Pass { get; set; }
        public long Fail { get; set; }
        public long RigFault { get; set; }

        public RunListing ToListing() => new(Guid.Parse(Id), Kind, Status, RigId, Bootloader, Seed, Time(StartedAt), EndedAt is null ? null : Time(EndedAt),
            (int)Results, (int)Pass, (int)Fail, (int)RigFault);

        private static DateTimeOffset Time(string text) =>
            DateTimeOffset.Parse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal);
    }

    private sealed class RunSlotCountRow
    {
        public long Slot { get; set; }
        public string Verdict { get; set; } = "";
        public long N { get; set; }
    }

    private sealed class SlotDeviceRow
    {
        public long Slot { get; set; }
        public string DeviceId { get; set; } = "";
    }

    private sealed class RunSlotLastRow
    {
        public long Slot { get; set; }
        public string Test { get; set; } = "";
        public string Verdict { get; set; } = "";
        public string? FailureMode { get; set; }
    }
}
