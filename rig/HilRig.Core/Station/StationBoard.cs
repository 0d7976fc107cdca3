using System.Globalization;
using HilRig.Core.Led;
using HilRig.Core.Procedures;

namespace HilRig.Core.Station;

/// <summary>Where a slot of the station is in its loop.</summary>
public enum SlotPhase
{
    /// <summary>Empty (nothing on USB, LED dark): waiting for the operator to drop a Core in.</summary>
    Waiting,

    /// <summary>A Core is in and being screened.</summary>
    Screening,

    /// <summary>The verdict is shown; waiting for the operator to pull the Core.</summary>
    Verdict,

    /// <summary>The station stopped this slot (SIGTERM).</summary>
    Stopped,
}

/// <summary>One slot's tile on the station page: what the operator needs to see at a glance.</summary>
/// <param name="Led">The LED state as the slot's colour sensor sees it now ("flashing blue"); null without a sensor.</param>
/// <param name="LedRgb">That state's colour as #RRGGBB, for the tile's swatch.</param>
/// <param name="Progress">0-1: the step's place in the procedure, by time against a typical Core's device time.</param>
/// <param name="Attempt">This Core's screening attempt (2 or more: a retest).</param>
/// <param name="History">What the earlier attempts said ("fail bad-external-flash in slot 3").</param>
public sealed record SlotTile(
    int Slot,
    SlotPhase Phase,
    string? DeviceId,
    string? Lot,
    string? Step,
    double Progress,
    string? Led,
    string LedRgb,
    string? Verdict,
    string? FailureMode,
    string Instruction,
    int Attempt,
    string? History,
    string? Signature)
{
    public bool Retest => Attempt > 1;
}

/// <summary>The shift so far: units judged (a Core's latest pass or fail verdict counts), rig faults, and the pace.</summary>
/// <param name="Yield">Passed units over judged units (null before the first).</param>
/// <param name="CoresPerHour">Verdicts per hour of rig time since this station started.</param>
public sealed record ShiftCounts(int Units, int Passed, int Failed, int RigFaults, int Retests, double? Yield, double CoresPerHour, TimeSpan Running);

/// <summary>What the page shows: every tile and the shift's counts, as of <see cref="Version"/>.</summary>
public sealed record StationSnapshot(long Version, IReadOnlyList<SlotTile> Tiles, ShiftCounts Shift, bool Stopping, string? RunId);

/// <summary>
/// The station's state for its page: one tile per slot and the shift's counts. Written by the slot loops (on the rig's
/// thread), read by the page's requests (any thread); every change bumps <see cref="StationSnapshot.Version"/> and
/// wakes whoever waits for it.
/// </summary>
public sealed class StationBoard
{
    private readonly object _gate = new();
    private readonly SortedDictionary<int, SlotTile> _tiles = [];

    // a unit's latest pass/fail verdict, in the order verdicts were stored
    private readonly Dictionary<string, Verdict> _units = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly long _started;
    private int _rigFaults;
    private int _retests;
    private int _sessionVerdicts;
    private long _version;
    private bool _stopping;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public StationBoard(IEnumerable<int> slots, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(slots);
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _started = time.GetTimestamp();
        foreach (var slot in slots) _tiles[slot] = Empty(slot, null, LedState.Dark);
    }

    /// <summary>The run the shift's rows go to.</summary>
    public string? RunId { get; set; }

    public static string Instruction(SlotPhase phase, Verdict? verdict) => phase switch
    {
        SlotPhase.Waiting => "drop in a Core",
        SlotPhase.Screening => "screening: leave it in",
        SlotPhase.Verdict => verdict switch
        {
            Procedures.Verdict.Pass => "remove: PASS",
            Procedures.Verdict.Fail => "remove: FAIL to RMA",
            _ => "rig fault: try another slot",
        },
        _ => "station stopped",
    };

    /// <summary>#RRGGBB of an LED state's colour as the Core shows it (off: dark grey).</summary>
    public static string Rgb(LedState? state) => (state?.Pattern == LedPattern.Off ? LedColor.Off : state?.Color ?? LedColor.Off) switch
    {
        LedColor.Red => "#ff0000",
        LedColor.Green => "#00ff00",
        LedColor.Blue => "#0000ff",
        LedColor.Yellow => "#ffff00",
        LedColor.Cyan => "#00ffff",
        LedColor.Magenta => "#ff00ff",
        LedColor.White => "#ffffff",
        LedColor.Orange => "#ff8000",
        _ => "#202020",
    };

    private static SlotTile Empty(int slot, string? led, LedState? state) =>
        new(slot, SlotPhase.Waiting, null, null, null, 0, led, Rgb(state), null, null, Instruction(SlotPhase.Waiting, null), 0, null, null);

