using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using HilRig.Composition;
using HilRig.Core.Config;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Core.Slots;
using HilRig.Core.Spark;
using HilRig.Reports.Statistics;
using HilRig.Sim.Device.Bootloader;
using HilRig.Sim.Device.Firmware;
using HilRig.Sim.Optics;

namespace HilRig.Cli.Commands;

/// <summary>
/// `hilrig soak --cycles N`: the soak engine (<see cref="SoakRunner"/>) on every selected slot in parallel: an optional
/// bootloader flashed first, per cycle an OTA of a new generated app then a factory reset, a DFU readback every K
/// cycles; one stored row per step. Failures per 1,000 cycles with a 95 % interval and, with --baseline, an exact
/// comparison with a stored soak run.
/// </summary>
internal static class SoakCommand
{
    private static readonly (string Name, SimBootloader Kind)[] BootloaderNames =
        [("BL13", SimBootloader.BL13), ("BL14", SimBootloader.BL14), ("candidate", SimBootloader.Candidate)];

    public static Command Build()
    {
        var config = CommonOptions.Config();
        var format = CommonOptions.Format();
        var cycles = new Option<int>("--cycles") { Description = "cycles per slot (1..100000)", Required = true };
        var bootloader = new Option<string?>("--bootloader")
        {
            Description = "BL13, BL14 or candidate (simulated behaviours, default: the config's sim.bootloader), or a bootloader image file flashed to each Core over DFU first",
        };
        var slots = CommonOptions.Slots("slots to soak");
        var store = CommonOptions.Store();
        var everyReadback = new Option<int?>("--every-readback") { Description = "every K-th cycle ends with a DFU readback of the external flash (1..100000)" };
        var baseline = new Option<string?>("--baseline") { Description = "a stored soak run id to compare this run with (exact test)" };
        var observeLeds = new Option<bool?>("--observe-leds")
        {
            Description = "watch every slot's LED through its colour sensor and judge the steps' LED patterns too (default: true on a Pi rig; false on the simulator, where it costs about 4x the wall time)",
        };
        var command = new Command("soak", "soak Cores through OTA and factory reset cycles; failures per 1,000 cycles, optionally compared with a baseline run");
        command.Options.Add(config);
        command.Options.Add(cycles);
        command.Options.Add(bootloader);
        slots.AddTo(command);
        command.Options.Add(store);
        command.Options.Add(everyReadback);
        command.Options.Add(format);
        command.Options.Add(baseline);
        command.Options.Add(observeLeds);
        command.SetAction((parse, ct) => RunAsync(
            new SoakArgs(parse.GetValue(config)!, parse.GetValue(store), parse.GetValue(cycles), parse.GetValue(bootloader), slots.Get(parse), parse.GetValue(everyReadback),
                CommonOptions.ParseFormat(parse.GetValue(format)), parse.GetValue(baseline), parse.GetValue(observeLeds), RigClaim.Slots(parse, slots.Get(parse))),
            parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, ct));
        return command;
    }

    private sealed record SoakArgs(FileInfo Config, FileInfo? Store, int Cycles, string? Bootloader, string? Slots, int? EveryReadback, OutputFormat Format, string? Baseline, bool? ObserveLeds, RigClaim Claim);

