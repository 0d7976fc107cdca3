using System.Diagnostics;

namespace HilRig.Sim.Time;

/// <summary>
/// The simulated rig's clock: a <see cref="TimeProvider"/> over a priority queue of timers. Timer callbacks run
/// on the <see cref="SimScheduler"/> thread; ties at the same instant fire in creation order, so runs replay.
/// </summary>
public sealed class VirtualTimeProvider : TimeProvider
{
    /// <summary>Virtual time starts at a fixed instant so that nothing depends on when a run happened.</summary>
    public static readonly DateTimeOffset DefaultEpoch = new(2014, 1, 9, 0, 0, 0, TimeSpan.Zero);

    private readonly SimScheduler _scheduler;
    private readonly DateTimeOffset _epoch;
    private readonly object _gate = new();
    private readonly PriorityQueue<VirtualTimer, (long Due, long Seq)> _timers = new();
    private readonly PriorityQueue<VirtualTimer, (long Due, long Seq)> _background = new();
    private readonly Stopwatch _wall = Stopwatch.StartNew();
    private long _nowTicks;
    private long _seq;
    private long _wallBaseTicks;
    private long _virtualBaseTicks;

    internal VirtualTimeProvider(SimScheduler scheduler, DateTimeOffset epoch)
    {
        _scheduler = scheduler;
        _epoch = epoch;
        Background = new BackgroundTimeProvider(this);
    }

    /// <summary>
    /// The same clock for work that runs for the rig's whole life (the LED sampler): its timers fire when the clock
    /// passes them, but never move an idle virtual clock on their own, so an idle rig stays idle and a short
    /// <c>sim.Run(...)</c> ends when its own work does.
    /// </summary>
    public TimeProvider Background { get; }

    /// <summary>Virtual time since the simulation started.</summary>
    public TimeSpan Elapsed => TimeSpan.FromTicks(Volatile.Read(ref _nowTicks));

    public override DateTimeOffset GetUtcNow() => _epoch + Elapsed;

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Volatile.Read(ref _nowTicks);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        CreateTimer(callback, state, dueTime, period, background: false);

