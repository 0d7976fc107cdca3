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
    private volatile string _state = "idle";

    public CampaignAgent(RigConfig config, string connectionString, AgentOptions options, TextWriter log, TimeProvider wall)
    {
        _config = config;
        _options = options;
        _log = log;
        _wall = wall;
        _queue = new CampaignQueue(connectionString);
        _store = ResultsStore.Open(config.ResolveStorePath());
        _sync = new FleetSync(_store, connectionString, config.RigId, config.Line, wall);
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

    private void Beat() => _queue.Heartbeat(_config.Slots.Count, Environment.ProcessId, Environment.MachineName, _state, _options.HeartbeatTimeout);

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
        if (item.Kind != CampaignKind.Soak)
        {
            Say($"{what}: this agent runs soak work only; released");
            _queue.Release(item.LeaseId);
            await Wait(_options.Poll, stop);
            return;
        }

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
            var slots = session.Select(null);
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

    /// <summary>The decision on the complete looks, recorded once reached, so no more work is handed out.</summary>
    private void Conclude(string campaign)
    {
        try
        {
            if (_queue.Snapshot(campaign) is not { Campaign.State: "running" } snapshot) return;
            var decision = CampaignStatus.Decide(snapshot, out _);
            if (decision is { Kind: not DecisionKind.Undecided, DecidedAtLook: { } look } && _queue.Conclude(campaign, look, decision.Label))
                Say($"campaign {campaign}: {decision.Summary}");
        }
        catch (FleetSyncException e)
        {
            Say($"campaign {campaign}: decision not recorded ({e.Message})");
        }
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