    private static async Task<int> RunAsync(SoakArgs args, TextWriter output, TextWriter err, CancellationToken ct)
    {
        if (args.Cycles is < 1 or > 100_000)
        {
            err.WriteLine($"hilrig: --cycles {args.Cycles.ToString(CultureInfo.InvariantCulture)}: valid: 1..100000");
            return ExitCodes.BadInput;
        }
        if (args.EveryReadback is { } k && k is < 1 or > 100_000)
        {
            err.WriteLine($"hilrig: --every-readback {k.ToString(CultureInfo.InvariantCulture)}: valid: 1..100000 (every K-th cycle ends with a DFU readback)");
            return ExitCodes.BadInput;
        }
        if (!ConfigLoading.TryLoad(args.Config, args.Store, err, out var config)) return ExitCodes.BadInput;
        byte[]? bootloaderImage = null;
        string label;
        if (args.Bootloader is null)
        {
            label = Label(config);
        }
        else if (BootloaderNames.FirstOrDefault(b => string.Equals(b.Name, args.Bootloader, StringComparison.OrdinalIgnoreCase)) is { Name: not null } named)
        {
            if (config.Backend != RigBackend.Sim)
            {
                err.WriteLine($"hilrig: --bootloader {args.Bootloader}: a name selects a simulated bootloader (backend: sim); on this rig give a bootloader image file");
                return ExitCodes.BadInput;
            }
            config = config with { Sim = config.Sim with { Bootloader = named.Kind } };
            label = Label(config);
        }
        else if (!File.Exists(args.Bootloader))
        {
            err.WriteLine($"hilrig: --bootloader {args.Bootloader}: valid: {string.Join(", ", BootloaderNames.Select(b => b.Name))} or a bootloader image file (no such file)");
            return ExitCodes.BadInput;
        }
        else
        {
            bootloaderImage = File.ReadAllBytes(args.Bootloader);
            if (BootloaderImage.Validate(bootloaderImage, $"--bootloader {args.Bootloader}") is { } problem)
            {
                err.WriteLine($"hilrig: {problem}; nothing was flashed");
                return ExitCodes.BadInput;
            }
            label = $"{Path.GetFileName(args.Bootloader)}@{Convert.ToHexStringLower(SHA256.HashData(bootloaderImage))[..8]}";
        }
        // the form is checked before the rig opens; which run a prefix names, once the store is open
        if (args.Baseline is not null && RunIds.Digits(args.Baseline) is null)
        {
            err.WriteLine($"hilrig: --baseline {args.Baseline}: valid: a run id or a unique prefix of one ({RunIds.MinPrefix} to 32 hex digits), as `hilrig runs` lists them");
            return ExitCodes.BadInput;
        }

        // A fresh simulation from the config's seed (no saved sim state, sensors calibrated afresh): the soak replays
        // exactly. The simulator soaks without LED sampling unless asked (the steps are judged by USB, serial and the
        // cloud, and sampling costs CPU per virtual second); a real rig watches its LEDs with its stored calibrations.
        var observe = args.ObserveLeds ?? config.Backend != RigBackend.Sim;
        var options = !observe ? new RigSessionOptions { ObserveLeds = false, CalibrateAtOpen = false }
            : config.Backend == RigBackend.Sim ? new RigSessionOptions()
            : new RigSessionOptions { OpenCalibrationStore = () => ResultsStore.Open(config.ResolveStorePath()) };
        using var open = RigOpening.Open(config, err, options, args.Claim);
        if (open.Session is not { } session) return open.ExitCode;
        IReadOnlyList<RigSlot> selected;
        try
        {
            selected = session.Select(args.Slots);
        }
        catch (FormatException ex)
        {
            err.WriteLine($"hilrig: {ex.Message}");
            return ExitCodes.BadInput;
        }

        var storePath = config.ResolveStorePath();
        ResultsStore store;
        try
        {
            store = ResultsStore.Open(storePath);
        }
        catch (ResultsStoreException ex)
        {
            err.WriteLine($"hilrig: {ex.Message}");
            return ExitCodes.BadInput;
        }
        Figures? baselineFigures = null;
        if (args.Baseline is not null)
        {
            if (!RunIds.TryResolve(args.Baseline, store.StoredRunIds(), storePath, out var bid, out var problem))
            {
                err.WriteLine($"hilrig: --baseline {problem}");
                return ExitCodes.BadInput;
            }
            var run = store.GetRun(bid);
            if (run is null || run.Kind != "soak")
            {
                err.WriteLine($"hilrig: --baseline {bid}: no soak run with that id in {storePath}");
                return ExitCodes.BadInput;
            }
            baselineFigures = FiguresOf(store.GetResults(bid)) with { Bootloader = run.Bootloader ?? "?" };
        }

        var seed = config.Sim.Seed;
        // a real rig records no seed, and its bootloader only when this soak flashes one (else as found on the Cores)
        if (bootloaderImage is null && session.RunFacts.Seed is null) label = session.RunFacts.Bootloader ?? "as found";
        // A real rig's Cores keep what a readback wrote: the journal next to the store, shared with screen and `hilrig
        // recover`. A simulated soak starts from fresh Cores every run, so its journal lives and dies with the run.
        var simJournal = config.Backend == RigBackend.Sim ? Directory.CreateTempSubdirectory("hilrig-soak-journal-") : null;
        using var dropJournal = new TempFolder(simJournal);
        var plan = PlanFor(config, args.Cycles, args.EveryReadback ?? 0, bootloaderImage,
            simJournal is null ? JournalSupport.Journal(config) : new RegionJournal(simJournal.FullName));

        var wall = TimeProvider.System;
        plan = plan with { Links = new StoreDeviceLinks(store, wall) };
        // quarantined and maintenance slots are not soaked: one line says so
        var ledger = new ScreeningLedger(store, config.RigId, config.Screening, wall);
        var (usable, keptOut) = ledger.Usable(selected.Select(s => s.Number));
        selected = [.. selected.Where(s => usable.Contains(s.Number))];
        if (ScreeningLedger.KeptOutLine(keptOut) is { } keptLine) err.WriteLine(keptLine);
        var runStart = wall.GetUtcNow();
        using var recorder = ResultRecorder.Start(store, new RunInfo(config.RigId, config.Hash, session.RunFacts.Seed, label, "soak", runStart), wall,
            new RecorderOptions { RigClockIsWall = config.Backend != RigBackend.Sim });
        var runId = recorder.RunId;
        foreach (var gone in recorder.Interrupted)
            err.WriteLine($"run {gone} was left running by a process that no longer exists: marked interrupted");
        var status = RunStatus.Aborted;
        var writer = new SoakRowWriter(recorder, selected.ToDictionary(s => s.Number, s => s.Lot ?? Core.Inventory.DeviceLot.Unknown));
        using var view = new SoakProgressView(selected.Select(s => s.Number), args.Cycles, LedReader(session), err, LiveLines.CanDraw(err), wall);
        var progress = new SoakListener(writer, view);
        // A night's soak is stopped by Ctrl+C or by systemd's SIGTERM: the steps judged so far stay stored and the run
        // is marked aborted, rather than the process dying with the run left "running".
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        try
        {
            view.Start();
            SoakResult? result = null;
            try
            {
                result = await session.RunAsync(() => new SoakRunner(session.Life, plan).RunAsync(selected, progress, stop.Token));
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // stored rows are kept; the run stays aborted
            }
            finally
            {
                view.Dispose();
                writer.Complete();
            }
            if (result is null)
            {
                err.WriteLine($"soak stopped: {writer.Stored} row(s) kept in run {runId} (aborted) in {storePath}");
                return ExitCodes.Stopped;
            }
            var runEnd = wall.GetUtcNow();
            // Each failed device into its attempt history under screening.confirm, by the same rule as screen: failing
            // again and again in one slot confirms nothing when the policy wants another slot.
            var rigSlots = session.Slots.Select(s => s.Number).ToList();
            // (a row keyed "dfu-SERIAL" gives the store its DFU serial)
            var entries = writer.FirstFailures().Select(f => ledger.Record(f, null, rigSlots)).ToList();
            var summary = Summarise(label, result, baselineFigures) with { Confirmations = [.. entries.Select(ConfirmationOf)] };
            status = result.Rows.Any(r => r.Verdict == Verdict.RigFault) ? RunStatus.RigFault
                : result.Rows.Any(r => r.Verdict == Verdict.Fail) ? RunStatus.Failed
                : RunStatus.Passed;
            var header = new RunHeader(runId, "soak", ScreenCommand.RunStatusName(status), config.RigId, session.RunFacts.Seed, label, runStart, runEnd, storePath);
            Print(new SoakExport(header, [.. result.Rows.Select(Row)], summary), args.Format, output);
            err.WriteLine($"run {runId} stored in {storePath}");
            return status switch { RunStatus.RigFault => ExitCodes.RigFault, RunStatus.Failed => ExitCodes.DutFailed, _ => ExitCodes.Ok };
        }
        finally
        {
            recorder.Finish(status);
        }
    }

