using System.Globalization;
using HilRig.Composition;
using HilRig.Core.Procedures;

namespace HilRig.Cli.Commands;

/// <summary>
/// A block of lines redrawn in place on a terminal's error stream, four times a second, from a render function of
/// the terminal's width: each line is cut to the width so the block never wraps and its height never jumps. Drawing
/// runs on a wall-clock timer of its own, so the rig never waits for the terminal.
/// </summary>
internal sealed class LiveLines : IDisposable
{
    private readonly TextWriter _err;
    private readonly Func<int, IReadOnlyList<string>> _render;
    private readonly CancellationTokenSource _stop = new();
    private Task? _task;
    private int _drawn;
    private bool _disposed;

    public LiveLines(TextWriter err, Func<int, IReadOnlyList<string>> render)
    {
        _err = err;
        _render = render;
    }

    /// <summary>A terminal that can redraw: not redirected, not CI, not a dumb terminal.</summary>
    public static bool CanDraw(TextWriter err) =>
        ReferenceEquals(Terminal.Unwrap(err), Console.Error) && !Console.IsErrorRedirected
        && Environment.GetEnvironmentVariable("CI") is not ("true" or "1")
        && Environment.GetEnvironmentVariable("TERM") is not (null or "" or "dumb");

    public void Start()
    {
        _err.Write("\u001b[?25l"); // no cursor blinking through the block
        _task = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                Draw();
                try { await Task.Delay(TimeSpan.FromMilliseconds(250), _stop.Token); }
                catch (OperationCanceledException) { }
            }
        });
    }

    private void Draw()
    {
        var width = Math.Max(20, Terminal.Width(_err)) - 1;
        var lines = _render(width);
        var sb = new System.Text.StringBuilder();
        if (_drawn > 0) sb.Append(CultureInfo.InvariantCulture, $"\u001b[{_drawn}F");
        foreach (var line in lines) sb.Append("\u001b[2K").Append(TextTable.Cut(line, width)).Append('\n');
        for (var i = lines.Count; i < _drawn; i++) sb.Append("\u001b[2K\n");
        _drawn = Math.Max(_drawn, lines.Count);
        _err.Write(sb.ToString());
        _err.Flush();
    }

    /// <summary>Stops redrawing after a last frame; the block stays on the screen.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _stop.Cancel();
        try { _task?.Wait(TimeSpan.FromSeconds(2)); }
        catch (AggregateException) { }
        if (_task is not null)
        {
            Draw();
            _err.Write("\u001b[?25h");
        }
        _stop.Dispose();
    }
}

/// <summary>
/// What `hilrig screen` shows while it runs, on the error stream: on a terminal a live line per slot (device id, step,
/// LED state, device time of the slot so far) with the run's wall time; otherwise a plain line per step.
/// </summary>
internal sealed class ScreenProgressView : IProgress<SlotProgress>, IDisposable
{
    private readonly object _gate = new();
    private readonly SortedDictionary<int, Line> _slots = [];
    private readonly Func<int, string> _led;
    private readonly TimeProvider _rigTime;
    private readonly long _rigStart;
    private readonly TimeProvider _wall;
    private readonly long _wallStart;
    private readonly TextWriter _err;
    private readonly LiveLines? _live;

    public ScreenProgressView(IEnumerable<int> slots, Func<int, string> led, TimeProvider rigTime, TextWriter err, bool live, TimeProvider wall)
    {
        foreach (var slot in slots) _slots[slot] = new Line { Step = "waiting" };
        _led = led;
        _rigTime = rigTime;
        _rigStart = rigTime.GetTimestamp();
        _wall = wall;
        _wallStart = wall.GetTimestamp();
        _err = err;
        if (live) _live = new LiveLines(err, Render);
    }

    public bool Live => _live is not null;

    public void Start() => _live?.Start();

    /// <summary>A step began (called on the rig's thread).</summary>
    public void Report(SlotProgress value) => Update(value.Slot, value.Step, null);

    /// <summary>A step's row was judged (OTA, factory reset, readback).</summary>
    public void Judged(SlotOutcome step) => Update(step.Slot, $"{step.Test}: {step.Verdict.ToName()}", step.DeviceId);

    /// <summary>The slot's verdict is stored.</summary>
    public void Done(SlotOutcome outcome)
    {
        lock (_gate)
        {
            if (!_slots.TryGetValue(outcome.Slot, out var s)) return;
            s.Step = outcome.Verdict.ToName() + (outcome.FailureMode is { } m ? $" ({m})" : "") + ", stored";
            s.DeviceId = outcome.DeviceId ?? s.DeviceId;
            s.Done = true;
        }
    }

