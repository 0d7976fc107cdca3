using System.Globalization;
using HilRig.Cli.Commands;
using HilRig.Composition;
using HilRig.Core.Campaigns;
using HilRig.Core.Config;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Core.Slots;
using HilRig.Core.Spark;
using HilRig.Reports.Campaigns;
using HilRig.Reports.Statistics;
using HilRig.Sim.Device.Bootloader;

namespace HilRig.Cli.Agent;

/// <summary>How an agent works with the queue.</summary>
/// <param name="Lease">How long a claim holds an item without a renewal; a rig that dies gives it back after this.</param>
/// <param name="Heartbeat">Seconds between heartbeats; the rig counts as gone after three missed ones.</param>
/// <param name="Poll">How long to wait for work when the queue has none for this rig.</param>
internal sealed record AgentOptions(TimeSpan Lease, TimeSpan Heartbeat, TimeSpan Poll)
{
    public TimeSpan HeartbeatTimeout => Heartbeat * 3;
}

/// <summary>
/// <c>hilrig agent</c>: the rig's long-running worker for campaigns. It heartbeats, claims a work item with a lease,
/// runs it on its own slots with the soak engine one step (one cycle on every slot) at a time, and after each step
/// stores the rows, syncs them to the fleet and renews the lease crediting the run with the item's cycles so far.
/// A background renewal keeps the lease while a step runs. SIGTERM lets the step in progress finish, then the item is
/// released (back to the queue with its credited cycles) and the agent exits 0. After finishing an item it evaluates
/// the campaign's decision on the complete looks and records it, so no more work is handed out once it is decided.
/// </summary>
internal sealed class CampaignAgent
{
    private static readonly (string Name, SimBootloader Kind)[] Builds =
        [("BL13", SimBootloader.BL13), ("BL14", SimBootloader.BL14), ("candidate", SimBootloader.Candidate)];

    private readonly RigConfig _config;
    private readonly AgentOptions _options;
    private readonly TextWriter _log;
    private readonly TimeProvider _wall;
    private readonly CampaignQueue _queue;
    private readonly ResultsStore _store;
    private readonly FleetSync _sync;
    private readonly ScreeningLedger _ledger;
    private volatile string _state = "idle";
    private string? _keptOutSaid;

    public CampaignAgent(RigConfig config, string connectionString, AgentOptions options, TextWriter log, TimeProvider wall)
    {
        _config = config;
        _options = options;
        _log = log;
        _wall = wall;
        _queue = new CampaignQueue(connectionString);
        _store = ResultsStore.Open(config.ResolveStorePath());
        _sync = new FleetSync(_store, connectionString, config.RigId, config.Line, wall);
        _ledger = new ScreeningLedger(_store, config.RigId, config.Screening, wall);
    }

    /// <summary>Runs until <paramref name="stop"/>; exit 0, or the fleet's exit code when the server refuses this rig.</summary>
    public async Task<int> RunAsync(CancellationToken stop)
    {
        try
        {
            Beat();
            // what a previous life of this agent stored but did not send
            _sync.Sync(CancellationToken.None);
        }
        catch (FleetSyncException e) when (e.Failure is not (SyncFailure.Unreachable or SyncFailure.Lost))
        {
            _log.WriteLine($"hilrig: {e.Message}");
            return SyncCommand.ExitCode(e.Failure);
        }
        catch (FleetSyncException e)
        {
            Say($"{e.Message}; trying again");
        }
        Say($"agent for rig {_config.RigId} ({_config.Slots.Count} slots) on {_queue.Target}: lease {_options.Lease.TotalSeconds:0.#} s, heartbeat every {_options.Heartbeat.TotalSeconds:0.#} s");
        using var beats = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var heartbeat = Task.Run(() => HeartbeatLoopAsync(beats.Token), CancellationToken.None);
        try
        {
            while (!stop.IsCancellationRequested)
            {
                // slot health is the rig's own (its store): read before every claim, as screen does before it drives slots
                if (UsableSlots().Count == 0)
                {
                    await Wait(_options.Poll, stop);
                    continue;
                }
                ClaimedItem? item;
                try
                {
                    item = _queue.Claim(_options.Lease);
                }
                catch (FleetSyncException e) when (e.Failure is SyncFailure.Unreachable or SyncFailure.Lost)
                {
                    Say($"{e.Message}; trying again in {_options.Poll.TotalSeconds:0.#} s");
                    item = null;
                }
                if (item is null)
                {
                    await Wait(_options.Poll, stop);
                    continue;
                }
                _state = "working";
                try
                {
                    await RunItemAsync(item, stop);
                }
                finally
                {
                    _state = "idle";
                }
            }
        }
        finally
        {
            _state = "stopped";
            await beats.CancelAsync();
            await heartbeat.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            try
            {
                Beat();
            }
            catch (FleetSyncException e)
            {
                Say($"last heartbeat not sent: {e.Message}");
            }
        }
        Say("stopped");
        return ExitCodes.Ok;
    }