    /// <summary>
    /// The soak `hilrig soak` runs (and `hilrig bench soak` measures): a new generated app per slot and cycle from the
    /// seed, so the Core is seen to change and the run replays; recovery writes a known-good app.
    /// </summary>
    /// <param name="journal">Where a readback saves the originals first, so a rig fault mid-readback puts them back (null: none).</param>
    internal static SoakPlan PlanFor(RigConfig config, int cycles, int everyReadback, byte[]? bootloaderImage, RegionJournal? journal = null)
    {
        var seed = config.Sim.Seed;
        var recoveryApp = SparkAppImageGenerator.Generate(unchecked(seed * 7919 + 1), "soak-recovery", "1.0.0");
        return new SoakPlan(
            cycles,
            (slot, cycle) =>
            {
                var image = SparkAppImageGenerator.Generate(unchecked(seed * 7919 + slot * 104_729 + cycle), "soak-app", $"1.0.{cycle}");
                return new SoakImage(image, SparkAppImageGenerator.ReadIdentity(image));
            },
            // the simulated Cores' factory image is the seed's Tinker; a real rig's is not known here, so its slot is left alone
            new RecoveryImages(recoveryApp, SparkAppImageGenerator.ReadIdentity(recoveryApp), config.Backend == RigBackend.Sim ? SparkAppImageGenerator.Tinker(seed) : null))
        {
            ReadbackEvery = everyReadback,
            Bootloader = bootloaderImage,
            Readback = new DfuReadbackOptions { Journal = journal },
        };
    }

