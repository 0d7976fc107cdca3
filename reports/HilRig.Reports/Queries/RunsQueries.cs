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
    private const string RunSelect =
        """
        SELECT ru.id AS Id, ru.kind AS Kind, ru.status AS Status, ru.rig_id AS RigId, ru.bootloader AS Bootloader, ru.seed AS Seed,
               ru.started_at AS StartedAt, ru.ended_at AS EndedAt,
               (SELECT COUNT(*) FROM results r WHERE r.run_id = ru.id) AS Results,
               (SELECT COUNT(*) FROM results r WHERE r.run_id = ru.id AND r.verdict = 'pass') AS Pass,
               (SELECT COUNT(*) FROM results r WHERE r.run_id = ru.id AND r.verdict = 'fail') AS Fail,
               (SELECT COUNT(*) FROM results r WHERE r.run_id = ru.id AND r.verdict = 'rig-fault') AS RigFault
        FROM runs ru
        """;

    /// <summary>Runs newest first (by start, then id), at most <paramref name="limit"/> of them when given.</summary>
    public IReadOnlyList<RunListing> Runs(int? limit = null)
    {
        using var db = Open();
        var rows = db.Query<RunRow>(RunSelect + " ORDER BY ru.started_at DESC, ru.id DESC" + (limit is { } n ? $" LIMIT {n}" : "")).ToList();
        return [.. rows.Select(r => r.ToListing())];
    }

    /// <summary>Every run id in the store, for resolving a typed prefix with <see cref="RunIds"/>.</summary>
    public IReadOnlyList<Guid> RunIdList()
    {
        using var db = Open();
        return [.. db.Query<string>("SELECT id FROM runs").Select(Guid.Parse)];
    }

    /// <summary>One run with a summary per slot (slot order); null when the store has no such run.</summary>
    public RunDetail? Run(Guid id)
    {
        using var db = Open();
        var row = db.QuerySingleOrDefault<RunRow>(RunSelect + " WHERE ru.id = @id", new { id = id.ToString("D") });
        if (row is null) return null;
        var results = db.Query<RunResultRow>(
            "SELECT slot AS Slot, device_id AS DeviceId, test AS Test, verdict AS Verdict, failure_mode AS FailureMode FROM results WHERE run_id = @id ORDER BY ended_at, id",
            new { id = id.ToString("D") }).ToList();
        var slots = results.GroupBy(r => r.Slot).OrderBy(g => g.Key).Select(g =>
        {
            var last = g.Last();
            return new RunSlotSummary((int)g.Key, [.. g.Select(r => r.DeviceId).Distinct()], g.Count(),
                g.Count(r => r.Verdict == "pass"), g.Count(r => r.Verdict == "fail"), g.Count(r => r.Verdict == "rig-fault"),
                last.Test, last.Verdict, g.LastOrDefault(r => r.FailureMode is not null)?.FailureMode);
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

    private sealed class RunResultRow
    {
        public long Slot { get; set; }
        public string DeviceId { get; set; } = "";
        public string Test { get; set; } = "";
        public string Verdict { get; set; } = "";
        public string? FailureMode { get; set; }
    }
}
