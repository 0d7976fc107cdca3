using System.Globalization;
using HilRig.Core.Procedures;

namespace HilRig.Cli.Commands;

/// <summary>
/// What `hilrig soak` shows while it runs, on the error stream (stdout stays the export): on a terminal a live
/// table per slot (cycle k/N, step, LED state, failures, recoveries, device time) with elapsed and estimated
/// time left; otherwise a line per notable event and one every tenth of the run. Reports arrive on the rig's thread;
/// drawing happens on a wall-clock timer of its own, so the simulation never waits for the terminal.
/// </summary>
internal sealed class SoakProgressView : IProgress<SoakProgress>, IDisposable
{
    private readonly object _gate = new();
    private readonly SortedDictionary<int, SlotLine> _slots = [];
    private readonly Func<int, string> _led;
    private readonly TextWriter _err;
    private readonly bool _live;
    private readonly TimeProvider _wall;
    private readonly long _started;
    private readonly long _totalCycles;
    private int _lastTenth;
    private LiveLines? _liveLines;
    private bool _disposed;

    /// <param name="led">The slot's LED state now, as words; called on the rig's thread.</param>
    public SoakProgressView(IEnumerable<int> slots, int cycles, Func<int, string> led, TextWriter err, bool live, TimeProvider wall)
    {
        foreach (var slot in slots) _slots[slot] = new SlotLine { Slot = slot, DeviceId = "?", Cycles = cycles, Step = "waiting", Led = "" };
        _totalCycles = (long)cycles * Math.Max(1, _slots.Count);
        _led = led;
        _err = err;
        _live = live;
        _wall = wall;
        _started = wall.GetTimestamp();
    }

    public void Report(SoakProgress p)
    {
        var led = _led(p.Slot);
        string? line = null;
        lock (_gate)
        {
            if (!_slots.TryGetValue(p.Slot, out var s)) _slots[p.Slot] = s = new SlotLine { Slot = p.Slot, DeviceId = "?", Cycles = p.Cycles, Step = "", Led = "" };
            if (p.DeviceId is { } id) s.DeviceId = id;
            s.Cycle = p.Cycle;
            s.Cycles = p.Cycles;
            s.Step = p.Done ? p.Step : p.Phase == SoakPhase.Started ? p.Step : $"{p.Step}: {p.Verdict?.ToName() ?? "?"}";
            s.Led = led;
            s.Failures = p.Failures;
            s.Recoveries = p.Recoveries;
            s.DeviceTime = p.DeviceTime;
            s.Done = p.Done;
            // a slot that ends early counts as all its cycles done: the estimate is about the run, not the Core
            s.CyclesDone = p.Done && p.Step == "done" ? p.Cycles : Math.Max(s.CyclesDone, p.Phase == SoakPhase.Ended && p.Step is SoakRunner.FactoryResetTest ? p.Cycle : p.Cycle - 1);
            if (!_live)
            {
                if (p.Phase == SoakPhase.Ended && p.Verdict is { } v && v != Core.Procedures.Verdict.Pass)
                    line = $"slot {p.Slot}: cycle {p.Cycle}/{p.Cycles} {p.Step}: {v.ToName()} ({p.Failures} failure(s), {p.Recoveries} recovery(ies) so far)";
                else if (p.Done)
                    line = $"slot {p.Slot}: {p.Step} at cycle {p.Cycle}/{p.Cycles}: {p.Failures} failure(s), {p.Recoveries} recovery(ies)";
                var tenth = (int)(10 * Fraction());
                if (tenth > _lastTenth)
                {
                    _lastTenth = tenth;
                    line = (line is null ? "" : line + Environment.NewLine) + TextWrap.Paragraph($"soak: {Overall()}", Terminal.Width(_err));
                }
            }
        }
        if (line is not null) _err.WriteLine(line);
    }

    /// <summary>Starts redrawing on a terminal; a no-op otherwise.</summary>
    public void Start()
    {
        if (!_live) return;
        _liveLines = new LiveLines(_err, Render);
        _liveLines.Start();
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _liveLines?.Dispose();
    }

    /// <summary>
    /// The live block for <paramref name="width"/> columns: a line per slot whose columns keep their width as the
    /// figures grow (no jumping), the words cut to fit, then the run's line.
    /// </summary>
    internal IReadOnlyList<string> Render(int width)
    {
        lock (_gate)
        {
            var digits = Math.Max(1, _slots.Values.Select(s => s.Cycles).DefaultIfEmpty(1).Max()).ToString(CultureInfo.InvariantCulture).Length;
            var table = new TextTable().Column("slot", right: true, wrap: false).Column("device id", min: 24)
                .Column("cycle", right: true, wrap: false, min: (2 * digits) + 1).Column("step", min: 16).Column("LED", min: 16)
                .Column("fail", right: true, wrap: false).Column("recov", right: true, wrap: false).Column("device time", right: true, wrap: false, min: 11);
            foreach (var s in _slots.Values)
            {
                table.Row(
                    s.Slot.ToString(CultureInfo.InvariantCulture), s.DeviceId,
                    $"{s.Cycle.ToString(CultureInfo.InvariantCulture)}/{s.Cycles.ToString(CultureInfo.InvariantCulture)}",
                    s.Step, s.Led, s.Failures.ToString(CultureInfo.InvariantCulture),
                    s.Recoveries.ToString(CultureInfo.InvariantCulture), Hours(s.DeviceTime));
            }
            var lines = table.Render(width, cut: true).TrimEnd('\n').Split('\n').ToList();
            lines.AddRange(TextWrap.Lines(Overall(), width));
            return lines;
        }
    }

    private double Fraction() => _totalCycles == 0 ? 1 : Math.Min(1, _slots.Values.Sum(s => (long)s.CyclesDone) / (double)_totalCycles);

    private string Overall()
    {
        var f = Fraction();
        var elapsed = _wall.GetElapsedTime(_started);
        var failures = _slots.Values.Sum(s => s.Failures);
        var left = f <= 0 ? "estimating" : $"about {Clock(elapsed * ((1 - f) / f))} left";
        return string.Create(CultureInfo.InvariantCulture,
            $"{f * 100:0} % of {_totalCycles} slot-cycles, {failures} failure(s); {Clock(elapsed)} elapsed, {left}; device time {Hours(TimeSpan.FromTicks(_slots.Values.Sum(s => s.DeviceTime.Ticks)))}");
    }

    private static string Clock(TimeSpan t) => t.TotalHours >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}")
        : string.Create(CultureInfo.InvariantCulture, $"{t.Minutes}:{t.Seconds:00}");

    private static string Hours(TimeSpan t) => t.TotalHours >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{t.TotalHours:0.0} h")
        : string.Create(CultureInfo.InvariantCulture, $"{t.TotalMinutes:0.0} min");

    private sealed class SlotLine
    {
        public int Slot { get; init; }
        public required string DeviceId { get; set; }
        public int Cycle { get; set; }
        public int Cycles { get; set; }
        public long CyclesDone { get; set; }
        public required string Step { get; set; }
        public required string Led { get; set; }
        public int Failures { get; set; }
        public int Recoveries { get; set; }
        public TimeSpan DeviceTime { get; set; }
        public bool Done { get; set; }
    }
}
