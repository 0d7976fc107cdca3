using System.Collections.Concurrent;

namespace HilRig.Sim.Time;

/// <summary>How the simulated rig's clock relates to the wall clock.</summary>
public enum ClockMode
{
    /// <summary>
    /// Discrete-event: when nothing is runnable and a run is in flight the clock jumps to the next timer; with no run in
    /// flight it stands still. Device time is exact, wall time is CPU time.
    /// </summary>
    Virtual,

    /// <summary>The clock follows the wall clock times <see cref="SimScheduler.Speed"/>; for processes that face real tools (dfu-util, a terminal).</summary>
    RealTime,
}

/// <summary>
/// One thread that runs every piece of simulated hardware and the Core code driving it, with one
/// <see cref="VirtualTimeProvider"/>. Work posted from other threads (CLI, NUnit) is queued; the same
/// root work and seed therefore give the same interleaving and the same device time on every run.
/// </summary>
public sealed class SimScheduler : IDisposable
{
    private readonly BlockingCollection<(SendOrPostCallback Callback, object? State)> _queue = new();
    private readonly Thread _thread;
    private readonly SimSynchronizationContext _context;
    private readonly CancellationTokenSource _stop = new();
    private int _rootsInFlight;
    private readonly List<Action<Exception>> _roots = [];

    public SimScheduler(ClockMode mode = ClockMode.Virtual, double speed = 1.0, DateTimeOffset? epoch = null)
    {
        if (speed <= 0) throw new ArgumentOutOfRangeException(nameof(speed), speed, "speed factor must be positive");
        Mode = mode;
        Speed = speed;
        Time = new VirtualTimeProvider(this, epoch ?? VirtualTimeProvider.DefaultEpoch);
        _context = new SimSynchronizationContext(this);
        _thread = new Thread(Loop) { IsBackground = true, Name = "hilrig-sim" };
        _thread.Start();
    }

    public ClockMode Mode { get; }

    public double Speed { get; }

    public VirtualTimeProvider Time { get; }

    /// <summary>How long an idle simulation with work in flight but no timer may wait for outside input before it is declared stalled.</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public bool IsOnSchedulerThread => Thread.CurrentThread == _thread;

    internal SynchronizationContext Context => _context;

    /// <summary>Runs <paramref name="work"/> on the simulation thread and completes when it does.</summary>
    public Task<T> RunAsync<T>(Func<Task<T>> work)
    {
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Action<Exception> root = ex => tcs.TrySetException(ex);
        lock (_roots) { _roots.Add(root); }
        Post(async _ =>
        {
            // counted on the simulation thread when the run starts: counted by the caller, the loop could see a run
            // in flight whose work is not yet queued and move the clock before it starts
            Interlocked.Increment(ref _rootsInFlight);
            try
            {
                tcs.TrySetResult(await work());
            }
            catch (Exception ex)
            {
                tcs.TrySetException(ex);
            }
            finally
            {
                Interlocked.Decrement(ref _rootsInFlight);
                lock (_roots) { _roots.Remove(root); }
            }
        }, null);
        return tcs.Task;
    }

    public async Task RunAsync(Func<Task> work) => await RunAsync<bool>(async () => { await work(); return true; });

    /// <summary>Blocking convenience for callers that are not async themselves.</summary>
    public T Run<T>(Func<Task<T>> work) => RunAsync(work).GetAwaiter().GetResult();

    public void Run(Func<Task> work) => RunAsync(work).GetAwaiter().GetResult();

    internal void Post(SendOrPostCallback callback, object? state)
    {
        if (_queue.IsAddingCompleted) return;
        try
        {
            _queue.Add((callback, state));
        }
        catch (InvalidOperationException)
        {
            // disposed while posting: the simulation is over
        }
    }

    private void Loop()
    {
        SynchronizationContext.SetSynchronizationContext(_context);
        var stallWall = System.Diagnostics.Stopwatch.StartNew();
        while (!_stop.IsCancellationRequested)
        {
            if (_queue.TryTake(out var item))
            {
                Execute(item);
                stallWall.Restart();
                continue;
            }

            if (Mode == ClockMode.RealTime)
            {
                var wait = Time.WallWaitUntilNextTimer(Speed);
                if (wait <= TimeSpan.Zero)
                {
                    Time.FollowWallClock(Speed, fireDue: true);
                    continue;
                }
                try
                {
                    if (_queue.TryTake(out item, ClampWait(wait), _stop.Token))
                    {
                        Time.FollowWallClock(Speed, fireDue: false);
                        Execute(item);
                    }
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                continue;
            }

            // Only a run in flight moves the clock: between runs (a fault injected, then the doctor started) work left
            // behind (a booting Core, the line's operator) waits for the next run, so device time never depends on
            // how long the calling thread took to start it.
            if (Volatile.Read(ref _rootsInFlight) > 0 && Time.AdvanceToNextTimer())
            {
                stallWall.Restart();
                continue;
            }

            // Nothing runnable and no timer, or no run in flight: only outside input can make progress.
            try
            {
                if (_queue.TryTake(out item, 200, _stop.Token))
                {
                    Execute(item);
                    stallWall.Restart();
                }
                else if (Volatile.Read(ref _rootsInFlight) > 0 && stallWall.Elapsed > StallTimeout)
                {
                    FailStalledRoots();
                    stallWall.Restart();
                }
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private static int ClampWait(TimeSpan wait) => (int)Math.Clamp(wait.TotalMilliseconds, 1, 200);

    private void Execute((SendOrPostCallback Callback, object? State) item)
    {
        try
        {
            item.Callback(item.State);
        }
        catch (Exception ex)
        {
            // An exception escaping simulated hardware (an async void handler) must not kill the simulation
            // thread: every caller waiting on the rig learns of it instead.
            FailRoots(new InvalidOperationException($"simulated hardware failed at virtual time {Time.Elapsed}: {ex.Message}", ex));
        }
    }

    private void FailStalledRoots()
    {
        // A deadlock in simulated hardware must surface as an error, not as a hung test run.
        FailRoots(new InvalidOperationException(
            $"simulation stalled at virtual time {Time.Elapsed}: work is in flight but nothing is scheduled (a wait on something that never comes)"));
    }

    private void FailRoots(Exception error)
    {
        Action<Exception>[] roots;
        lock (_roots) { roots = [.. _roots]; }
        foreach (var fail in roots) fail(error);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _queue.CompleteAdding();
        if (!IsOnSchedulerThread) _thread.Join(TimeSpan.FromSeconds(5));
        _stop.Dispose();
    }

    private sealed class SimSynchronizationContext(SimScheduler owner) : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state) => owner.Post(d, state);

        public override void Send(SendOrPostCallback d, object? state)
        {
            if (owner.IsOnSchedulerThread)
            {
                d(state);
                return;
            }
            using var done = new ManualResetEventSlim();
            Exception? error = null;
            owner.Post(_ =>
            {
                try { d(state); }
                catch (Exception ex) { error = ex; }
                finally { done.Set(); }
            }, null);
            done.Wait();
            if (error is not null) throw error;
        }

        public override SynchronizationContext CreateCopy() => this;
    }
}