    /// <summary>A folder removed with everything in it when the command ends.</summary>
    private sealed class TempFolder(DirectoryInfo? folder) : IDisposable
    {
        public void Dispose()
        {
            try
            {
                folder?.Delete(recursive: true);
            }
            catch (IOException)
            {
                // a temp folder left behind harms nothing
            }
        }
    }

    /// <summary>Rows to the store as they happen, every report to the view.</summary>
    private sealed class SoakListener(SoakRowWriter writer, SoakProgressView view) : IProgress<SoakProgress>
    {
        public void Report(SoakProgress value)
        {
            if (value.Row is { } row) writer.Add(row);
            view.Report(value);
        }
    }

    /// <summary>
    /// The LED state to show per slot, read on the rig's thread: what the colour sensor sees when the slot has an LED
    /// observer; on the simulator (which soaks without sampling: sampling costs CPU per virtual second and the steps
    /// are judged by USB, serial and the cloud) the program the simulated Core's firmware drives its LED with.
    /// </summary>
    internal static Func<int, string> LedReader(RigSession session)
    {
        var bySlot = session.Slots.ToDictionary(s => s.Number);
        return number =>
        {
            if (bySlot.TryGetValue(number, out var slot) && slot.Led is { } led) return led.Current.ToString();
            if (session.Sim is { } sim)
            {
                var program = sim.Slot(number).Core.Led.Current;
                try
                {
                    return LedScenario.Expected(program).ToString();
                }
                catch (ArgumentOutOfRangeException)
                {
                    return $"#{program.Rgb:X6} {program.Pattern.ToString().ToLowerInvariant()}";
                }
            }
            return "";
        };
    }

    /// <summary>The run's bootloader as stored: BL13, BL14, candidate (its defects when not the defaults).</summary>
    private static string Label(RigConfig config) => config.Sim.Bootloader switch
    {
        SimBootloader.BL13 => "BL13",
        SimBootloader.Candidate when config.Sim.Candidate == SimCandidateConfig.Default => "candidate",
        SimBootloader.Candidate => BootloaderBuild.Candidate(config.Sim.Candidate).Describe(),
        _ => "BL14",
    };

    private sealed record Figures(string Bootloader, int Failures, long Cycles);

    /// <summary>
    /// A stored soak run's failures and cycles by the engine's rule: failed OTA / factory-reset steps, and cycles in
    /// which one of them was judged (runs stored before the engine count the same way).
    /// </summary>
    private static Figures FiguresOf(IReadOnlyList<StoredResult> results)
    {
        var steps = results.Where(r => r.Cycle is > 0 && SoakRunner.CountsForRate(r.Test) && r.Verdict is Verdict.Pass or Verdict.Fail).ToList();
        return new Figures("", steps.Count(r => r.Verdict == Verdict.Fail), steps.LongCount(r => SoakRunner.JudgesCycle(r.Test)));
    }

