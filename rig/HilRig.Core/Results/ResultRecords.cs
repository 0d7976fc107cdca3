using HilRig.Core.Procedures;

namespace HilRig.Core.Results;

public enum RunStatus
{
    Running,
    Passed,
    Failed,
    RigFault,
    Aborted,

    /// <summary>Left running by a process that no longer exists (killed, crashed, power cut): marked by the next start.</summary>
    Interrupted,
}

/// <summary>What a run is, recorded when it starts.</summary>
/// <param name="Kind">What the run does, e.g. "screen" or "soak".</param>
public sealed record RunInfo(
    string RigId,
    string ConfigHash,
    int? Seed,
    string? Bootloader,
    string Kind,
    DateTimeOffset StartedAt)
{
    /// <summary>The process running it, so a later start can tell a run that was interrupted from one still going.</summary>
    public RunOwner? Owner { get; init; }
}

/// <summary>One attempt of one test on one device, as a procedure reports it.</summary>
/// <param name="Attempt">Null: the store numbers it (previous attempts + 1). Given: must not exist yet.</param>
/// <param name="EvidenceJson">What was seen (LED timeline, bit-error map, durations), as JSON.</param>
public sealed record ResultRecord(
    Guid RunId,
    string DeviceId,
    int Slot,
    string Test,
    Verdict Verdict,
    DateTimeOffset StartedAt,
    DateTimeOffset EndedAt,
    int? Cycle = null,
    int? Attempt = null,
    string? FailureMode = null,
    string? Signature = null,
    TimeSpan? DeviceTime = null,
    string? EvidenceJson = null,
    FailureKind? Kind = null)
{
    /// <summary>The kind stored: given, or the one the verdict and failure mode carry.</summary>
    public FailureKind StoredKind => Kind ?? FailureKinds.Of(Verdict, FailureMode);
}

/// <summary>A result as stored, with its id and final attempt number.</summary>
public sealed record StoredResult(
    Guid Id,
    Guid RunId,
    string DeviceId,
    int Slot,
    string Test,
    int? Cycle,
    int Attempt,
    Verdict Verdict,
    string? FailureMode,
    string? Signature,
    TimeSpan? DeviceTime,
    DateTimeOffset StartedAt,
    DateTimeOffset EndedAt,
    string? EvidenceJson)
{
    /// <summary>Whose fault the verdict is, as stored (rows from before schema step 9: as their verdict and mode carry).</summary>
    public FailureKind Kind { get; init; } = FailureKinds.Of(Verdict, FailureMode);
}

public sealed record StoredRun(
    Guid Id,
    string RigId,
    string ConfigHash,
    int? Seed,
    string? Bootloader,
    string Kind,
    DateTimeOffset StartedAt,
    DateTimeOffset? EndedAt,
    RunStatus Status);

/// <summary>Failure rate of one chip lot. A unit counts as failed when the last attempt of any of its tests failed.</summary>
public sealed record LotSummary(string Lot, int Units, int Failed)
{
    public double FailureRate => Units == 0 ? 0 : (double)Failed / Units;
}

public sealed class ResultsStoreException : Exception
{
    public ResultsStoreException()
    {
    }

    public ResultsStoreException(string message)
        : base(message)
    {
    }

    public ResultsStoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// One schema step of a store being migrated, as it starts (<paramref name="Finished"/> false) and as it ends; step 0 is the
/// integrity check a SQLite store's open runs first (a read of the whole file; a store over 256 MiB once a day).
/// </summary>
/// <param name="Store">The store, as its messages name it.</param>
/// <param name="Step">The step's number; the store is at <c>Step - 1</c> before it. 0: the integrity check.</param>
/// <param name="Latest">The schema this hilrig writes.</param>
/// <param name="Title">What the step brings.</param>
/// <param name="From">The store's schema when it was opened: 0 for a store being created (and for step 0, told before the schema is read).</param>
public sealed record SchemaStepProgress(string Store, int Step, int Latest, string Title, int From, bool Finished);
