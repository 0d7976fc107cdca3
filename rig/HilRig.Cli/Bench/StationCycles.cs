namespace HilRig.Cli.Bench;

/// <summary>A verdict the station showed: when (rig time from the shift's start), in which slot, and whether it judged a Core (pass or fail; a rig fault does not).</summary>
internal readonly record struct ShownVerdict(TimeSpan At, int Slot, bool Judged);

/// <summary>A phase of the slots' cycle: slot time spent in it per Core judged, and its share of the slots' time.</summary>
internal sealed record PhaseTime(string Phase, TimeSpan PerCore, double Share);

/// <summary>Cores per hour while the line is fed, and the slot time per Core judged behind it.</summary>
/// <param name="Cycles">Slot cycles counted (a verdict to the slot's next one), rig faults included.</param>
/// <param name="Judged">Of those, the cycles that ended in a pass or fail: the Cores the figure counts.</param>
/// <param name="Windows">Per slot, the span its cycles cover (its first verdict to its last pass/fail).</param>
internal sealed record LineFedRate(double CoresPerHour, TimeSpan SlotTimePerCore, int Cycles, int Judged, IReadOnlyDictionary<int, (TimeSpan From, TimeSpan To)> Windows);

/// <summary>
/// Where a station's slots spend their time on a simulated line. The floor a station is held to is a slot's cycle
/// (device time per Core plus the operator's handling), so the figure held against it is the slots' own cycle: from one
/// verdict shown in a slot to the next verdict there. A shift of a finite population also has slots standing empty
/// while the operator first fills them, and again once there is no Core left to drop in, waiting for the last slow
/// Core elsewhere; a line at work does neither (one such cycle in an 8-hour shift), so those are left out: each slot
/// counts from its first verdict to its last pass/fail.
/// </summary>
internal static class StationCycles
{
    /// <summary>Cores per hour of <paramref name="slots"/> slots at the slot time per Core judged over every slot's fed cycles; 0 when no slot finished two Cores.</summary>
    public static LineFedRate LineFed(IEnumerable<ShownVerdict> verdicts, int slots)
    {
        ArgumentNullException.ThrowIfNull(verdicts);
        var windows = new Dictionary<int, (TimeSpan From, TimeSpan To)>();
        var time = TimeSpan.Zero;
        var cycles = 0;
        var judged = 0;
        foreach (var slot in verdicts.GroupBy(v => v.Slot))
        {
            var shown = slot.OrderBy(v => v.At).ToList();
            var last = shown.FindLastIndex(v => v.Judged);
            // a rig fault after the slot's last Core (a slot standing empty, nothing left to feed) is no cycle of a fed line
            if (last < 1) continue;
            windows[slot.Key] = (shown[0].At, shown[last].At);
            time += shown[last].At - shown[0].At;
            cycles += last;
            judged += shown.Skip(1).Take(last).Count(v => v.Judged);
        }
        if (judged == 0 || time <= TimeSpan.Zero) return new LineFedRate(0, TimeSpan.Zero, cycles, judged, windows);
        var perCore = time / judged;
        return new LineFedRate(slots * 3600 / perCore.TotalSeconds, perCore, cycles, judged, windows);
    }
}

/// <summary>
/// Slot time per phase: each slot is in one phase at a time, from the station's <see cref="Core.Station.Station.PhaseEntered"/>
/// and the operator's events (pulled, dropped in), which split the station's waits into the operator's part and its own.
/// </summary>
internal sealed class PhaseClock(TimeProvider time, long origin)
{
    public const string Empty = "empty: operator to drop a Core in";
    public const string DroppedIn = "dropped in: station to see it";
    public const string Arrived = "arrived: app start";
    public const string Shown = "verdict shown: operator to pull";
    public const string Pulled = "pulled: station to see it go";

    private readonly Dictionary<int, (string Phase, TimeSpan Since)> _now = [];
    private readonly List<(int Slot, string Phase, TimeSpan From, TimeSpan To)> _spans = [];
    private readonly List<string> _order = [];

    /// <summary>The slot enters <paramref name="phase"/> now.</summary>
    public void Enter(int slot, string phase)
    {
        var at = time.GetElapsedTime(origin);
        if (_now.TryGetValue(slot, out var was)) _spans.Add((slot, was.Phase, was.Since, at));
        if (!_order.Contains(phase)) _order.Add(phase);
        _now[slot] = (phase, at);
    }

    /// <summary>The station's own phase (its waits named for what they wait on).</summary>
    public void Station(int slot, string phase) => Enter(slot, phase switch
    {
        Core.Station.Station.PhaseWaitingForCore => Empty,
        Core.Station.Station.PhaseWaitingForRemoval => Shown,
        Core.Station.Station.PhaseArrived => Arrived,
        _ => phase,
    });

    /// <summary>The operator dropped a Core in (or pulled one): the station's wait is then its own.</summary>
    public void Operator(int slot, bool inserted)
    {
        if (_now.TryGetValue(slot, out var was) && was.Phase == (inserted ? Empty : Shown)) Enter(slot, inserted ? DroppedIn : Pulled);
    }

    /// <summary>Slot time per phase within each slot's window, per Core judged, in the order the phases were first entered.</summary>
    public IReadOnlyList<PhaseTime> Within(IReadOnlyDictionary<int, (TimeSpan From, TimeSpan To)> windows, int cores)
    {
        ArgumentNullException.ThrowIfNull(windows);
        var spent = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);
        var spans = _spans.Concat(_now.Select(n => (Slot: n.Key, n.Value.Phase, From: n.Value.Since, To: TimeSpan.MaxValue)));
        foreach (var (slot, phase, a, b) in spans)
        {
            if (!windows.TryGetValue(slot, out var w)) continue;
            var clipped = (b < w.To ? b : w.To) - (a > w.From ? a : w.From);
            if (clipped > TimeSpan.Zero) spent[phase] = spent.GetValueOrDefault(phase) + clipped;
        }
        var total = spent.Values.Aggregate(TimeSpan.Zero, (x, y) => x + y);
        return [.. _order.Where(spent.ContainsKey).Select(p => new PhaseTime(p, cores <= 0 ? TimeSpan.Zero : spent[p] / cores, total > TimeSpan.Zero ? spent[p] / total : 0))];
    }
}
