using System.Globalization;
using HilRig.Core.Config;
using HilRig.Sim.Fleet;

namespace HilRig.Sim.Rig;

/// <summary>How the simulated line's operator works.</summary>
/// <param name="Cores">Cores to feed in the shift; then slots are left empty.</param>
/// <param name="Lots">Chip lots the Cores come from.</param>
/// <param name="BadLots">Lots with high defect rates (about one chip in five bad).</param>
/// <param name="Seed">Same seed, same Cores in the same order.</param>
/// <param name="Handling">Time the operator spends per slot: pull the finished Core (if any), drop the next one in.</param>
/// <param name="Dwell">Pull a Core this long after it was dropped in even without a done cue; null: only on <see cref="SimLineOperator.Done"/>.</param>
/// <param name="EmptyAtStart">Pull the Cores of the rig config at the start (no handling time), so the shift starts with empty slots.</param>
/// <param name="Slots">The slots the operator tends (a station on some slots of the rig); null: every slot. The others are never touched.</param>
public sealed record LineOperatorOptions(int Cores, int Lots, int BadLots, int Seed, TimeSpan Handling, TimeSpan? Dwell = null, bool EmptyAtStart = true,
    IReadOnlyCollection<int>? Slots = null)
{
    public static readonly TimeSpan DefaultHandling = TimeSpan.FromSeconds(15);
}

/// <summary>
/// The operator of a simulated line: keeps the rig's slots fed from a seeded population of Cores (FleetPlan: chip lots,
/// some bad, with their flash defects). One pair of hands: actions are done one after the other, each taking
/// <see cref="LineOperatorOptions.Handling"/> of simulated time, empty slots first in slot order, then finished ones
/// in the order they were called done. Runs on the simulation thread; the same options and cues give the same line.
/// </summary>
public sealed class SimLineOperator
{
    private readonly SimRig _rig;
    private readonly FleetPlan _plan;
    private readonly Queue<int> _work = new();
    private readonly HashSet<int> _queued = [];
    private readonly HashSet<int> _retestFrom = [];
    private readonly List<(FleetDevice Device, int From)> _retests = [];
    private readonly Dictionary<string, FleetDevice> _fed = new(StringComparer.Ordinal);
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _next;
    private bool _resumed;

