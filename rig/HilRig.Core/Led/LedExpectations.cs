using HilRig.Core.Chips;

namespace HilRig.Core.Led;

/// <summary>
/// What a procedure expects to see on a slot's LED. Waits poll the timeline through the time provider; a failed
/// expectation throws <see cref="LedExpectationException"/> carrying the timeline so far as evidence. A sensor
/// fault on the slot throws <see cref="SensorException"/> instead: a rig fault, never a verdict on the Core.
/// </summary>
public sealed class LedExpectations
{
    private readonly Func<TimeSpan?, LedTimeline> _timeline;
    private readonly TimeProvider _time;
    private readonly Func<TimeSpan> _now;
    private readonly Func<SensorException?> _fault;
    private readonly List<(LedState State, TimeSpan Since)> _never = [];

    /// <param name="timeline">The slot's timeline, classified from a little before the given time (null = all buffered samples).</param>
    public LedExpectations(Func<TimeSpan?, LedTimeline> timeline, TimeProvider time, Func<TimeSpan> now, string slot, Func<SensorException?>? fault = null)
    {
        _timeline = timeline;
        _time = time;
        _now = now;
        Slot = slot;
        _fault = fault ?? (() => null);
    }

    public string Slot { get; }

    /// <summary>
    /// Takes the evidence a failure carries (the whole buffered timeline) as of the failure, to be classified only when
    /// the exception's timeline or message is read. Null: the evidence is <c>timeline(null)</c>, classified at once.
    /// </summary>
    public Func<Func<LedTimeline>>? SnapshotEvidence { get; init; }

    /// <summary>How often the timeline is looked at while waiting.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Waits until a segment in <paramref name="state"/> shows up (current or starting from now on).</summary>
    public async Task<LedSegment> WaitForAsync(LedState state, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        await WaitForAsync(state, timeout, _now(), $"expected {state} within {Seconds(timeout)}", currentCounts: true, cancellationToken);

    /// <summary>
    /// Waits until a segment in <paramref name="state"/> starts at or after <paramref name="since"/> (sampler time):
    /// a state already showing before then is stale (e.g. DFU's yellow from before a RESET) and does not count.
    /// </summary>
    public async Task<LedSegment> WaitForFreshAsync(LedState state, TimeSpan timeout, TimeSpan since, CancellationToken cancellationToken = default) =>
        await WaitForAsync(state, timeout, since, $"expected {state} within {Seconds(timeout)}", currentCounts: false, cancellationToken);

    /// <summary>Each state in turn, each within its own timeout counted from the previous one's appearance.</summary>
    public async Task<IReadOnlyList<LedSegment>> ExpectSequenceAsync(IEnumerable<(LedState State, TimeSpan Timeout)> steps, CancellationToken cancellationToken = default)
    {
        var seen = new List<LedSegment>();
        var since = _now();
        var list = steps.ToList();
        for (var i = 0; i < list.Count; i++)
        {
            var (state, timeout) = list[i];
            var what = $"expected step {i + 1} of {list.Count} ({string.Join(" -> ", list.Select(s => s.State))}): {state} within {Seconds(timeout)}";
            var segment = await WaitForAsync(state, timeout, since, what, currentCounts: i == 0, cancellationToken);
            seen.Add(segment);
            since = segment.Start + TimeSpan.FromTicks(1);
        }
        return seen;
    }

    /// <summary>From now on, <paramref name="state"/> must never appear; checked on every poll and by <see cref="VerifyNever"/>.</summary>
    public void ExpectNever(LedState state) => _never.Add((state, _now()));

    public void VerifyNever()
    {
        CheckFault();
        CheckNever(_timeline(_never.Count == 0 ? null : _never.Min(n => n.Since)));
    }

    /// <summary>With <paramref name="currentCounts"/> the state already showing counts; otherwise it must start after <paramref name="since"/>.</summary>
    private async Task<LedSegment> WaitForAsync(LedState state, TimeSpan timeout, TimeSpan since, string what, bool currentCounts, CancellationToken cancellationToken)
    {
        var start = _time.GetTimestamp();
        while (true)
        {
            CheckFault();
            // only the stretch since the wait began is classified on each poll; the evidence is the whole buffer
            var earliest = _never.Count == 0 ? since : _never.Min(n => n.Since) < since ? _never.Min(n => n.Since) : since;
            var timeline = _timeline(earliest);
            CheckNever(timeline);
            var found = timeline.Segments.FirstOrDefault(s => state.Matches(s.State)
                && (currentCounts ? s.End > since || ReferenceEquals(s, timeline.Current) : s.Start >= since));
            if (found is not null) return found;
            if (_time.GetElapsedTime(start) >= timeout)
                throw Failure(evidence => $"{Slot}: {what}; saw {evidence}");
            await Task.Delay(PollInterval, _time, cancellationToken);
        }
    }

    private void CheckNever(LedTimeline timeline)
    {
        foreach (var (state, since) in _never)
        {
            var bad = timeline.Segments.FirstOrDefault(s => s.End > since && state.Matches(s.State));
            if (bad is not null)
                throw Failure(evidence => $"{Slot}: {state} must never appear but did at {bad}; saw {evidence}");
        }
    }

    private LedExpectationException Failure(Func<LedTimeline, string> message)
    {
        if (SnapshotEvidence is { } snapshot) return new LedExpectationException(message, snapshot());
        var evidence = _timeline(null);
        return new LedExpectationException(message(evidence), evidence);
    }

    private void CheckFault()
    {
        if (_fault() is { } fault) throw fault;
    }

    private static string Seconds(TimeSpan t) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{t.TotalSeconds:0.#} s");
}

public sealed class LedExpectationException : Exception
{
    private readonly Lazy<LedTimeline> _timeline;
    private readonly Func<LedTimeline, string>? _message;
    private string? _builtMessage;

    public LedExpectationException(string message, LedTimeline timeline) : base(message)
    {
        _timeline = new Lazy<LedTimeline>(timeline);
    }

    /// <summary>Evidence classified on first use (<see cref="LedExpectations.SnapshotEvidence"/>); the message names it.</summary>
    public LedExpectationException(Func<LedTimeline, string> message, Func<LedTimeline> timeline) : base("LED expectation failed")
    {
        _timeline = new Lazy<LedTimeline>(timeline, LazyThreadSafetyMode.ExecutionAndPublication);
        _message = message;
    }

    public override string Message => _message is null ? base.Message : _builtMessage ??= _message(Timeline);

    public LedExpectationException() : this("LED expectation failed", LedTimeline.Empty) { }

    public LedExpectationException(string message) : this(message, LedTimeline.Empty) { }

    public LedExpectationException(string message, Exception inner) : base(message, inner)
    {
        _timeline = new Lazy<LedTimeline>(LedTimeline.Empty);
    }

    /// <summary>What the LED did up to the failure: the evidence.</summary>
    public LedTimeline Timeline => _timeline.Value;
}
