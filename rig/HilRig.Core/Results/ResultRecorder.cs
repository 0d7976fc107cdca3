using System.Collections.Concurrent;
using System.Diagnostics;

namespace HilRig.Core.Results;

public sealed record RecorderOptions
{
    /// <summary>False on the simulator (its clock starts in 2014): rows are stamped with the wall clock when stored, keeping their duration.</summary>
    public bool RigClockIsWall { get; init; } = true;

    /// <summary>How long a row waits for a store another process holds locked before the recorder gives up on it.</summary>
    public TimeSpan RetryFor { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The pause between two tries on a locked store (each try also waits the store's busy timeout).</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(250);
}

/// <summary>
/// The one place a procedure's outcome becomes a stored row. Findings are queued and written in order on a thread of
/// the recorder's own, each in its own transaction (so the rig and the simulation thread never wait on the database),
/// and a store locked by another process is waited for and retried, never dropped. A finding's task completes when
/// its row is committed: only then is the result durable, and only then does a command say it is.
/// </summary>
public sealed class ResultRecorder : IDisposable
{
    private readonly ResultsStore _store;
    private readonly TimeProvider _wall;
    private readonly RecorderOptions _options;
    private readonly BlockingCollection<(SlotFinding Finding, TaskCompletionSource<StoredResult> Done)> _queue = new();
    private readonly Thread _thread;
    private readonly HashSet<string> _devices = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private int _pending;
    private Exception? _failure;

    private ResultRecorder(ResultsStore store, Guid runId, TimeProvider wall, RecorderOptions? options)
    {
        _store = store;
        _wall = wall;
        _options = options ?? new RecorderOptions();
        RunId = runId;
        _thread = new Thread(Drain) { IsBackground = true, Name = "result recorder" };
        _thread.Start();
    }

    public Guid RunId { get; }

    /// <summary>Rows committed so far.</summary>
    public int Stored { get; private set; }

    /// <summary>Tries that found the store locked and were repeated.</summary>
    public int Retries { get; private set; }

    /// <summary>Runs this start found left <c>running</c> by a process that no longer exists, now marked interrupted.</summary>
    public IReadOnlyList<Guid> Interrupted { get; private init; } = [];

    /// <summary>
    /// Marks the runs whose owning process is gone as interrupted, then starts <paramref name="run"/> owned by this process.
    /// </summary>
    public static ResultRecorder Start(ResultsStore store, RunInfo run, TimeProvider wall, RecorderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(wall);
        var opts = options ?? new RecorderOptions();
        var interrupted = WithRetry(opts, wall, null, () => store.MarkInterruptedRuns(RunOwner.Current, wall.GetUtcNow()));
        var id = WithRetry(opts, wall, null, () => store.StartRun(run with { Owner = RunOwner.Current }));
        return new ResultRecorder(store, id, wall, opts) { Interrupted = interrupted };
    }

    /// <summary>Takes over a run that was interrupted or aborted, to finish it under the same id.</summary>
    /// <exception cref="ResultsStoreException">No such run, or its owner is still running it.</exception>
    public static ResultRecorder Resume(ResultsStore store, Guid runId, TimeProvider wall, RecorderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(wall);
        var opts = options ?? new RecorderOptions();
        var interrupted = WithRetry(opts, wall, null, () => store.MarkInterruptedRuns(RunOwner.Current, wall.GetUtcNow()));
        WithRetry(opts, wall, null, () => store.ResumeRun(runId, RunOwner.Current));
        return new ResultRecorder(store, runId, wall, opts) { Interrupted = interrupted };
    }

    /// <summary>Queues <paramref name="finding"/>; the task completes when its row is committed (or faults when it cannot be).</summary>
    public Task<StoredResult> Record(SlotFinding finding)
    {
        ArgumentNullException.ThrowIfNull(finding);
        var done = new TaskCompletionSource<StoredResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate) _pending++;
        try
        {
            _queue.Add((finding, done));
        }
        catch (InvalidOperationException)
        {
            lock (_gate) _pending--;
            throw new InvalidOperationException("the recorder is finished: no more results can be recorded in this run");
        }
        return done.Task;
    }

    /// <summary>Waits until every finding recorded so far is committed; throws when one could not be.</summary>
    public void Flush()
    {
        lock (_gate)
        {
            while (_pending > 0) Monitor.Wait(_gate);
        }
        if (_failure is { } failure)
            throw new ResultsStoreException($"storing results in {_store.Description} failed after {Stored} row(s): {failure.Message}", failure);
    }

    /// <summary>Commits what is queued, then ends the run with <paramref name="status"/> (at <paramref name="endedAt"/>, default now).</summary>
    public void Finish(RunStatus status, DateTimeOffset? endedAt = null)
    {
        try
        {
            Flush();
        }
        finally
        {
            WithRetry(_options, _wall, () => Retries++, () => _store.FinishRun(RunId, status, endedAt ?? _wall.GetUtcNow()));
        }
    }

    public void Dispose()
    {
        if (!_queue.IsAddingCompleted) _queue.CompleteAdding();
        if (_thread.IsAlive) _thread.Join();
        _queue.Dispose();
    }

    /// <summary>
    /// A generated history (the fleet's fast path) in ONE transaction per batch: already-numbered attempts, no per-row
    /// summary upkeep (rebuild the summaries once after the last batch).
    /// </summary>
    public static void BulkLoad(ResultsStore store, IEnumerable<(Guid RunId, SlotFinding Finding)> findings)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(findings);
        store.BulkLoadResults(findings.Select(f => ToRow(f.RunId, f.Finding, null)));
    }