    private void Update(int slot, string step, string? deviceId)
    {
        var led = _led(slot);
        var elapsed = _rigTime.GetElapsedTime(_rigStart);
        lock (_gate)
        {
            if (!_slots.TryGetValue(slot, out var s)) _slots[slot] = s = new Line();
            s.Step = step;
            s.Led = led;
            s.Elapsed = elapsed;
            if (deviceId is not null) s.DeviceId = deviceId;
        }
        if (_live is null) _err.WriteLine(string.Create(CultureInfo.InvariantCulture, $"slot {slot}: {step}{(led.Length > 0 ? $", LED {led}" : "")} ({elapsed.TotalSeconds:0.0} s)"));
    }

    /// <summary>The live block for a terminal of <paramref name="width"/> columns: one line per slot and a last line for the run.</summary>
    internal IReadOnlyList<string> Render(int width)
    {
        lock (_gate)
        {
            // the id whole from 80 columns up (it is copied from here); narrower, cut so the block never wraps
            var table = new TextTable().Column("slot", right: true, wrap: false).Column("device id", wrap: width < Terminal.DefaultWidth, min: 24).Column("step", min: 20)
                .Column("LED", min: 18).Column("device time", right: true, wrap: false, min: 11);
            foreach (var (slot, s) in _slots)
                table.Row(slot.ToString(CultureInfo.InvariantCulture), s.DeviceId ?? "?", s.Step, s.Led, string.Create(CultureInfo.InvariantCulture, $"{s.Elapsed.TotalSeconds:0.0} s"));
            var lines = table.Render(width, cut: true).TrimEnd('\n').Split('\n').ToList();
            var done = _slots.Values.Count(s => s.Done);
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"{done} of {_slots.Count} slot(s) judged; {_wall.GetElapsedTime(_wallStart).TotalSeconds:0} s elapsed"));
            return lines;
        }
    }

    public void Dispose() => _live?.Dispose();

    private sealed class Line
    {
        public string? DeviceId { get; set; }
        public string Step { get; set; } = "";
        public string Led { get; set; } = "";
        public TimeSpan Elapsed { get; set; }
        public bool Done { get; set; }
    }
}

/// <summary>
/// A DFU transfer's progress on the error stream: on a terminal a bar redrawn in place (bytes, rate by the rig's
/// clock); elsewhere nothing until the command's own closing line.
/// </summary>
internal sealed class TransferBar : IProgress<Core.Dfu.DfuProgress>
{
    private readonly TextWriter _err;
    private readonly TimeProvider _time;
    private readonly long _start;
    private readonly string _what;
    private long _lastDrawn = -1;

    public TransferBar(TextWriter err, TimeProvider time, string what)
    {
        _err = err;
        _time = time;
        _start = time.GetTimestamp();
        _what = what;
    }

    public static bool CanDraw(TextWriter err) => LiveLines.CanDraw(err);

    public void Report(Core.Dfu.DfuProgress value)
    {
        // a redraw per percent at most: a 1 MiB transfer is a thousand reports
        var percent = value.BytesTotal == 0 ? 100 : value.BytesDone * 100 / value.BytesTotal;
        if (percent == _lastDrawn && value.BytesDone != value.BytesTotal) return;
        _lastDrawn = percent;
        _err.Write("\r\u001b[2K" + Line(value, _time.GetElapsedTime(_start), Terminal.Width(_err) - 1, _what));
        if (value.BytesDone == value.BytesTotal && value.Phase != Core.Dfu.DfuPhase.Erase) _err.Write('\n');
        _err.Flush();
    }

    /// <summary>"upload [#####.....]  45 %  57,344/131,072 bytes  12.1 KiB/s", within <paramref name="width"/> columns.</summary>
    internal static string Line(Core.Dfu.DfuProgress value, TimeSpan elapsed, int width, string what)
    {
        var fraction = value.BytesTotal == 0 ? 1 : (double)value.BytesDone / value.BytesTotal;
        var rate = elapsed.TotalSeconds > 0 ? value.BytesDone / 1024.0 / elapsed.TotalSeconds : 0;
        var phase = value.Phase.ToString().ToLowerInvariant();
        var figures = string.Create(CultureInfo.InvariantCulture, $" {fraction * 100,3:0} %  {value.BytesDone:N0}/{value.BytesTotal:N0} bytes  {rate:0.0} KiB/s");
        var label = $"{what} {phase} ";
        var bar = Math.Max(0, width - label.Length - figures.Length - 2);
        var filled = (int)Math.Round(bar * fraction);
        return TextTable.Cut(label + "[" + new string('#', filled) + new string('.', bar - filled) + "]" + figures, width);
    }
}