    private VirtualTimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period, bool background)
    {
        var timer = new VirtualTimer(this, callback, state, background);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Fires every timer due at the earliest pending instant, moving the clock there. False if no timer is pending.</summary>
    internal bool AdvanceToNextTimer()
    {
        VirtualTimer? timer;
        long due;
        lock (_gate)
        {
            // background timers ride along with foreground ones but never advance the clock alone
            if (!TryPeekLive(_timers, out _, out _)) return false;
            if (!TryDequeueEarliest(long.MaxValue, out timer, out due)) return false;
            if (due > _nowTicks) Volatile.Write(ref _nowTicks, due);
        }
        timer!.Fire(due);
        return true;
    }

    /// <summary>In real-time mode: how long the wall clock must run until the next timer is due.</summary>
    internal TimeSpan WallWaitUntilNextTimer(double speed)
    {
        lock (_gate)
        {
            if (!TryPeekEarliest(out var due)) return TimeSpan.FromMilliseconds(200);
            var virtualNow = ScaledWallTicks(speed);
            return TimeSpan.FromTicks((long)((due - virtualNow) / speed));
        }
    }

    /// <summary>In real-time mode: move the clock to the scaled wall time, firing what is due on the way.</summary>
    internal void FollowWallClock(double speed, bool fireDue)
    {
        var target = ScaledWallTicks(speed);
        if (fireDue)
        {
            // one timer at a time, as in virtual mode: the work it posts (a host's continuation: release RESET, read the
            // sensor) runs before any later timer fires. Fired as a batch, a process that fell behind the wall clock (a
            // busy machine, a fast --speed) saw the Core's later timers before the host's earlier steps.
            VirtualTimer? timer;
            long due;
            lock (_gate)
            {
                if (TryDequeueEarliest(target, out timer, out due) && due > _nowTicks) Volatile.Write(ref _nowTicks, due);
            }
            if (timer is not null)
            {
                timer.Fire(due);
                return;
            }
        }
        lock (_gate)
        {
            if (TryPeekEarliest(out var nextDue) && nextDue < target) target = nextDue;
            if (target > _nowTicks) Volatile.Write(ref _nowTicks, target);
        }
    }

    private long ScaledWallTicks(double speed)
    {
        if (_wallBaseTicks == 0 && _virtualBaseTicks == 0)
        {
            _wallBaseTicks = Math.Max(1, _wall.Elapsed.Ticks);
            _virtualBaseTicks = _nowTicks;
        }
        var wall = _wall.Elapsed.Ticks - _wallBaseTicks;
        return Math.Max(_nowTicks, _virtualBaseTicks + (long)(wall * speed));
    }

    private static bool TryPeekLive(PriorityQueue<VirtualTimer, (long Due, long Seq)> queue, out VirtualTimer? timer, out (long Due, long Seq) key)
    {
        while (queue.TryPeek(out timer, out key))
        {
            if (timer.IsArmedFor(key.Seq)) return true;
            queue.Dequeue(); // stale entry left by Change or Dispose
        }
        timer = null;
        key = default;
        return false;
    }

    private bool TryPeekEarliest(out long due)
    {
        var fore = TryPeekLive(_timers, out _, out var f);
        var back = TryPeekLive(_background, out _, out var b);
        due = !back || (fore && f.CompareTo(b) <= 0) ? f.Due : b.Due;
        return fore || back;
    }

    /// <summary>Takes the earliest live timer of both queues (ties in creation order) if it is due by <paramref name="limit"/>.</summary>
    private bool TryDequeueEarliest(long limit, out VirtualTimer? timer, out long due)
    {
        var fore = TryPeekLive(_timers, out var ft, out var f);
        var back = TryPeekLive(_background, out var bt, out var b);
        var takeFore = fore && (!back || f.CompareTo(b) <= 0);
        if ((!fore && !back) || (takeFore ? f.Due : b.Due) > limit)
        {
            timer = null;
            due = 0;
            return false;
        }
        (timer, due) = takeFore ? (ft, f.Due) : (bt, b.Due);
        (takeFore ? _timers : _background).Dequeue();
        return true;
    }

    private void Schedule(VirtualTimer timer, long due, out long seq)
    {
        lock (_gate)
        {
            seq = ++_seq;
            (timer.Background ? _background : _timers).Enqueue(timer, (due, seq));
        }
    }

    /// <summary>The clock of <see cref="Background"/>: same time, background timers.</summary>
    private sealed class BackgroundTimeProvider(VirtualTimeProvider clock) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => clock.GetUtcNow();

        public override TimeZoneInfo LocalTimeZone => clock.LocalTimeZone;

        public override long TimestampFrequency => clock.TimestampFrequency;

        public override long GetTimestamp() => clock.GetTimestamp();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            clock.CreateTimer(callback, state, dueTime, period, background: true);
    }

    private sealed class VirtualTimer(VirtualTimeProvider owner, TimerCallback callback, object? state, bool background) : ITimer
    {
        internal bool Background { get; } = background;

        private long _armedSeq; // 0 = not armed
        private long _periodTicks;
        private bool _disposed;

        internal bool IsArmedFor(long seq) => Volatile.Read(ref _armedSeq) == seq;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            if (_disposed) return false;
            if (dueTime == Timeout.InfiniteTimeSpan)
            {
                Volatile.Write(ref _armedSeq, 0);
                return true;
            }
            _periodTicks = period == Timeout.InfiniteTimeSpan ? 0 : period.Ticks;
            var due = owner.GetTimestamp() + Math.Max(0, dueTime.Ticks);
            owner.Schedule(this, due, out var seq);
            Volatile.Write(ref _armedSeq, seq);
            return true;
        }

        internal void Fire(long due)
        {
            Volatile.Write(ref _armedSeq, 0);
            if (_disposed) return;
            if (_periodTicks > 0)
            {
                owner.Schedule(this, due + _periodTicks, out var seq);
                Volatile.Write(ref _armedSeq, seq);
            }
            if (owner._scheduler.IsOnSchedulerThread)
                callback(state);
            else
                owner._scheduler.Post(_ => callback(state), null);
        }

        public void Dispose()
        {
            _disposed = true;
            Volatile.Write(ref _armedSeq, 0);
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