    public SimLineOperator(SimRig rig, LineOperatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(rig);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Handling < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(options), options.Handling, "handling time must not be negative");
        if (options.Dwell is { } dwell && dwell <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(options), dwell, "dwell must be positive");
        _rig = rig;
        Options = options;
        foreach (var number in options.Slots ?? []) _ = rig.Slot(number);
        _plan = FleetPlan.Create(new FleetOptions(options.Cores, options.Lots, options.Seed, options.BadLots));
    }

    public LineOperatorOptions Options { get; }

    /// <summary>The population the Cores come from (device ids, lots, flash defects), in feeding order.</summary>
    public FleetPlan Population => _plan;

    /// <summary>Cores dropped in so far.</summary>
    public int Fed => _next;

    /// <summary>Cores pulled so far.</summary>
    public int Pulled { get; private set; }

    /// <summary>What the operator did, in order, with simulated time: "12:00:15.000 insert 3 55ff... SST25-1340A healthy".</summary>
    public List<string> Log { get; } = [];

    /// <summary>Raised after each Core dropped in (slot, the device).</summary>
    public event Action<int, FleetDevice>? Inserted;

    /// <summary>Raised after each Core pulled (slot, device id).</summary>
    public event Action<int, string>? Removed;

    /// <summary>The cue that the slot's Core is finished (the station shows its verdict): pull it and feed the next.</summary>
    /// <param name="retestElsewhere">"rig fault: try another slot": the Core pulled goes back in, into another slot, before the next new one.</param>
    public bool Done(int slot, bool retestElsewhere = false)
    {
        _ = _rig.Slot(slot);
        if (!Tends(slot)) return false;
        if (retestElsewhere) _retestFrom.Add(slot);
        if (!_queued.Add(slot)) return false;
        _work.Enqueue(slot);
        _wake.TrySetResult();
        return true;
    }

    /// <summary>One line: fed, pulled, population, queued slots.</summary>
    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"fed={Fed} pulled={Pulled} population={Options.Cores} handling={Options.Handling.TotalSeconds:0.###}s dwell={(Options.Dwell is { } d ? d.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + "s" : "-")} queue={(_work.Count == 0 ? "-" : string.Join(',', _work))}");

    /// <summary>Works the line until <paramref name="ct"/> ends it. Call on the simulation thread.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var time = _rig.Time;
        // a line picked up where another process left it keeps its Cores in their slots
        if (Options.EmptyAtStart && !_resumed)
        {
            foreach (var slot in Tended().Where(s => s.Occupied))
                Pull(slot.Number);
        }
        foreach (var slot in Tended())
        {
            if (slot.Occupied) WatchDwell(slot.Number, slot.Core.DeviceId, ct);
            else Done(slot.Number);
        }
        while (!ct.IsCancellationRequested)
        {
            if (_work.Count == 0)
            {
                _wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                using (ct.Register(() => _wake.TrySetCanceled(ct)))
                    await _wake.Task;
                continue;
            }
            var number = _work.Peek();
            // a slot with nothing to pull and nothing left to feed needs no hands; the slot stands empty between the
            // pull and the drop-in (half the handling each), as it does under real hands, so a station sees it go
            if (_rig.Slot(number).Occupied)
            {
                await Task.Delay(Options.Handling / 2, time, ct);
                Pull(number);
                if (HasNext(number)) await Task.Delay(Options.Handling - (Options.Handling / 2), time, ct);
            }
            else if (HasNext(number))
            {
                await Task.Delay(Options.Handling, time, ct);
            }
            _work.Dequeue();
            _queued.Remove(number);
            if (HasNext(number)) Feed(number, ct);
        }
    }

    /// <summary>How far the line got: enough to go on from in another process, the same population (<see cref="SimRigState.LineFile"/>).</summary>
    public sealed record Progress(int Cores, int Lots, int BadLots, int Seed, int Next, int Pulled, List<string> Retests, List<int> RetestSlots,
        List<int> RetestFrom, List<int> Queue, List<string> Log);

    /// <summary>Writes the operator's progress next to the slots' saved state (whole or not at all). Call on the simulation thread.</summary>
    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        var progress = new Progress(Options.Cores, Options.Lots, Options.BadLots, Options.Seed, _next, Pulled,
            [.. _retests.Select(r => r.Device.DeviceId)], [.. _retests.Select(r => r.From)], [.. _retestFrom.Order()], [.. _work], [.. Log.TakeLast(200)]);
        var path = Path.Combine(directory, SimRigState.LineFile);
        File.WriteAllText(path + ".partial", System.Text.Json.JsonSerializer.Serialize(progress));
        File.Move(path + ".partial", path, overwrite: true);
    }

    /// <summary>
    /// Goes on from the progress another process saved for the same population (same cores, lots, bad lots and seed):
    /// the next Core is the one after the last fed, a Core waiting for its retest still waits, the Cores in the slots
    /// stay (see <see cref="SimRigState.Load"/>). Call before <see cref="RunAsync"/>. False, with nothing changed, when
    /// there is no such progress.
    /// </summary>
    /// <param name="keepQueue">Pull the slots that were queued when it stopped; false when the station re-cues them (it shows their verdicts again).</param>
    public bool Resume(string directory, bool keepQueue)
    {
        var path = Path.Combine(directory, SimRigState.LineFile);
        if (!File.Exists(path)) return false;
        Progress? saved;
        try
        {
            saved = System.Text.Json.JsonSerializer.Deserialize<Progress>(File.ReadAllText(path));
        }
        catch (Exception ex) when (ex is IOException or System.Text.Json.JsonException)
        {
            return false;
        }
        if (saved is null || saved.Cores != Options.Cores || saved.Lots != Options.Lots || saved.BadLots != Options.BadLots || saved.Seed != Options.Seed
            || saved.Next is < 0 || saved.Next > Options.Cores || saved.Retests.Count != saved.RetestSlots.Count)
            return false;
        _next = saved.Next;
        Pulled = saved.Pulled;
        for (var i = 0; i < _next; i++)
        {
            var device = _plan.Device(i);
            _fed[device.DeviceId] = device;
        }
        for (var i = 0; i < saved.Retests.Count; i++)
            if (_fed.TryGetValue(saved.Retests[i], out var device)) _retests.Add((device, saved.RetestSlots[i]));
        foreach (var slot in saved.RetestFrom.Where(Tends)) _retestFrom.Add(slot);
        if (keepQueue)
        {
            foreach (var slot in saved.Queue.Where(Tends))
                if (_queued.Add(slot)) _work.Enqueue(slot);
        }
        Log.AddRange(saved.Log);
        _resumed = true;
        return true;
    }

    private void Pull(int number)
    {
        var core = _rig.Remove(number);
        if (core is null) return;
        Pulled++;
        Note($"remove {number} {core.DeviceId}");
        Removed?.Invoke(number, core.DeviceId);
        if (_retestFrom.Remove(number) && _fed.TryGetValue(core.DeviceId, out var device))
        {
            _retests.Add((device, number));
            // an empty slot elsewhere takes it, even once the population has run out
            if (Tended().FirstOrDefault(s => !s.Occupied && s.Number != number && !_queued.Contains(s.Number)) is { } free)
                Done(free.Number);
        }
    }

    private bool Tends(int number) => Options.Slots is not { } only || only.Contains(number);

    private IEnumerable<SimSlot> Tended() => _rig.Slots.Where(s => Tends(s.Number)).OrderBy(s => s.Number);

    private bool HasNext(int number) => _next < Options.Cores || _retests.Any(r => r.From != number);

    private void Feed(int number, CancellationToken ct)
    {
        // a Core to retest goes in before the next new one, never back into the slot that faulted
        var retest = _retests.FindIndex(r => r.From != number);
        FleetDevice device;
        if (retest >= 0)
        {
            var (again, from) = _retests[retest];
            device = again;
            _retests.RemoveAt(retest);
            Note($"retest {device.DeviceId} from slot {from}");
        }
        else
        {
            device = _plan.Device(_next++);
            _fed[device.DeviceId] = device;
        }
        _rig.Insert(number, device.DeviceId, device.Lot.Name, device.Flash);
        Note($"insert {number} {device.DeviceId} {device.Lot.Name} {FlashWords.Describe(device.Flash)}");
        Inserted?.Invoke(number, device);
        WatchDwell(number, device.DeviceId, ct);
    }

    private void WatchDwell(int number, string deviceId, CancellationToken ct)
    {
        if (Options.Dwell is { } dwell) _ = DwellAsync(number, deviceId, dwell, ct);
    }

    private async Task DwellAsync(int number, string deviceId, TimeSpan dwell, CancellationToken ct)
    {
        try
        {
            await Task.Delay(dwell, _rig.Time, ct);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        var slot = _rig.Slot(number);
        if (slot.Occupied && slot.Core.DeviceId == deviceId) Done(number);
    }

    private void Note(string what) => Log.Add($"{_rig.Time.GetUtcNow():HH:mm:ss.fff} {what}");
}

