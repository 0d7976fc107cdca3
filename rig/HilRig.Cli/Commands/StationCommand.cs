using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using HilRig.Cli.Station;
using HilRig.Core.Config;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Core.Station;
using HilRig.Sim.Time;

namespace HilRig.Cli.Commands;

/// <summary>
/// `hilrig station`: the line station as a long-running service. Every slot screens Core after Core on its own; the
/// live page shows each slot's tile and the shift; SIGTERM lets each slot finish or safely abandon its step, exit 0.
/// </summary>
internal static class StationCommand
{
    public static Command Build()
    {
        var config = CommonOptions.Config();
        var urls = new Option<string>("--urls") { Description = $"where the station page listens (default {StationWeb.DefaultUrls}: this machine only)", DefaultValueFactory = _ => StationWeb.DefaultUrls };
        var allowRemote = new Option<bool>("--allow-remote") { Description = "serve the page on a non-loopback --urls address (the line's network)" };
        var readbackOnly = new Option<bool>("--readback-only") { Description = "screen by identify and DFU readback only; skip the OTA and factory reset loops" };
        var slots = new Option<string?>("--slots") { Description = "slots the station runs, e.g. 1-8 (default: all)" };
        var speed = new Option<double>("--speed") { Description = "simulator only: simulated seconds per wall-clock second (default 1: real time)", DefaultValueFactory = _ => 1 };
        var shift = new Option<string?>("--shift") { Description = "continue shift RUN (a station run stopped before): its counts go on, a Core judged in it and still in its slot is not screened again" };
        var command = new Command("station", "run the line station: each slot waits for a Core, identifies and screens it, shows the verdict and the operator's instruction, waits for it to be pulled, and starts over; a live page on --urls");
        command.Options.Add(config);
        command.Options.Add(urls);
        command.Options.Add(allowRemote);
        command.Options.Add(readbackOnly);
        command.Options.Add(slots);
        command.Options.Add(speed);
        command.Options.Add(shift);
        command.SetAction((parse, ct) =>
        {
            var err = parse.InvocationConfiguration.Error;
            if (StationWeb.CheckUrls(parse.GetValue(urls)!, parse.GetValue(allowRemote)) is { } badUrls)
            {
                err.WriteLine($"hilrig: {badUrls}");
                return Task.FromResult(ExitCodes.BadInput);
            }
            var x = parse.GetValue(speed);
            if (!(x > 0) || x > 1000)
            {
                err.WriteLine($"hilrig: --speed {x.ToString(CultureInfo.InvariantCulture)}: valid: a factor > 0 and <= 1000");
                return Task.FromResult(ExitCodes.BadInput);
            }
            var shiftRun = parse.GetValue(shift);
            if (shiftRun is not null && RunIds.Digits(shiftRun) is null)
            {
                err.WriteLine($"hilrig: --shift {shiftRun}: valid: a run id or a unique prefix of one ({RunIds.MinPrefix} to 32 hex digits), as `hilrig runs` lists it");
                return Task.FromResult(ExitCodes.BadInput);
            }
            return RunAsync(RigClaim.Slots(parse, parse.GetValue(slots)), parse.GetValue(config)!, parse.GetValue(slots), parse.GetValue(urls)!,
                parse.GetValue(allowRemote), parse.GetValue(readbackOnly), x, shiftRun, parse.InvocationConfiguration.Output, err, ct);
        });
        return command;
    }

