using System.Globalization;
using HilRig.Core.Chips;
using HilRig.Core.Led;
using HilRig.Core.Procedures;
using HilRig.Core.Slots;
using HilRig.Core.Usb;

namespace HilRig.Core.Station;

public sealed record StationOptions
{
    /// <summary>The test whose row is a Core's final verdict (<see cref="Screening.TestName"/> or <see cref="Screening.LifeTestName"/>).</summary>
    public required string FinalTest { get; init; }

    /// <summary>How often an idle slot looks for a Core arriving or leaving (USB, LED).</summary>
    public TimeSpan Poll { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>After a Core appears, time for its app to start: MODE pressed while the bootloader samples it would mean DFU.</summary>
    public TimeSpan ArrivalSettle { get; init; } = Identify.AppStart + TimeSpan.FromSeconds(1);

    /// <summary>Gone from USB and dark this long: pulled (a Core rebooting is dark and off USB for a moment only).</summary>
    public TimeSpan RemovalSettle { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>After a stop, how long a slot in a destructive step may take to finish it before it is abandoned (the journal then puts the Core back at the next start).</summary>
    public TimeSpan StopGrace { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>
    /// After light alone turned out to be no Core (nothing enumerated, not even when MODE asked for listening mode), how
    /// long light alone is not looked into again; a Core on USB is seen at once.
    /// </summary>
    public TimeSpan LightOnlyHoldOff { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A Core's device time before the station has timed one of its own, for the progress bar.</summary>
    public TimeSpan TypicalDeviceTime { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>Where the station's verdicts go and what it knows of a Core's past.</summary>
public interface IStationRecords
{
    /// <summary>Stores a Core's final verdict; completes once it is committed.</summary>
    Task RecordAsync(SlotOutcome outcome);

    /// <summary>The chip lot the lot inventory gives the device; null when unknown.</summary>
    string? LotOf(string deviceId);

    /// <summary>Every final verdict the store holds for the device, oldest first.</summary>
    IReadOnlyList<PriorVerdict> Finals(string deviceId);
}

/// <summary>An earlier final verdict on a Core.</summary>
public sealed record PriorVerdict(int Slot, Verdict Verdict, string? FailureMode, string? Signature, Guid RunId);

/// <summary>
/// The line station: every slot runs on its own. It waits for a Core to appear (on USB at the slot, or its LED lit and
/// then its serial port brought up by MODE: light alone may be a neighbour's),
/// screens it with <see cref="Screening"/> (which identifies it, a Core stuck in DFU included), stores the verdict,
/// shows it with the operator's instruction, waits until the Core is pulled (gone from USB and dark) and starts over.
/// A stop (SIGTERM) lets a slot in a destructive step finish that step (or abandon it after
/// <see cref="StationOptions.StopGrace"/>: the region journal then restores the Core at the next start); every other
/// slot stops at once. Run on the rig's thread; cancel the stop token there too.
/// </summary>
public sealed class Station
{
    // Steps before anything is written to the Core, or after the readback's row is stored and the Core runs its app again:
    // abandoning them leaves the Core whole, and the next start screens it from the beginning.
    private static readonly HashSet<string> SafeToAbandon = new(StringComparer.Ordinal)
    {
        "identify", "look for the Core", "enter DFU", "open DFU", "identify after DFU", "app start after DFU",
    };

    private readonly IUsbBus _bus;
    private readonly TimeProvider _time;
    private readonly IReadOnlyList<RigSlot> _slots;
    private readonly Screening _screening;
    private readonly IStationRecords _records;
    private readonly StationOptions _options;
    private readonly Dictionary<int, SlotRun> _runs = [];
    private readonly Dictionary<int, (string DeviceId, PriorVerdict Verdict)> _carried;
    private TimeSpan _typical;

    /// <param name="carried">Per slot, the Core last judged there in a resumed shift: if it is still there, its verdict is shown again, not screened twice.</param>
    public Station(IUsbBus bus, TimeProvider time, IReadOnlyList<RigSlot> slots, Screening screening, IStationRecords records, StationBoard board,
        StationOptions options, IReadOnlyDictionary<int, (string DeviceId, PriorVerdict Verdict)>? carried = null)
    {
        _bus = bus ?? throw new ArgumentNullException(nameof(bus));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _slots = slots ?? throw new ArgumentNullException(nameof(slots));
        _screening = screening ?? throw new ArgumentNullException(nameof(screening));
        _records = records ?? throw new ArgumentNullException(nameof(records));
        Board = board ?? throw new ArgumentNullException(nameof(board));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _carried = carried?.ToDictionary() ?? [];
        _typical = options.TypicalDeviceTime;
        foreach (var slot in slots) _runs[slot.Number] = new SlotRun();
    }

    public StationBoard Board { get; }

    /// <summary>Raised on the rig's thread once a slot's verdict is stored and shown: the operator's cue to pull the Core.</summary>
    public event Action<int, Verdict>? VerdictShown;

    /// <summary>
    /// Raised on the rig's thread as a slot enters each phase of its cycle: <see cref="PhaseWaitingForCore"/>,
    /// <see cref="PhaseArrived"/> (the app's start), each screening step by name, <see cref="PhaseStoring"/>,
    /// <see cref="PhaseWaitingForRemoval"/>: where a slot's time goes (`hilrig bench station`).
    /// </summary>
    public event Action<int, string>? PhaseEntered;

    public const string PhaseWaitingForCore = "waiting for a Core";
    public const string PhaseArrived = "arrived";
    public const string PhaseStoring = "storing the verdict";
    public const string PhaseWaitingForRemoval = "waiting for removal";

    /// <summary>Slots that abandoned a step at the stop (the Core is screened again at the next start).</summary>
    public IReadOnlyList<int> Abandoned => [.. _runs.Where(r => r.Value.Abandoned).Select(r => r.Key).Order()];

    /// <summary>Runs every slot's loop until <paramref name="stop"/>; returns once every slot has stopped.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        using var watch = new CancellationTokenSource();
        using var hard = new CancellationTokenSource();
        using var onStop = stop.Register(() => OnStop(hard.Token));
        var leds = WatchAsync(watch.Token);
        try
        {
            await Task.WhenAll(_slots.Select(s => SlotLoopAsync(s, stop)));
        }
        finally
        {
            await hard.CancelAsync();
            await watch.CancelAsync();
            await leds;
        }
    }

    private void OnStop(CancellationToken hard)
    {
        Board.Stopping();
        foreach (var run in _runs.Values)
        {
            if (run.Procedure is { } procedure && SafeToAbandon.Contains(run.Step)) Abandon(run, procedure);
        }
        _ = AbandonAfterGraceAsync(hard);
    }

    private async Task AbandonAfterGraceAsync(CancellationToken hard)
    {
        try
        {
            await Task.Delay(_options.StopGrace, _time, hard);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        foreach (var run in _runs.Values)
        {
            if (run.Procedure is { } procedure) Abandon(run, procedure);
        }
    }

    private static void Abandon(SlotRun run, CancellationTokenSource procedure)
    {
        run.Abandoned = true;
        procedure.Cancel();
    }

    private bool OnUsb(RigSlot slot) => _bus.GetDevices().Any(d => d.Path == slot.UsbPath);

    private bool Present(RigSlot slot, bool lightCounts = true) =>
        OnUsb(slot) || (lightCounts && slot.Led is { Fault: null } led && !LedState.Dark.Matches(led.Current));

    /// <param name="lightFrom">Light alone counts as a Core arriving only from this timestamp on (null: always).</param>
    private async Task WaitForAsync(RigSlot slot, bool present, TimeSpan settle, CancellationToken ct, long? lightFrom = null)
    {
        PhaseEntered?.Invoke(slot.Number, present ? PhaseWaitingForCore : PhaseWaitingForRemoval);
        long? since = null;
        while (true)
        {
            var lightCounts = lightFrom is not { } from || _time.GetTimestamp() >= from;
            if (Present(slot, lightCounts) == present)
            {
                since ??= _time.GetTimestamp();
                if (_time.GetElapsedTime(since.Value) >= settle)
                {
                    if (present) PhaseEntered?.Invoke(slot.Number, PhaseArrived);
                    return;
                }
            }
            else
            {
                since = null;
            }
            await Task.Delay(_options.Poll, _time, ct);
        }
    }

    /// <summary>The tiles' LED swatches and progress bars, once a second of rig time.</summary>
    private async Task WatchAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            foreach (var slot in _slots)
            {
                Board.Led(slot.Number, slot.Led is { Fault: null } led ? led.Current : null);
                if (_runs[slot.Number] is { Procedure: not null } run)
                    Board.Progress(slot.Number, Math.Min(0.99, _time.GetElapsedTime(run.Started).TotalSeconds / _typical.TotalSeconds));
            }
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), _time, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task SlotLoopAsync(RigSlot slot, CancellationToken stop)
    {
        var n = slot.Number;
        long? lightFrom = null;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                Board.Waiting(n);
                // Powered while empty: a Core dropped in boots and shows itself. The slot may be empty, and an empty slot
                // shows nothing whether or not the relay's contact closed: nothing seen is no relay fault here (one checked
                // switch, no re-switching through cuts while the operator's hands may be in the slot). The relay is judged
                // where there is evidence: a Core this station screened, switched back on before its verdict (ScreenAsync).
                if (!slot.Control.PowerOn) await RelaySwitch.PowerOnAsync(slot, _bus, _time, PowerOnExpectation.MayBeEmpty, ct: stop);
                await WaitForAsync(slot, present: true, TimeSpan.Zero, stop, lightFrom);
                await Task.Delay(_options.ArrivalSettle, _time, stop);
                if (!await IsCoreAsync(slot, stop))
                {
                    // light alone: a neighbour's LED leaking into this slot's sensor; looked into again after a while
                    lightFrom = _time.GetTimestamp() + (long)(_options.LightOnlyHoldOff.TotalSeconds * _time.TimestampFrequency);
                    continue;
                }
                lightFrom = null;
                if (!await ScreenAsync(slot, stop)) return;
                if (_runs[n].RelayFault is { } fault)
                {
                    // the relay does not close: no Core can be powered in this slot until it is replaced
                    Board.OutOfService(n, $"rig fault: {fault}");
                    return;
                }
                await WaitForAsync(slot, present: false, _options.RemovalSettle, stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // waiting for a Core, or for one to be pulled: nothing to finish
        }
        finally
        {
            Board.Stopped(n, "stopped");
        }
    }

    /// <summary>
    /// Whether what showed up in the slot is a Core, decided by USB and serial, never by light alone: anything at the
    /// slot's USB path (a Core in DFU or in listening mode enumerates; spark-core.md §4), or, when only the LED is lit, a
    /// Core running its app that MODE puts into listening mode (its serial port enumerates). A neighbour's LED leaks into
    /// the slot's sensor (a factory reset's bright white above all): screening that empty slot would end in a rig fault
    /// counted against the slot's health.
    /// </summary>
    private async Task<bool> IsCoreAsync(RigSlot slot, CancellationToken ct)
    {
        if (OnUsb(slot)) return true;
        try
        {
            await ChoreographyRunner.RunAsync(Choreographies.EnterListeningMode, slot, _bus, _time, ct);
            return true;
        }
        catch (Exception ex) when (ex is ChoreographyException or SensorException)
        {
            // a Core dropped in while MODE was held boots into DFU: it is on USB now
            return OnUsb(slot);
        }
    }

    /// <summary>Screens the Core in the slot and shows its verdict; false when the stop abandoned it.</summary>
    private async Task<bool> ScreenAsync(RigSlot slot, CancellationToken stop)
    {
        var n = slot.Number;
        var run = _runs[n];
        run.Step = "identify";
        run.Started = _time.GetTimestamp();
        run.AlreadyJudged = null;
        Board.Screening(n, null, null, 0, null);
        using var procedure = new CancellationTokenSource();
        run.Procedure = procedure;
        SlotOutcome outcome;
        try
        {
            // the procedure's own `i` tells the station who is in the slot, for the tile and the retest check
            var watched = slot with { Identity = new WatchedIdentity(slot.Identity, id => Identified(n, run, id)) };
            outcome = await _screening.RunSlotAsync(watched, new StepReporter(this, n, run, stop), procedure.Token);
        }
        catch (OperationCanceledException) when (procedure.IsCancellationRequested)
        {
            // a step abandoned may have left a button line pressed
            slot.Control.SetMode(false);
            slot.Control.SetReset(false);
            if (run.AlreadyJudged is not { } judged) return false;
            run.Abandoned = false;
            Board.Verdict(n, judged.DeviceId, judged.Verdict.Verdict, judged.Verdict.FailureMode, judged.Verdict.Signature ?? "", counted: false);
            VerdictShown?.Invoke(n, judged.Verdict.Verdict);
            return true;
        }
        finally
        {
            run.Procedure = null;
        }

        // A Core the procedure left off (a hung chip) must light up to be seen leaving. It is switched on before its
        // verdict is shown: the operator has no cue to pull it yet and it was up before the procedure's cut, so nothing
        // of it after every switch is the relay's (RelaySwitch, WasUp), not an empty slot.
        run.RelayFault = null;
        if (!slot.Control.PowerOn)
        {
            try
            {
                await RelaySwitch.PowerOnAsync(slot, _bus, _time, PowerOnExpectation.WasUp, ct: CancellationToken.None);
            }
            catch (SlotLineException ex)
            {
                run.RelayFault = ex.Message;
            }
        }

        // a Core that arrived in DFU says its id only at the end: its history is looked up before its own verdict is stored
        if (outcome.DeviceId is { } said && run.DeviceId != said)
        {
            if (_carried.Remove(n, out var carried) && carried.DeviceId == said)
            {
                // judged here before the restart and never pulled: its verdict stands, not a second one
                Board.Verdict(n, said, carried.Verdict.Verdict, carried.Verdict.FailureMode, carried.Verdict.Signature ?? "", counted: false);
                VerdictShown?.Invoke(n, carried.Verdict.Verdict);
                return true;
            }
            Identified(n, run, said);
        }
        PhaseEntered?.Invoke(n, PhaseStoring);
        await _records.RecordAsync(outcome);
        var id = outcome.DeviceId ?? (outcome.Evidence.DfuSerial is { } serial ? $"dfu-{serial}" : $"slot-{n}-unidentified");
        Board.Verdict(n, id, outcome.Verdict, outcome.FailureMode, outcome.Signature);
        // the progress bar learns the pace of healthy Cores
        if (outcome.Verdict == Verdict.Pass) _typical = TimeSpan.FromTicks((_typical.Ticks * 3 + outcome.DeviceTime.Ticks) / 4);
        VerdictShown?.Invoke(n, outcome.Verdict);
        return true;
    }

    private void Identified(int slot, SlotRun run, string? deviceId)
    {
        run.DeviceId = deviceId;
        if (deviceId is null) return;
        var carried = _carried.Remove(slot, out var c) ? c : ((string DeviceId, PriorVerdict Verdict)?)null;
        if (carried is { } judged && judged.DeviceId == deviceId)
        {
            // the Core judged here before a restart is still in: its verdict stands, it is not screened twice
            run.AlreadyJudged = judged;
            run.Procedure?.Cancel();
            return;
        }
        var prior = _records.Finals(deviceId);
        var history = prior.Count == 0 ? null
            : string.Join("; ", prior.TakeLast(3).Select(p => string.Create(CultureInfo.InvariantCulture,
                $"{p.Verdict.ToName()}{(p.FailureMode is { } m ? $" ({m})" : "")} in slot {p.Slot}")));
        Board.Identified(slot, deviceId, _records.LotOf(deviceId), prior.Count + 1, history);
    }

    private sealed class SlotRun
    {
        public string Step { get; set; } = "identify";

        public long Started { get; set; }

        public string? DeviceId { get; set; }

        public CancellationTokenSource? Procedure { get; set; }

        public bool Abandoned { get; set; }

        /// <summary>The relay did not close when the Core the procedure left off was switched back on.</summary>
        public string? RelayFault { get; set; }

        public (string DeviceId, PriorVerdict Verdict)? AlreadyJudged { get; set; }
    }

    /// <summary>The screening's steps: onto the tile, and a stop abandons the procedure at the first step that is safe to leave.</summary>
    private sealed class StepReporter(Station station, int slot, SlotRun run, CancellationToken stop) : IProgress<SlotProgress>
    {
        public void Report(SlotProgress value)
        {
            run.Step = value.Step;
            station.PhaseEntered?.Invoke(slot, value.Step);
            station.Board.Step(slot, value.Step, Math.Min(0.99, station._time.GetElapsedTime(run.Started).TotalSeconds / station._typical.TotalSeconds));
            if (run.Procedure is not { } procedure) return;
            if (run.AlreadyJudged is not null) procedure.Cancel();
            else if (stop.IsCancellationRequested && SafeToAbandon.Contains(value.Step)) Abandon(run, procedure);
        }
    }

    private sealed class WatchedIdentity(IDeviceIdentifier inner, Action<string?> seen) : IDeviceIdentifier
    {
        public async Task<string?> ReadDeviceIdAsync(CancellationToken ct = default)
        {
            var id = await inner.ReadDeviceIdAsync(ct);
            seen(id);
            return id;
        }
    }
}