/// <summary>A Core's flash condition in the words of rig-config.yaml's sim.cores (README, "Flash conditions").</summary>
public static class FlashWords
{
    public const string Valid = "healthy, stuckBits: N (1-3145728), badSectors: N (1-512), slow: F (> 1), dead: true";

    /// <summary>"healthy", "stuckBits: 12", "slow: 3", "dead: true".</summary>
    public static string Describe(FlashCondition flash) => flash.Describe().Trim('{', '}', ' ');

    /// <summary>Parses "healthy", "stuckBits: 12", "{ stuckBits: 12 }", "stuckBits 12", "dead" or "dead: true".</summary>
    public static bool TryParse(string text, out FlashCondition flash, out string error)
    {
        flash = FlashCondition.Healthy;
        error = "";
        var words = text.Replace('{', ' ').Replace('}', ' ').Replace(':', ' ')
            .Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0) return true;
        var name = words[0];
        var value = words.Length > 1 ? words[1] : null;
        if (words.Length > 2 || (value is null && name is not ("healthy" or "dead")))
        {
            error = $"flash '{text}' is not a flash condition; valid: {Valid}";
            return false;
        }
        switch (name)
        {
            case "healthy" when value is null:
                return true;
            case "dead" when value is null or "true":
                flash = new FlashCondition.Dead();
                return true;
            case "stuckBits" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= FlashCondition.MaxStuckBits:
                flash = new FlashCondition.StuckBits(n);
                return true;
            case "badSectors" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= FlashCondition.ChipSectors:
                flash = new FlashCondition.BadSectors(n);
                return true;
            case "slow" when double.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var f) && f > 1 && double.IsFinite(f):
                flash = new FlashCondition.Slow(f);
                return true;
        }
        error = $"flash '{text}' is not a flash condition; valid: {Valid}";
        return false;
    }
}