    /// <summary>
    /// A whole generated history (the fleet's fast path) in ONE transaction, its summaries counted once after the rows
    /// (<see cref="ResultsStore.BulkLoadHistory"/>).
    /// </summary>
    public static void BulkLoadHistory(ResultsStore store, IEnumerable<(Guid RunId, SlotFinding Finding)> findings, Action<string>? phaseEnded = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(findings);
        store.BulkLoadHistory(findings.Select(f => ToRow(f.RunId, f.Finding, null)), phaseEnded);
    }

    /// <summary>The one mapping from a finding to a stored row.</summary>
    private static ResultRecord ToRow(Guid runId, SlotFinding f, DateTimeOffset? storedAt)
    {
        var (started, ended) = storedAt is { } now ? (now - (f.EndedAt - f.StartedAt), now) : (f.StartedAt, f.EndedAt);
        return new ResultRecord(runId, f.StoredDeviceId, f.Slot, f.Test, f.Verdict, started, ended,
            Cycle: f.Cycle, Attempt: f.Attempt, FailureMode: f.FailureMode, Signature: f.Signature, DeviceTime: f.DeviceTime,
            EvidenceJson: EvidenceJson.Write(f.Evidence), Kind: f.Kind);
    }

    private void Drain()
    {
        foreach (var (finding, done) in _queue.GetConsumingEnumerable())
        {
            try
            {
                if (_failure is not null)
                    throw new ResultsStoreException($"not stored: an earlier row could not be ({_failure.Message})", _failure);
                var stored = Write(finding);
                Stored++;
                done.SetResult(stored);
            }
            catch (Exception ex) when (ex is ResultsStoreException or IOException or InvalidOperationException or System.Data.Common.DbException or ArgumentException)
            {
                _failure ??= ex;
                done.SetException(ex);
            }
            finally
            {
                lock (_gate)
                {
                    _pending--;
                    Monitor.PulseAll(_gate);
                }
            }
        }
    }

    private StoredResult Write(SlotFinding finding)
    {
        var id = finding.StoredDeviceId;
        if (finding.DeviceId is not null && finding.Lot is { } lot && _devices.Add(id))
            WithRetry(_options, _wall, () => Retries++, () => _store.UpsertDevice(id, lot, _wall.GetUtcNow(), finding.DateCode, finding.Supplier));
        var row = ToRow(RunId, finding, _options.RigClockIsWall ? null : _wall.GetUtcNow());
        return WithRetry(_options, _wall, () => Retries++, () => _store.RecordResult(row));
    }

    private static void WithRetry(RecorderOptions options, TimeProvider wall, Action? retried, Action work) =>
        WithRetry(options, wall, retried, () =>
        {
            work();
            return 0;
        });

    private static T WithRetry<T>(RecorderOptions options, TimeProvider wall, Action? retried, Func<T> work)
    {
        var start = wall.GetTimestamp();
        while (true)
        {
            try
            {
                return work();
            }
            catch (Exception ex) when (ResultsStore.IsBusy(ex) && wall.GetElapsedTime(start) < options.RetryFor)
            {
                retried?.Invoke();
                Debug.WriteLine($"results store busy, retrying: {ex.Message}");
                // the recorder's own thread (or a command's start): waiting here holds up no procedure
                Task.Delay(options.RetryDelay, wall).GetAwaiter().GetResult();
            }
        }
    }
}