    private static SoakSummary Summarise(string bootloader, SoakResult result, Figures? baseline)
    {
        var cycles = result.Cycles;
        var failures = result.Failures;
        var rate = PoissonRate.PerThousandCycles(failures, Math.Max(cycles, 1));
        BaselineComparison? comparison = null;
        if (baseline is { } b)
        {
            var c = ExactTests.CompareSoak(bootloader, failures, Math.Max(cycles, 1), b.Bootloader, b.Failures, Math.Max(b.Cycles, 1));
            comparison = new BaselineComparison(b.Bootloader, b.Failures, b.Cycles, Math.Round(c.PValue, 6), c.CandidateIsWorse, c.Verdict);
        }
        var failed = result.Rows.Where(r => r.Verdict == Verdict.Fail && SoakRunner.CountsForRate(r.Test))
            .Select(r => new CoreFailure(r.Slot, r.DeviceId, r.Cycle, r.CyclesToFailure ?? r.Cycle, r.Test, r.FailureMode)).ToList();
        var recoveries = result.Rows.Where(r => r.Test == CoreRecovery.TestName).ToList();
        var readbacks = result.Rows.Where(r => r.Test == SoakRunner.ReadbackTest).ToList();
        var slots = result.Slots.Select(s => new SlotSummary(s.Slot, s.DeviceId, s.CyclesJudged, s.Failures, s.Recoveries, s.OutAtCycle, s.OutReason,
            Math.Round(result.Rows.Where(r => r.Slot == s.Slot).Sum(r => r.DeviceTime.TotalMilliseconds), 3))).ToList();
        return new SoakSummary(bootloader, cycles, failures, Math.Round(rate.Point, 4), Math.Round(rate.Lower, 4), Math.Round(rate.Upper, 4), failed,
            new Counts(recoveries.Count, recoveries.Count(r => r.Verdict == Verdict.Pass)),
            new Counts(readbacks.Count, readbacks.Count(r => r.Verdict == Verdict.Pass)),
            slots, comparison);
    }

    private static RowExport Row(SoakRow r) => new(r.Slot, r.DeviceId, r.Test, r.Cycle, r.Verdict.ToName(), r.FailureMode, r.Signature,
        Math.Round(r.DeviceTime.TotalMilliseconds, 3), r.CyclesToFailure, r.BitErrors);

    private static void Print(SoakExport export, OutputFormat format, TextWriter output)
    {
        if (format == OutputFormat.Json)
        {
            output.WriteLine(JsonSerializer.Serialize(export, Json.Options));
            return;
        }
        if (format == OutputFormat.Csv)
        {
            output.WriteLine("slot,deviceId,test,cycle,verdict,failureMode,deviceTimeMs,cyclesToFailure,signature");
            foreach (var r in export.Rows)
                output.WriteLine(string.Join(",", r.Slot, r.DeviceId, r.Test, r.Cycle, r.Verdict, r.FailureMode, r.DeviceTimeMs.ToString(CultureInfo.InvariantCulture),
                    r.CyclesToFailure?.ToString(CultureInfo.InvariantCulture), Csv.Escape(r.Signature)));
            return;
        }
        var s = export.Summary;
        var width = Terminal.Width(output);
        // one group per slot, step and failure mode: its count, the cycles it happened in and one example, never a
        // paragraph per failure (a bad candidate fails hundreds of times the same way)
        var groups = export.Rows.Where(r => r.Verdict != "pass" || r.Test == CoreRecovery.TestName)
            .GroupBy(r => (r.Slot, r.DeviceId, r.Test, r.Verdict, r.FailureMode))
            .OrderBy(g => g.Key.Slot).ThenBy(g => g.Min(r => r.Cycle)).ToList();
        if (groups.Count > 0)
        {
            var table = new TextTable().Column("slot", right: true, wrap: false).Column("step").Column("verdict").Column("failure mode")
                .Column("count", right: true, wrap: false).Column("cycles");
            foreach (var g in groups)
                table.Row(g.Key.Slot.ToString(CultureInfo.InvariantCulture), g.Key.Test, g.Key.Verdict, g.Key.FailureMode ?? "",
                    g.Count().ToString(CultureInfo.InvariantCulture), Cycles([.. g.Select(r => r.Cycle)]));
            output.Write(table.For(output));
            foreach (var g in groups.Where(g => g.Key.Verdict != "pass"))
            {
                var example = g.First();
                var what = example.CyclesToFailure is { } ctf ? $" after {ctf} cycle(s)" : "";
                output.WriteLine(TextWrap.Paragraph($"slot {g.Key.Slot} ({g.Key.DeviceId}) {g.Key.Test}{(g.Key.FailureMode is null ? "" : $" ({g.Key.FailureMode})")}, e.g. cycle {example.Cycle}{what}: {example.Signature}", width));
            }
        }
        foreach (var slot in s.Slots.Where(x => x.OutReason is not null))
            output.WriteLine(TextWrap.Paragraph($"slot {slot.Slot} ({slot.DeviceId ?? "?"}): taken out of the run in cycle {slot.OutAtCycle}: {slot.OutReason}", width));
        if (s.Confirmations.Count > 0)
        {
            output.WriteLine(TextWrap.Paragraph(string.Create(CultureInfo.InvariantCulture,
                $"failed devices: {s.Confirmations.Count(c => c.Confirmation == "confirmed")} confirmed, {s.Confirmations.Count(c => c.Confirmation == "unconfirmed")} unconfirmed (screening.confirm: a DUT failure is final once it fails in another slot)"), width));
            foreach (var c in s.Confirmations)
            {
                output.WriteLine(TextWrap.Paragraph($"  slot {c.Slot} ({c.DeviceId}): {c.Confirmation}, failed in slot(s) {string.Join(", ", c.FailedSlots)}", width));
                if (c.Advice is { } advice) output.WriteLine(TextWrap.Paragraph($"  {advice}", width));
                foreach (var change in c.HealthChanges) output.WriteLine(TextWrap.Paragraph($"  {change}", width));
            }
        }
        if (s.Readbacks.Run > 0) output.WriteLine($"DFU readbacks: {s.Readbacks.Run} run, {s.Readbacks.Run - s.Readbacks.Passed} failed");
        if (s.Recoveries.Run > 0) output.WriteLine($"recoveries over DFU: {s.Recoveries.Run} tried, {s.Recoveries.Passed} recovered");
        output.WriteLine(TextWrap.Paragraph(string.Create(CultureInfo.InvariantCulture,
            $"{s.Bootloader}: {s.Failures} failure(s) in {s.Cycles} cycles: {s.FailuresPerThousandCycles:0.###} per 1,000 cycles (95 % interval {s.Lower95:0.###}..{s.Upper95:0.###})"), width));
        if (s.Baseline is { } b)
            output.WriteLine(TextWrap.Paragraph(string.Create(CultureInfo.InvariantCulture,
                $"vs baseline {b.Bootloader} ({b.Failures} in {b.Cycles} cycles): p = {b.PValue:0.######}: {(b.CandidateIsWorse ? "the new build is worse" : "not shown worse")} ({b.Verdict})"), width));
    }