    /// <summary>Counts a final verdict already in the store (a resumed shift), without a tile.</summary>
    public void Count(string deviceId, Verdict verdict, bool retest)
    {
        lock (_gate) CountLocked(deviceId, verdict, retest);
        Bump();
    }

    private void CountLocked(string deviceId, Verdict verdict, bool retest)
    {
        if (verdict == Procedures.Verdict.RigFault) _rigFaults++;
        else _units[deviceId] = verdict;
        if (retest) _retests++;
    }

    public void Waiting(int slot) => Update(slot, t => Empty(slot, t.Led, null) with { LedRgb = t.LedRgb });

    public void Screening(int slot, string? deviceId, string? lot, int attempt, string? history) =>
        Update(slot, t => t with
        {
            Phase = SlotPhase.Screening, DeviceId = deviceId, Lot = lot, Attempt = attempt, History = history, Verdict = null, FailureMode = null,
            Signature = null, Step = "identify", Progress = 0, Instruction = Instruction(SlotPhase.Screening, null),
        });

    public void Step(int slot, string step, double progress) => Update(slot, t => t with { Step = step, Progress = Math.Clamp(progress, 0, 1) });

    public void Progress(int slot, double progress) => Update(slot, t => t with { Progress = Math.Clamp(progress, 0, 1) });

    public void Identified(int slot, string deviceId, string? lot, int attempt, string? history) =>
        Update(slot, t => t with { DeviceId = deviceId, Lot = lot, Attempt = attempt, History = history });

    /// <summary>The slot's final verdict, stored: shown, and counted (<paramref name="counted"/> false: one counted before, shown again).</summary>
    public void Verdict(int slot, string deviceId, Verdict verdict, string? failureMode, string signature, bool counted = true)
    {
        lock (_gate)
        {
            var t = _tiles[slot];
            _tiles[slot] = t with
            {
                Phase = SlotPhase.Verdict, DeviceId = deviceId, Verdict = verdict.ToName(), FailureMode = failureMode, Signature = signature,
                Step = "done", Progress = 1, Instruction = Instruction(SlotPhase.Verdict, verdict),
            };
            if (counted)
            {
                CountLocked(deviceId, verdict, t.Attempt > 1);
                _sessionVerdicts++;
            }
        }
        Bump();
    }

    public void Led(int slot, LedState? state) => Update(slot, t =>
    {
        var text = state?.ToString();
        return text == t.Led ? t : t with { Led = text, LedRgb = Rgb(state) };
    });

    /// <summary>The slot's loop ended; a verdict on show stays on show (the Core is still to be pulled), as does the reason a slot went out of service.</summary>
    public void Stopped(int slot, string why) =>
        Update(slot, t => t.Phase is SlotPhase.Verdict or SlotPhase.Stopped ? t : t with { Phase = SlotPhase.Stopped, Instruction = Instruction(SlotPhase.Stopped, null), Step = why });

    /// <summary>The slot's loop ended on a rig fault of the slot itself (a relay that does not close), over any verdict on show.</summary>
    public void OutOfService(int slot, string why) =>
        Update(slot, t => t with { Phase = SlotPhase.Stopped, Instruction = "rig fault: slot out of service, remove its Core", Step = why });

    public void Stopping()
    {
        lock (_gate) _stopping = true;
        Bump();
    }

    public StationSnapshot Snapshot()
    {
        lock (_gate)
        {
            var passed = _units.Values.Count(v => v == Procedures.Verdict.Pass);
            var units = _units.Count;
            var running = _time.GetElapsedTime(_started);
            var pace = running > TimeSpan.Zero ? _sessionVerdicts / running.TotalHours : 0;
            return new StationSnapshot(_version, [.. _tiles.Values],
                new ShiftCounts(units, passed, units - passed, _rigFaults, _retests, units == 0 ? null : (double)passed / units, pace, running),
                _stopping, RunId);
        }
    }

    /// <summary>Completes at the next change after <paramref name="version"/> (at once when there was one).</summary>
    public Task WaitForChangeAsync(long version, CancellationToken ct)
    {
        Task changed;
        lock (_gate)
        {
            if (_version != version) return Task.CompletedTask;
            changed = _changed.Task;
        }
        return changed.WaitAsync(ct);
    }

    private void Update(int slot, Func<SlotTile, SlotTile> change)
    {
        bool moved;
        lock (_gate)
        {
            var before = _tiles[slot];
            var after = change(before);
            moved = !ReferenceEquals(before, after);
            _tiles[slot] = after;
        }
        if (moved) Bump();
    }

    private void Bump()
    {
        TaskCompletionSource woken;
        lock (_gate)
        {
            _version++;
            woken = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        woken.TrySetResult();
    }

    /// <summary>"93.5 %" or "-".</summary>
    public static string Percent(double? value) => value is { } v ? string.Create(CultureInfo.InvariantCulture, $"{v * 100:0.0} %") : "-";
}
