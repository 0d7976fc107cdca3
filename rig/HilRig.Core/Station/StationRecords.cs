using HilRig.Core.Procedures;
using HilRig.Core.Results;

namespace HilRig.Core.Station;

/// <summary>
/// The station's verdicts through the run's one <see cref="ResultRecorder"/>, and a Core's past from the results store:
/// its earlier final verdicts (any run, any slot: a retest in another slot is a retest) and its lot from the inventory.
/// </summary>
public sealed class StoreStationRecords(ResultsStore store, ResultRecorder recorder, string finalTest) : IStationRecords
{
    public Guid RunId => recorder.RunId;

    public Task RecordAsync(SlotOutcome outcome) => recorder.Record(Finding(outcome));

    /// <summary>A step before the final verdict (the readback's row when the loops follow), stored as it is judged.</summary>
    public Task RecordStep(SlotOutcome outcome) => recorder.Record(Finding(outcome));

    public string? LotOf(string deviceId) => store.LotOf(deviceId);

    public IReadOnlyList<PriorVerdict> Finals(string deviceId) =>
        [.. store.GetResults(deviceId: deviceId).Where(r => r.Test == finalTest).Select(r => new PriorVerdict(r.Slot, r.Verdict, r.FailureMode, r.Signature, r.RunId))];

    /// <summary>The run's final verdicts so far, in the order they were stored (a resumed shift's counts start from them).</summary>
    public IReadOnlyList<StoredResult> ShiftFinals() => [.. store.GetResults(recorder.RunId).Where(r => r.Test == finalTest)];

    /// <summary>Per slot, the Core last judged there in this run (shown again, not screened again, if it is still in).</summary>
    public IReadOnlyDictionary<int, (string DeviceId, PriorVerdict Verdict)> LastPerSlot() => LastPerSlot(recorder.RunId);

    /// <summary>Per slot, the Core last judged there in <paramref name="run"/> (the shift before this one, on a line picked up as it stands).</summary>
    public IReadOnlyDictionary<int, (string DeviceId, PriorVerdict Verdict)> LastPerSlot(Guid run) =>
        store.GetResults(run).Where(r => r.Test == finalTest).GroupBy(r => r.Slot).ToDictionary(g => g.Key, g =>
        {
            var r = g.Last();
            return (r.DeviceId, new PriorVerdict(r.Slot, r.Verdict, r.FailureMode, r.Signature, r.RunId));
        });

    /// <summary>
    /// The row of an outcome: a Core known only in DFU is stored under its DFU serial until it says its device id, as
    /// `hilrig screen` stores it; the lot is the inventory's (unknown when none), never the slot's.
    /// </summary>
    public SlotFinding Finding(SlotOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        return SlotFinding.From(outcome) with
        {
            DeviceId = outcome.DeviceId ?? (outcome.Evidence.DfuSerial is { } dfuSerial ? $"dfu-{dfuSerial}" : null),
            Lot = outcome.DeviceId is null ? null : store.LotOf(outcome.DeviceId) ?? Inventory.DeviceLot.Unknown,
        };
    }
}
