using HilRig.Core.Procedures;
using HilRig.Core.Results;

namespace HilRig.Cli.Commands;

/// <summary>
/// Hands each soak row to the run's <see cref="ResultRecorder"/> as soon as its step ends: a night's soak that is
/// stopped or crashes keeps every step it judged, and the rig (or the simulation thread) never waits on the database.
/// </summary>
internal sealed class SoakRowWriter(ResultRecorder recorder, IReadOnlyDictionary<int, string> lotBySlot)
{
    public int Stored => recorder.Stored;

    public void Add(SoakRow row) => _ = recorder.Record(SlotFinding.From(row, lotBySlot.GetValueOrDefault(row.Slot)));

    /// <summary>Waits until every row added so far is stored; rethrows a database failure.</summary>
    public void Complete() => recorder.Flush();
}