    // the slots it may run work on: a campaign planned now counts only those
    private void Beat() => _queue.Heartbeat(UsableSlots().Count, Environment.ProcessId, Environment.MachineName, _state, _options.HeartbeatTimeout);

    /// <summary>
    /// The rig's slots that may run campaign work: not quarantined, not in maintenance (the rig's slot health, as `hilrig
    /// screen` and `hilrig soak` read it). Says once when that changes, so the log shows why a rig stopped claiming.
    /// </summary>
    private IReadOnlyList<int> UsableSlots()
    {
        IReadOnlyList<int> usable;
        IReadOnlyList<SlotHealthStatus> keptOut;
        lock (_ledger)
            (usable, keptOut) = _ledger.Usable(_config.Slots.Select(s => s.Number));
        var line = usable.Count == 0
            ? $"every slot is quarantined or in maintenance ({string.Join(", ", keptOut.Select(k => $"slot {k.Slot} {k.State.ToName()}"))}): claiming no work until one is back (`hilrig slots`)"
            : ScreeningLedger.KeptOutLine(keptOut);
        if (!string.Equals(line, _keptOutSaid, StringComparison.Ordinal))
        {
            _keptOutSaid = line;
            Say(line ?? "every slot usable again");
        }
        return usable;
    }

    private async Task HeartbeatLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            await Wait(_options.Heartbeat, ct);
            if (ct.IsCancellationRequested) break;
            try
            {
                Beat();
            }
            catch (FleetSyncException e)
            {
                Say($"heartbeat: {e.Message}");
            }
        }
    }

    private async Task Wait(TimeSpan delay, CancellationToken ct)
    {
        try
        {
            await Task.Delay(delay, _wall, ct);
        }
        catch (OperationCanceledException)
        {
            // stopping: the caller looks at the token
        }
    }

    private async Task RunItemAsync(ClaimedItem item, CancellationToken stop)
    {
        var what = $"campaign {item.Campaign} item {item.Number} (look {item.Look}, {item.Arm.ToString().ToLowerInvariant()} {item.Bootloader})";
        Say($"claimed {what}: {item.CyclesPerSlot - item.CyclesDone} of {item.CyclesPerSlot} cycle(s) per slot to run"
            + (item.PreviousHolder is { } prev ? $", taken over from {prev} whose lease expired" : item.CyclesDone > 0 ? $", {item.CyclesDone} credited before" : ""));
        if (item.Kind == CampaignKind.Screen)
            what = $"campaign {item.Campaign} item {item.Number} (screen {item.Cores} Cores)";

        // the lease is kept while a step runs; what the background renewal learns is acted on between steps
        var lost = false;
        var stopCampaign = false;
        using var renewing = new CancellationTokenSource();
        var renewer = Task.Run(async () =>
        {
            while (!renewing.IsCancellationRequested)
            {
                await Wait(_options.Lease / 3, renewing.Token);
                if (renewing.IsCancellationRequested) break;
                try
                {
                    switch (_queue.Renew(item.LeaseId, null, null, _options.Lease))
                    {
                        case RenewOutcome.Lost: lost = true; break;
                        case RenewOutcome.Stop: stopCampaign = true; break;
                    }
                }
                catch (FleetSyncException e)
                {
                    Say($"renewal: {e.Message}");
                }
            }
        }, CancellationToken.None);

        var done = item.CyclesDone;
        string release;
        try
        {
            if (!TryItemConfig(item, out var config, out var image, out var label)) return;
            var observe = config.Backend != RigBackend.Sim;
            var options = !observe ? new RigSessionOptions { ObserveLeds = false, CalibrateAtOpen = false }
                : new RigSessionOptions { OpenCalibrationStore = () => ResultsStore.Open(config.ResolveStorePath()) };
            using var open = RigOpening.Open(config, _log, options, new RigClaim(null, null, TimeSpan.Zero, $"hilrig agent ({what})"));
            if (open.Session is not { } session)
            {
                Say($"{what}: the rig did not open (exit {open.ExitCode}); released");
                return;
            }
            var usable = UsableSlots();
            var slots = session.Select(null).Where(s => usable.Contains(s.Number)).ToList();
            if (slots.Count == 0)
            {
                Say($"{what}: no usable slot (quarantined or maintenance); released");
                return;
            }
            // a screen item is one pass; it goes on to the release and the campaign's conclusion like a soak item
            if (item.Kind == CampaignKind.Screen)
            {
                if (await ScreenBatchAsync(item, what, config, session, slots)) done = item.CyclesPerSlot;
                else lost = lost || _lostScreen;
            }
            else
            {
                var lots = slots.ToDictionary(s => s.Number, s => s.Lot ?? Core.Inventory.DeviceLot.Unknown);
                using var recorder = ResultRecorder.Start(_store, new RunInfo(config.RigId, config.Hash, session.RunFacts.Seed,
                    image is null && session.RunFacts.Seed is null ? session.RunFacts.Bootloader ?? "as found" : label, "soak", _wall.GetUtcNow()), _wall,
                    new RecorderOptions { RigClockIsWall = config.Backend != RigBackend.Sim });
                var status = RunStatus.Aborted;
                try
                {
                    var flashed = false;
                    while (done < item.CyclesPerSlot && !stop.IsCancellationRequested && !lost && !stopCampaign)
                    {
                        var offset = done;
                        var plan = SoakCommand.PlanFor(config, 1, 0, flashed ? null : image);
                        var next = plan.NextApp;
                        plan = plan with { NextApp = (slot, cycle) => next(slot, cycle + offset) };
                        var rows = new RowSink(recorder, lots, offset);
                        // a step is never cut short: SIGTERM waits for it, so every row it judged is stored and credited
                        var result = await session.RunAsync(() => new SoakRunner(session.Life, plan).RunAsync(slots, rows, CancellationToken.None));
                        flashed = true;
                        recorder.Flush();
                        if (result.Rows.Any(r => r.Verdict == Verdict.RigFault)) status = RunStatus.RigFault;
                        _sync.Sync(CancellationToken.None);
                        var outcome = _queue.Renew(item.LeaseId, recorder.RunId, done + 1, _options.Lease);
                        if (outcome == RenewOutcome.Lost)
                        {
                            lost = true;
                            break;
                        }
                        done++;
                        if (outcome == RenewOutcome.Stop) stopCampaign = true;
                    }
                    if (done == item.CyclesPerSlot && status != RunStatus.RigFault)
                        status = recorder.Stored > 0 && _store.GetResults(recorder.RunId).Any(r => r.Verdict == Verdict.Fail) ? RunStatus.Failed : RunStatus.Passed;
                }
                finally
                {
                    recorder.Finish(status);
                }
            }
        }
        catch (FleetSyncException e)
        {
            Say($"{what}: {e.Message}");
        }
        finally
        {
            await renewing.CancelAsync();
            await renewer.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            release = "lost";
            if (!lost)
            {
                try
                {
                    // the run's end goes to the fleet too
                    _sync.Sync(CancellationToken.None);
                    release = _queue.Release(item.LeaseId);
                }
                catch (FleetSyncException e)
                {
                    Say($"{what}: not released ({e.Message}); its lease expires in at most {_options.Lease.TotalSeconds:0} s");
                }
            }
        }
        Say(release switch
        {
            "done" => $"{what}: done, {done} cycle(s) per slot credited",
            "lost" => $"{what}: lease lost (expired; another rig has the item): this lease's last cycles are not counted",
            _ => $"{what}: released ({release}) after {done} of {item.CyclesPerSlot} cycle(s) per slot",
        });
        if (release == "done") Conclude(item.Campaign);
    }

    private bool _lostScreen;

    /// <summary>
    /// A screen item: one pass of `hilrig screen`'s engine (<see cref="ScreenCommand.ScreenSlotsAsync"/>: readback, OTA and
    /// factory-reset loops, attempt history and slot health) over a batch of Cores on the usable slots, stored as a screen
    /// run, synced, then credited as the item's one pass. Never cut short: SIGTERM waits for the pass, like a soak step.
    /// </summary>
    /// <returns>True when the pass was credited.</returns>
    private async Task<bool> ScreenBatchAsync(ClaimedItem item, string what, RigConfig config, RigSession session, IReadOnlyList<RigSlot> slots)
    {
        _lostScreen = false;
        var batch = slots.Take(item.Cores).ToList();
        if (batch.Count < item.Cores)
            Say($"{what}: {slots.Count} usable slot(s) for a batch of {item.Cores} Cores: screening {batch.Count}");
        using var recorder = ResultRecorder.Start(_store, new RunInfo(config.RigId, config.Hash, session.RunFacts.Seed, session.RunFacts.Bootloader, "screen", _wall.GetUtcNow()), _wall,
            new RecorderOptions { RigClockIsWall = config.Backend != RigBackend.Sim });
        var status = RunStatus.Aborted;
        try
        {
            var pass = await ScreenCommand.ScreenSlotsAsync(session, config, _store, recorder, _ledger, batch, loops: true, otaImage: null, _wall, view: null, stored: null, CancellationToken.None);
            status = pass.Outcomes.Any(o => o.Verdict == Verdict.RigFault) ? RunStatus.RigFault
                : pass.Outcomes.Any(o => o.Verdict == Verdict.Fail) ? RunStatus.Failed : RunStatus.Passed;
            foreach (var change in pass.Entries.Values.SelectMany(e => e.HealthChanges))
                Say($"{what}: {change}");
        }
        finally
        {
            recorder.Finish(status);
        }
        _sync.Sync(CancellationToken.None);
        var outcome = _queue.Renew(item.LeaseId, recorder.RunId, item.CyclesPerSlot, _options.Lease);
        _lostScreen = outcome == RenewOutcome.Lost;
        return !_lostScreen;
    }

    /// <summary>The decision on the complete looks, recorded once reached, so no more work is handed out.</summary>
    private void Conclude(string campaign)
    {
        try
        {
            if (Conclude(_queue, campaign) is { } decision)
                Say($"campaign {campaign}: {decision.Summary}");
        }
        catch (FleetSyncException e)
        {
            Say($"campaign {campaign}: decision not recorded ({e.Message})");
        }
    }

    /// <summary>
    /// Records the campaign's decision once reached (<see cref="CampaignStatus.Reached"/>: a soak's sequential rule, a
    /// screen's Fisher test per lot), after this rig finished an item. The item that completes a campaign also finishes it
    /// (its release), so a finished campaign is concluded too: a screen decides only then, a soak may on its last look.
    /// </summary>
    /// <returns>The decision recorded by this call; null when undecided, or recorded already (by another rig).</returns>
    internal static DecisionFigure? Conclude(CampaignQueue queue, string campaign)
    {
        if (queue.Snapshot(campaign) is not { Campaign.State: "running" or "finished" } snapshot) return null;
        return CampaignStatus.Reached(snapshot) is { DecidedAtLook: { } look } decision && queue.Conclude(campaign, look, decision.Label) ? decision : null;
    }

    /// <summary>The rig config for the item's bootloader: a simulated build by name, or the image from the fleet store.</summary>
    private bool TryItemConfig(ClaimedItem item, out RigConfig config, out byte[]? image, out string label)
    {
        config = _config;
        image = null;
        label = item.Bootloader ?? "as found";
        if (item.BootloaderSha256 is { } sha)
        {
            image = _queue.Blob(sha);
            if (BootloaderImage.Validate(image, $"campaign {item.Campaign} bootloader {sha[..12]}") is { } bad)
            {
                Say($"{bad}; item released");
                image = null;
                return false;
            }
            label = $"{item.Bootloader}@{sha[..8]}";
            return true;
        }
        if (item.Kind == CampaignKind.Screen)
        {
            // each screen item is a new batch of Cores; the simulator's batch keeps the slots' lots and flash but gets
            // its own device ids, so a campaign's batches are different Cores
            if (_config.Backend == RigBackend.Sim)
                config = _config with { Sim = _config.Sim with { Cores = [.. _config.Sim.Cores.Select(c => c with { DeviceId = BatchDeviceId(c.DeviceId, item.Number) })] } };
            label = "as found";
            return true;
        }
        var build = Builds.FirstOrDefault(b => string.Equals(b.Name, item.Bootloader, StringComparison.OrdinalIgnoreCase));
        if (build.Name is null) return true;
        if (_config.Backend != RigBackend.Sim)
        {
            // a real rig soaks the build its Cores carry; the label says which the campaign meant
            return true;
        }
        config = _config with { Sim = _config.Sim with { Bootloader = build.Kind } };
        label = build.Name;
        return true;
    }

    private static string BatchDeviceId(string id, int item)
    {
        if (id.Length != 24 || !uint.TryParse(id[16..], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var low)) return id;
        return string.Create(CultureInfo.InvariantCulture, $"{id[..16]}{low ^ unchecked((uint)item * 0x9E3779B1u):x8}");
    }

    private void Say(string line)
    {
        lock (_log)
            _log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{_wall.GetUtcNow():HH:mm:ss.fff} agent: {line}"));
    }

    /// <summary>Soak rows to the run's recorder, numbered as the item's cycles (a step's cycle 1 is item cycle offset + 1).</summary>
    private sealed class RowSink(ResultRecorder recorder, IReadOnlyDictionary<int, string> lots, int offset) : IProgress<SoakProgress>
    {
        public void Report(SoakProgress value)
        {
            if (value.Row is not { } row) return;
            var numbered = row.Cycle > 0 ? row with { Cycle = row.Cycle + offset } : row;
            _ = recorder.Record(SlotFinding.From(numbered, lots.GetValueOrDefault(row.Slot)));
        }
    }
}