    /// <summary>"3, 7-9, 12": the cycles a failure happened in, runs of consecutive cycles joined.</summary>
    internal static string Cycles(IReadOnlyList<int> cycles)
    {
        var sorted = cycles.Distinct().Order().ToList();
        var parts = new List<string>();
        for (var i = 0; i < sorted.Count;)
        {
            var j = i;
            while (j + 1 < sorted.Count && sorted[j + 1] == sorted[j] + 1) j++;
            parts.Add(j == i ? sorted[i].ToString(CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"{sorted[i]}-{sorted[j]}"));
            i = j + 1;
        }
        return string.Join(", ", parts);
    }

    private sealed record RowExport(int Slot, string DeviceId, string Test, int Cycle, string Verdict, string? FailureMode, string Signature, double DeviceTimeMs,
        int? CyclesToFailure, BitErrorMapSummary? BitErrors);

    private sealed record CoreFailure(int Slot, string DeviceId, int Cycle, int CyclesToFailure, string Test, string? FailureMode);

    private sealed record Counts(int Run, int Passed);

    private sealed record SlotSummary(int Slot, string? DeviceId, int CyclesJudged, int Failures, int Recoveries, int? OutAtCycle, string? OutReason, double DeviceTimeMs);

    private sealed record BaselineComparison(string Bootloader, int Failures, long Cycles, double PValue, bool CandidateIsWorse, string Verdict);

    private sealed record SoakSummary(
        string Bootloader, long Cycles, int Failures, double FailuresPerThousandCycles, double Lower95, double Upper95,
        IReadOnlyList<CoreFailure> Failed, Counts Recoveries, Counts Readbacks, IReadOnlyList<SlotSummary> Slots, BaselineComparison? Baseline)
    {
        /// <summary>Each failed device under the confirmation policy (the screen's rule): confirmed or unconfirmed, where to confirm it.</summary>
        public IReadOnlyList<DeviceConfirmation> Confirmations { get; init; } = [];
    }

    /// <summary>A failed device's standing after this soak: its first failure here recorded as a screening attempt.</summary>
    private sealed record DeviceConfirmation(int Slot, string DeviceId, string Confirmation, IReadOnlyList<int> FailedSlots, string? Advice, IReadOnlyList<string> HealthChanges);

    private static DeviceConfirmation ConfirmationOf(LedgerEntry e) =>
        new(e.Slot, e.DeviceId, e.Decision.Confirmation.ToName(), e.Decision.FailedSlots, e.Advice, e.HealthChanges);

    private sealed record SoakExport(RunHeader Run, IReadOnlyList<RowExport> Rows, SoakSummary Summary);
}