    private static async Task<int> RunAsync(RigClaim claim, FileInfo configFile, string? slotSpec, string urls, bool allowRemote, bool readbackOnly,
        double speed, string? shiftText, TextWriter output, TextWriter err, CancellationToken ct)
    {
        if (!ConfigLoading.TryLoad(configFile, err, out var config)) return ExitCodes.BadInput;
        if (speed != 1 && config.Backend != RigBackend.Sim)
        {
            err.WriteLine($"hilrig: --speed: only the simulator runs faster than real time ({config.SourcePath} has backend: pi)");
            return ExitCodes.BadInput;
        }
        var options = RigOpening.PersistentSim(config);
        // the station faces people and a browser: the simulator runs on the wall clock (times --speed)
        options = options with { Simulator = options.Simulator with { Clock = ClockMode.RealTime, Speed = speed } };
        using var open = SlotsOpening.Open(config, err, options, claim, slotSpec);
        if (open is not { Session: { } session, Store: { } store }) return open.ExitCode;
        var selected = open.Slots;
        var storePath = open.StorePath;
        var wall = TimeProvider.System;
        // a new shift on a line that stands as the last one left it: what that shift judged and is still in a slot is not screened twice
        var previousShift = shiftText is null ? store.LatestRun(config.RigId, "station")?.Id : null;
        var recording = new RecorderOptions { RigClockIsWall = config.Backend != RigBackend.Sim };
        ResultRecorder recorder;
        try
        {
            if (shiftText is not null)
            {
                if (!RunIds.TryResolve(shiftText, store.StoredRunIds(), storePath, out var rid, out var problem))
                {
                    err.WriteLine($"hilrig: --shift {problem}");
                    return ExitCodes.BadInput;
                }
                if (store.GetRun(rid) is not { Kind: "station" })
                {
                    err.WriteLine($"hilrig: --shift {rid}: no station run with that id in {storePath}");
                    return ExitCodes.BadInput;
                }
                recorder = ResultRecorder.Resume(store, rid, wall, recording);
            }
            else
            {
                recorder = ResultRecorder.Start(store, new RunInfo(config.RigId, config.Hash, session.RunFacts.Seed, session.RunFacts.Bootloader, "station", wall.GetUtcNow()), wall, recording);
            }
        }
        catch (ResultsStoreException ex)
        {
            err.WriteLine($"hilrig: {ex.Message}");
            return ExitCodes.BadInput;
        }
        using var recorderLife = recorder;
        foreach (var gone in recorder.Interrupted)
            err.WriteLine($"run {gone} was left running by a process that no longer exists: marked interrupted");

        // the operator feeds only the slots this station runs: the others belong to whoever holds them
        var line = StationComposition.Line(session, [.. selected.Select(s => s.Number)]);
        var simState = options.Simulator.StateDirectory;
        // the line goes on as it stands (its Cores in their slots, the next Core of the population); the station re-cues judged Cores itself
        var pickedUp = line is not null && simState is not null && line.Resume(simState, keepQueue: false);
        if (line is not null) StationComposition.ImportPopulation(store, line, wall);
        var station = StationComposition.Build(session, selected, store, recorder, StationSetup.For(config, readbackOnly), line, previousShift);
        station.Station.VerdictShown += (slot, verdict) =>
        {
            var tile = station.Board.Snapshot().Tiles.First(t => t.Slot == slot);
            lock (output) output.WriteLine($"slot {slot}: {tile.DeviceId} {verdict.ToName()}{(tile.FailureMode is { } m ? $" ({m})" : "")}: {tile.Instruction}");
        };

        using var stopping = new CancellationTokenSource();
        await using var web = StationWeb.Build(station.Board, $"HilRig station {config.RigId}", urls, allowRemote, stopping.Token);
        try
        {
            await web.StartAsync(ct);
        }
        catch (IOException e)
        {
            err.WriteLine($"hilrig: --urls: {urls}: cannot listen there: {e.Message}");
            recorder.Finish(RunStatus.Aborted);
            return ExitCodes.BadInput;
        }
        err.WriteLine($"station on {selected.Count} slot(s) of {config.RigId}, run {recorder.RunId} in {storePath}; page at {string.Join(", ", Dashboard.DashboardApp.Addresses(web))} (SIGTERM or Ctrl+C to stop)");
        if (line is not null) err.WriteLine($"simulated line{(pickedUp ? ", picked up as it stood" : "")}: {line.Describe()}");

        // the stop is given on the rig's thread, where the slots run
        using var stop = new CancellationTokenSource();
        void Stop() => _ = session.RunAsync(() =>
        {
            stop.Cancel();
            return Task.CompletedTask;
        });
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; Stop(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; Stop(); });
        using var cancelled = ct.Register(Stop);
        using var lineStop = new CancellationTokenSource();
        try
        {
            if (line is not null)
                await session.RunAsync(() => { _ = line.RunAsync(lineStop.Token); return Task.CompletedTask; });
            await session.RunAsync(() => station.Station.RunAsync(stop.Token));
        }
        finally
        {
            await session.RunAsync(() =>
            {
                lineStop.Cancel();
                // the operator's progress next to the Cores' saved state, so the next station picks the line up
                if (line is not null && simState is not null) line.Save(simState);
                return Task.CompletedTask;
            });
            await stopping.CancelAsync();
            recorder.Finish(RunStatus.Aborted);
        }
        var snap = station.Board.Snapshot();
        var abandoned = station.Station.Abandoned;
        err.WriteLine($"station stopped: {snap.Shift.Units} unit(s) judged in run {recorder.RunId} ({snap.Shift.Passed} pass, {snap.Shift.Failed} fail, {snap.Shift.RigFaults} rig fault(s), yield {StationBoard.Percent(snap.Shift.Yield)}); "
            + (abandoned.Count == 0 ? "no slot was mid-Core" : $"slot(s) {string.Join(",", abandoned)} stopped mid-Core (screened again at the next start; continue with --shift {recorder.RunId})"));
        await web.StopAsync(CancellationToken.None);
        return ExitCodes.Ok;
    }
}
