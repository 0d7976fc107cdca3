using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using HilRig.Composition;
using HilRig.Core.Chips;
using HilRig.Core.Config;
using HilRig.Core.Led;
using HilRig.Core.Slots;
using HilRig.Sim.Time;
using Spectre.Console;

namespace HilRig.Cli.Commands;

/// <summary>
/// `hilrig led watch|record|calibrate`: a slot's LED through its colour sensor on the composed rig. On the simulator
/// the Cores are as the rig left them (powered off at open); --power-on switches the slot on first to see it boot.
/// </summary>
internal static class LedRigCommands
{
    /// <summary>Longest watch or recording: an hour, a bound on what one command holds open.</summary>
    public const double MaxSeconds = 3600;

    private static readonly TimeSpan WatchPoll = TimeSpan.FromMilliseconds(100);

    /// <summary>How long a new state must hold before a redirected watch prints it.</summary>
    private static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(400);

    /// <summary>How much of the timeline the live state is classified from: longer than a breathing period.</summary>
    private static readonly TimeSpan WatchWindow = TimeSpan.FromSeconds(12);

    public static Command Watch()
    {
        var config = CommonOptions.Config();
        var slot = SlotOption();
        var seconds = new Option<double?>("--seconds") { Description = $"stop after this many seconds (default: until Ctrl-C; at most {MaxSeconds})" };
        var powerOn = PowerOnOption();
        var command = new Command("watch", "show a slot's LED state live (in place on a terminal, a line per change otherwise)");
        command.Options.Add(config);
        slot.AddTo(command);
        command.Options.Add(seconds);
        command.Options.Add(powerOn);
        command.SetAction((parse, ct) => WithSlotAsync(parse, parse.GetValue(config)!, slot.GetOne(parse), parse.GetValue(seconds), required: false,
            WatchClock(parse.InvocationConfiguration.Output, parse.GetValue(seconds)),
            (session, rigSlot, duration, output, err) => WatchAsync(session, rigSlot, duration, parse.GetValue(powerOn), output, ct)));
        return command;
    }

    public static Command Record()
    {
        var config = CommonOptions.Config();
        var slot = SlotOption();
        var seconds = new Option<double?>("--seconds") { Description = $"how long to record (more than 0, at most {MaxSeconds})", Required = true };
        var output = CommonOptions.Output("trace CSV to write (time_ms,r,g,b,c,gain,integration_ms), written atomically", required: true);
        var powerOn = PowerOnOption();
        var command = new Command("record", "record a slot's raw colour-sensor samples as a trace CSV for 'hilrig led classify'");
        command.Options.Add(config);
        slot.AddTo(command);
        command.Options.Add(seconds);
        output.AddTo(command);
        command.Options.Add(powerOn);
        command.SetAction((parse, ct) => WithSlotAsync(parse, parse.GetValue(config)!, slot.GetOne(parse), parse.GetValue(seconds), required: true,
            RigSessionClock.Fast, async (session, rigSlot, duration, _, err) =>
            {
                var path = output.Get(parse)!.FullName;
                var sampler = session.Led!.Sampler;
                var (count, text) = await session.RunAsync(async () =>
                {
                    using var writer = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
                    using var recording = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    // recording from the switch on, so the trace shows the boot; the switch is checked while it records
                    var record = sampler.RecordAsync(rigSlot.Number, duration!.Value, writer, recording.Token);
                    if (parse.GetValue(powerOn))
                    {
                        try
                        {
                            await PowerOnAsync(session, rigSlot, ct);
                        }
                        catch
                        {
                            await recording.CancelAsync();
                            try { await record; } catch (OperationCanceledException) { }
                            throw;
                        }
                    }
                    var written = await record;
                    return (written, writer.ToString());
                });
                try
                {
                    FileOutput.WriteAtomically(path, Encoding.UTF8.GetBytes(text));
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    err.WriteLine($"hilrig: --output {path}: cannot write the trace: {ex.Message}");
                    return ExitCodes.BadInput;
                }
                err.WriteLine($"recorded {count} samples of slot {rigSlot.Number} over {duration!.Value.TotalSeconds:0.###} s to {path}");
                return ExitCodes.Ok;
            }));
        return command;
    }

