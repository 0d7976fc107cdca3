using HilRig.Core.Procedures;
using HilRig.Core.Results;

namespace HilRig.Cli.Commands;

/// <summary>
/// Hands each soak row to the run's <see cref="ResultRecorder"/> as soon as its step ends: a night's soak that is
/// stopped or crashes keeps every step it judged, and the rig (or the simulation thread) never waits on the database.
/// Keeps each slot's first DUT failure as stored, for the confirmation policy.
/// </summary>
internal sealed class SoakRowWriter(ResultRecorder recorder, IReadOnlyDictionary<int, string> lotBySlot)
{
    private readonly Dictionary<int, Task<StoredResult>> _firstFailure = [];

    public int Stored => recorder.Stored;

    public void Add(SoakRow row)
    {
        var stored = recorder.Record(SlotFinding.From(row, lotBySlot.GetValueOrDefault(row.Slot)));
        if (row.Verdict != Verdict.Fail) return;
        lock (_firstFailure) _firstFailure.TryAdd(row.Slot, stored);
    }

    /// <summary>Waits until every row added so far is stored; rethrows a database failure.</summary>
    public void Complete() => recorder.Flush();

    /// <summary>Each slot's first DUT failure of the run, as stored (call after <see cref="Complete"/>).</summary>
    public IReadOnlyList<StoredResult> FirstFailures()
    {
        lock (_firstFailure)
            return [.. _firstFailure.OrderBy(f => f.Key).Where(f => f.Value.IsCompletedSuccessfully).Select(f => f.Value.Result)];
    }
}
