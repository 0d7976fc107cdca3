using System.Collections.Concurrent;
using System.Text.Json;
using HilRig.Core.Config;
using HilRig.Core.Procedures;
using HilRig.Core.Results;

namespace HilRig.Cli.Commands;

/// <summary>
/// Stores each soak row as soon as its step ends, on a thread of its own: a night's soak that is stopped or crashes
/// keeps every step it judged, and the rig (or the simulation thread) never waits on the database.
/// </summary>
internal sealed class SoakRowWriter : IDisposable
{
    private readonly BlockingCollection<SoakRow> _queue = new();
    private readonly Thread _thread;
    private readonly ResultsStore _store;
    private readonly Guid _runId;
    private readonly IReadOnlyDictionary<int, string> _lotBySlot;
    private readonly TimeProvider _wall;
    private readonly bool _rigClockIsWall;
    private readonly HashSet<string> _devices = [];
    private Exception? _failure;

    /// <param name="rigClockIsWall">False on the simulator: its clock starts in 2014, so rows are stamped when stored.</param>
    public SoakRowWriter(ResultsStore store, Guid runId, IReadOnlyDictionary<int, string> lotBySlot, TimeProvider wall, bool rigClockIsWall)
    {
        _rigClockIsWall = rigClockIsWall;
        _store = store;
        _runId = runId;
        _lotBySlot = lotBySlot;
        _wall = wall;
        _thread = new Thread(Drain) { IsBackground = true, Name = "soak rows" };
        _thread.Start();
    }

    public int Stored { get; private set; }

    public void Add(SoakRow row)
    {
        if (!_queue.IsAddingCompleted) _queue.Add(row);
    }

    /// <summary>Waits until every row added so far is stored; rethrows a database failure.</summary>
    public void Complete()
    {
        if (!_queue.IsAddingCompleted) _queue.CompleteAdding();
        _thread.Join();
        if (_failure is not null) throw new IOException($"storing soak rows failed after {Stored} row(s): {_failure.Message}", _failure);
    }

    public void Dispose()
    {
        if (!_queue.IsAddingCompleted) _queue.CompleteAdding();
        if (_thread.IsAlive) _thread.Join();
        _queue.Dispose();
    }

    private void Drain()
    {
        foreach (var row in _queue.GetConsumingEnumerable())
        {
            if (_failure is not null) continue;
            try
            {
                if (_devices.Add(row.DeviceId))
                    _store.UpsertDevice(row.DeviceId, _lotBySlot.GetValueOrDefault(row.Slot) ?? SimDefaults.UnlistedLot, _wall.GetUtcNow());
                var now = _wall.GetUtcNow();
                _store.RecordResult(new ResultRecord(_runId, row.DeviceId, row.Slot, row.Test, row.Verdict,
                    _rigClockIsWall ? row.StartedAt : now, _rigClockIsWall ? row.EndedAt : now,
                    Cycle: row.Cycle, FailureMode: row.FailureMode, Signature: row.Signature, DeviceTime: row.DeviceTime,
                    EvidenceJson: JsonSerializer.Serialize(new { row.Log, row.CyclesToFailure, row.BitErrors, row.LedTimeline }, Json.Options)));
                Stored++;
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException or System.Data.Common.DbException)
            {
                _failure = ex;
            }
        }
    }
}
