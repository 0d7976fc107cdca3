using HilRig.Core.Procedures;
namespace HilRig.Reports.Results;

/// <summary>
/// One stored result, flat so that any store (SQLite on the rig, PostgreSQL for the fleet, a CSV
/// export) can feed the reports. A soak writes one row per cycle; screening one row per attempt.
/// </summary>
/// <param name="DeviceId">24 hex digits.</param>
/// <param name="Lot">The external flash chip lot from the inventory.</param>
/// <param name="Slot">The rig slot the attempt ran in.</param>
/// <param name="Test">Test operation, e.g. "dfu-readback", "factory-reset", "ota".</param>
/// <param name="Attempt">1 for the first attempt of this test on this device; retests count up, never overwrite.</param>
/// <param name="FailureMode">e.g. "stuck-bits", "erase-failure", "slow-chip"; null when passed.</param>
/// <param name="Signature">Finer fingerprint of a failure, e.g. "bit 3 stuck low in 0x20000"; null when passed.</param>
/// <param name="Bootloader">Bootloader build under test, e.g. "BL14"; null when not a soak.</param>
/// <param name="Cycle">Soak cycle number; null when not a soak.</param>
/// <param name="RecordedAt">When the attempt finished (rig clock).</param>
public sealed record ResultRow(
    string DeviceId,
    string Lot,
    int Slot,
    string Test,
    int Attempt,
    Verdict Verdict,
    string? FailureMode,
    string? Signature,
    string? Bootloader,
    int? Cycle,
    DateTimeOffset RecordedAt)
{
    public AttemptRecord ToAttempt() => new(DeviceId, Test, Attempt, Verdict);
}

/// <summary>The part of a result that yield needs.</summary>
public readonly record struct AttemptRecord(string DeviceId, string Test, int Attempt, Verdict Verdict);