    public static Command Calibrate()
    {
        var config = CommonOptions.Config();
        var slots = CommonOptions.Slots("slots to calibrate");
        var store = CommonOptions.Store();
        var format = CommonOptions.Format();
        var command = new Command("calibrate",
            "calibrate the slots' colour sensors: power the Cores off, measure the dark level and choose the gain; stored per rig and slot in the results store");
        command.Options.Add(config);
        slots.AddTo(command);
        command.Options.Add(store);
        command.Options.Add(format);
        command.SetAction(async (parse, ct) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var err = parse.InvocationConfiguration.Error;
            if (!ConfigLoading.TryLoad(parse.GetValue(config)!, parse.GetValue(store), err, out var rig)) return ExitCodes.BadInput;
            var options = RigOpening.PersistentSim(rig) with { CalibrateAtOpen = false };
            using var open = RigOpening.Open(rig, err, options, RigClaim.Slots(parse, slots.Get(parse)));
            if (open.Session is not { } session) return open.ExitCode;
            IReadOnlyList<RigSlot> selected;
            try
            {
                selected = session.Select(slots.Get(parse));
            }
            catch (FormatException ex)
            {
                err.WriteLine($"hilrig: {ex.Message}");
                return ExitCodes.BadInput;
            }
            var results = await session.RunAsync(async () =>
            {
                // dark means the Core's LED is off: cut power and give the LED a moment
                foreach (var s in selected) s.Control.SetPower(false);
                await Task.Delay(TimeSpan.FromMilliseconds(500), session.Time, ct);
                return await session.Led!.CalibrateAllAsync(selected.Select(s => s.Number), session.CalibrationStore, ct);
            });
            var rows = results.Select(r => new CalibrationRow(r.Slot, r.Calibration?.Gain, r.Calibration?.DarkC, r.Calibration?.DarkNoiseC,
                r.Calibration?.DarkR, r.Calibration?.DarkG, r.Calibration?.DarkB, r.Fault is null ? "stored" : "rig-fault", r.Fault?.Message)).ToList();
            switch (CommonOptions.ParseFormat(parse.GetValue(format)))
            {
                case OutputFormat.Json:
                    output.WriteLine(JsonSerializer.Serialize(new { rigId = rig.RigId, store = rig.ResolveStorePath(), slots = rows }, Json.Options));
                    break;
                case OutputFormat.Csv:
                    output.Write(Csv.Records(rows));
                    break;
                default:
                    var table = new TextTable().Column("slot", right: true, wrap: false).Column("gain", right: true, wrap: false)
                        .Column("dark C /ms", right: true, wrap: false).Column("noise C /ms", right: true, wrap: false)
                        .Column("R / G / B dark /ms", wrap: false).Column("status");
                    foreach (var r in rows)
                    {
                        table.Row([
                            r.Slot.ToString(CultureInfo.InvariantCulture),
                            r.Gain is { } g ? $"{g}x" : "",
                            r.DarkC?.ToString("0.000", CultureInfo.InvariantCulture) ?? "",
                            r.DarkNoiseC?.ToString("0.0000", CultureInfo.InvariantCulture) ?? "",
                            r.DarkR is { } dr ? string.Create(CultureInfo.InvariantCulture, $"{dr:0.000} / {r.DarkG:0.000} / {r.DarkB:0.000}") : "",
                            r.Fault is null ? "stored" : $"rig fault: {r.Fault}"], [null, null, null, null, null, r.Fault is null ? "32" : "33"]);
                    }
                    output.Write(table.For(output));
                    break;
            }
            var faults = results.Count(r => r.Fault is not null);
            err.WriteLine($"{results.Count - faults} slot(s) calibrated and stored for rig {rig.RigId} in {rig.ResolveStorePath()}; Cores left powered off"
                + (faults > 0 ? $"; {faults} sensor fault(s)" : ""));
            return faults > 0 ? ExitCodes.RigFault : ExitCodes.Ok;
        });
        return command;
    }

    private static async Task<int> WatchAsync(RigSession session, RigSlot slot, TimeSpan? duration, bool powerOn, TextWriter output, CancellationToken ct)
    {
        var led = slot.Led!;
        var live = ShownInPlace(output);
        string? shown = null;
        var started = TimeSpan.Zero;

        void Line(LedSegment current)
        {
            var text = current.State.ToString();
            // the newest segment is still being classified: name it once it has held a moment
            if (text == shown || current.Duration < Settle) return;
            shown = text;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{(led.Now - started).TotalSeconds,8:0.000} s  slot {slot.Number}: {text} (confidence {current.Confidence:0.00})"));
        }

        async Task Loop(Action<LedTimeline> show)
        {
            await session.RunAsync(async () =>
            {
                started = led.Now;
                var start = session.Time.GetTimestamp();
                if (powerOn) await PowerOnAsync(session, slot, ct);
                try
                {
                    while (duration is not { } d || session.Time.GetElapsedTime(start) < d)
                    {
                        if (led.Fault is { } fault) throw fault;
                        var since = led.Now - WatchWindow < started ? started : led.Now - WatchWindow;
                        show(led.Timeline(since));
                        await Task.Delay(WatchPoll, session.Time, ct);
                    }
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    // Ctrl-C ends a watch normally
                }
            });
        }

        if (!live)
        {
            await Loop(t => { if (Settled(t) is { } c) Line(c); });
            return ExitCodes.Ok;
        }

        var table = new Table().AddColumns("slot", "state", "since", "confidence", "recent");
        table.AddRow(slot.Number.ToString(CultureInfo.InvariantCulture), "(waiting for samples)", "", "", "");
        await AnsiConsole.Live(table).StartAsync(async ctx => await Loop(timeline =>
        {
            if (Settled(timeline) is not { } c) return;
            var recent = string.Join(", ", timeline.Segments.TakeLast(4).SkipLast(1).Select(s => s.State.ToString()));
            table.UpdateCell(0, 1, Markup.Escape(c.State.ToString()));
            table.UpdateCell(0, 2, string.Create(CultureInfo.InvariantCulture, $"{(c.Start - started).TotalSeconds:0.0} s"));
            table.UpdateCell(0, 3, c.Confidence.ToString("0.00", CultureInfo.InvariantCulture));
            table.UpdateCell(0, 4, Markup.Escape(recent));
            ctx.Refresh();
        }));
        return ExitCodes.Ok;
    }

    /// <summary>A watch on a terminal is a table redrawn in place; otherwise a line per change.</summary>
    private static bool ShownInPlace(TextWriter output) => Terminal.IsTerminal(output) && ReferenceEquals(Terminal.Unwrap(output), Console.Out);

    /// <summary>
    /// The simulator's clock for a watch. Someone looking at it (in place on a terminal) or a watch that runs until
    /// Ctrl-C sees the LED at the pace a real rig shows it. A redirected watch with --seconds is a script's: its lines
    /// carry the slot's device time, so the virtual clock writes the same lines without waiting the seconds out.
    /// </summary>
    internal static RigSessionClock WatchClock(TextWriter output, double? seconds) =>
        ShownInPlace(output) || seconds is null ? RigSessionClock.Live : RigSessionClock.Fast;

    /// <summary>
    /// The state to show now: the newest segment, unless it (with what follows) is still within one cycle of a
    /// blinking or breathing state before it: a breathing trough or a half-seen pulse is not a change yet.
    /// </summary>
    internal static LedSegment? Settled(LedTimeline timeline)
    {
        var segments = timeline.Segments;
        if (segments.Count == 0) return null;
        var last = segments[^1];
        // the newest blinking or breathing segment before the last one, and whether what follows it fits in a cycle
        var k = segments.Count - 2;
        while (k >= 0 && segments[k].State.Period is null && segments.Count - k <= 3) k--;
        if (k < 0 || segments.Count - k > 3 || segments[k].State.Period is not { } period) return last;
        var cycle = segments[k].State.Pattern == LedPattern.Breathing ? period * 1.2 : period * 4;
        if (cycle < TimeSpan.FromSeconds(1)) cycle = TimeSpan.FromSeconds(1);
        return last.End - segments[k + 1].Start < cycle ? segments[k] : last;
    }

    /// <summary>--power-on: the switch checked by the one rule (the Core shows itself; a contact stuck open is a rig fault).</summary>
    private static Task<string?> PowerOnAsync(RigSession session, RigSlot slot, CancellationToken ct) =>
        RelaySwitch.PowerOnAsync(slot, session.Usb, session.Time, PowerOnExpectation.CoreExpected, ct: ct);

    private static SlotsOption SlotOption() => CommonOptions.OneSlot("the slot whose LED to observe");

    private sealed record CalibrationRow(int Slot, int? Gain, double? DarkC, double? DarkNoiseC, double? DarkR, double? DarkG, double? DarkB, string Status, string? Fault);

    private static Option<bool> PowerOnOption() => new("--power-on") { Description = "switch the slot's Core on first (to see it boot)" };

    internal enum RigSessionClock
    {
        /// <summary>The simulator follows the wall clock: what is shown is what a person would see.</summary>
        Live,

        /// <summary>The simulator runs as fast as it can (virtual time).</summary>
        Fast,
    }

    /// <summary>Loads the config, checks --seconds, opens the rig and finds the slot; every problem is one line and an exit code.</summary>
    private static async Task<int> WithSlotAsync(ParseResult parse, FileInfo configFile, int slotNumber, double? seconds, bool required, RigSessionClock clock,
        Func<RigSession, RigSlot, TimeSpan?, TextWriter, TextWriter, Task<int>> work)
    {
        var output = parse.InvocationConfiguration.Output;
        var err = parse.InvocationConfiguration.Error;
        if (seconds is { } s && !(s > 0 && s <= MaxSeconds))
        {
            err.WriteLine(string.Create(CultureInfo.InvariantCulture, $"hilrig: --seconds: {s} is not a duration; valid: more than 0 and at most {MaxSeconds}"));
            return ExitCodes.BadInput;
        }
        if (required && seconds is null)
        {
            err.WriteLine("hilrig: --seconds is required");
            return ExitCodes.BadInput;
        }
        if (!ConfigLoading.TryLoad(configFile, err, out var config)) return ExitCodes.BadInput;
        var options = RigOpening.PersistentSim(config);
        if (clock == RigSessionClock.Live) options = options with { Simulator = options.Simulator with { Clock = ClockMode.RealTime } };
        using var open = RigOpening.Open(config, err, options, RigClaim.OneSlot(parse, slotNumber));
        if (open.Session is not { } session) return open.ExitCode;
        RigSlot slot;
        try
        {
            slot = session.Slot(slotNumber);
        }
        catch (FormatException ex)
        {
            err.WriteLine($"hilrig: {ex.Message}");
            return ExitCodes.BadInput;
        }
        if (slot.Led is null)
        {
            err.WriteLine($"hilrig: slot {slotNumber} has no colour sensor wired in");
            return ExitCodes.RigFault;
        }
        try
        {
            if (slot.Led.Fault is { } fault) throw fault;
            return await work(session, slot, seconds is { } d ? TimeSpan.FromSeconds(d) : null, output, err);
        }
        catch (SensorException ex)
        {
            err.WriteLine($"hilrig: rig fault: colour sensor of {ex.Message}; check its cable and mux channel");
            return ExitCodes.RigFault;
        }
        catch (SlotLineException ex)
        {
            err.WriteLine($"hilrig: rig fault: {ex.Message}");
            return ExitCodes.RigFault;
        }
    }
}
