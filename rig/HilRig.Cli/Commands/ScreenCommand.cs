using HilRig.Core.Spark;
using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text.Json;
using HilRig.Composition;
using HilRig.Core.Config;
using HilRig.Core.Procedures;
using HilRig.Core.Results;

namespace HilRig.Cli.Commands;

/// <summary>`hilrig screen`: identify every Core, DFU readback on all slots in parallel, store, verdict table.</summary>
internal static class ScreenCommand
{
    public static Command Build()
    {
        var config = CommonOptions.Config();
        var format = CommonOptions.Format();
        var slots = CommonOptions.Slots("slots to screen");
        var store = CommonOptions.Store();
        var ota = new Option<FileInfo?>("--ota") { Description = "app image for the OTA loop (default: a generated check app)" };
        var readbackOnly = new Option<bool>("--readback-only") { Description = "only identify and DFU readback; skip the OTA and factory reset loops" };
        var resume = new Option<string?>("--resume") { Description = "finish run RUN (interrupted or stopped): screen only the slots it has no verdict for, under the same run id" };
        var command = new Command("screen", "screen every Core: identify over serial, DFU write/readback of the factory, backup and OTA regions, an OTA through the cloud and a factory reset; one verdict per device");
        command.Options.Add(config);
        slots.AddTo(command);
        command.Options.Add(store);
        command.Options.Add(format);
        command.Options.Add(ota);
        command.Options.Add(readbackOnly);
        command.Options.Add(resume);
        command.SetAction((parse, ct) =>
        {
            byte[]? image = null;
            if (!parse.GetValue(readbackOnly) && parse.GetValue(ota) is { } file)
            {
                try
                {
                    image = File.ReadAllBytes(file.FullName);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    parse.InvocationConfiguration.Error.WriteLine($"hilrig: --ota {file}: cannot read the image: {ex.Message}");
                    return Task.FromResult(ExitCodes.BadInput);
                }
                if (Core.Spark.ImageChecks.ValidateApp(image, $"--ota {file}") is { } bad)
                {
                    parse.InvocationConfiguration.Error.WriteLine($"hilrig: {bad}");
                    return Task.FromResult(ExitCodes.BadInput);
                }
            }
            // the form is checked before the rig opens; which run a prefix names, once the store is open
            var resumeRun = parse.GetValue(resume);
            if (resumeRun is not null && RunIds.Digits(resumeRun) is null)
            {
                parse.InvocationConfiguration.Error.WriteLine($"hilrig: --resume {resumeRun}: valid: a run id or a unique prefix of one ({RunIds.MinPrefix} to 32 hex digits), as `hilrig screen` printed it or `hilrig runs` lists it");
                return Task.FromResult(ExitCodes.BadInput);
            }
            return RunAsync(RigClaim.Slots(parse, slots.Get(parse)), parse.GetValue(config)!, parse.GetValue(store), slots.Get(parse), CommonOptions.ParseFormat(parse.GetValue(format)), !parse.GetValue(readbackOnly), image, resumeRun, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, ct);
        });
        return command;
    }

    private static async Task<int> RunAsync(RigClaim claim, FileInfo configFile, FileInfo? storeFile, string? slotSpec, OutputFormat format, bool loops, byte[]? otaImage, string? resumeText, TextWriter output, TextWriter err, CancellationToken ct)
    {
        if (!ConfigLoading.TryLoad(configFile, storeFile, err, out var config)) return ExitCodes.BadInput;
        // the rig, the slots, then the store: bad input or a rig that cannot open leaves nothing behind
        using var open = SlotsOpening.Open(config, err, RigOpening.PersistentSim(config), claim, slotSpec);
        if (open is not { Session: { } session, Store: { } store }) return open.ExitCode;
        var selected = open.Slots;
        var storePath = open.StorePath;
        // the test whose row is a slot's verdict; the loops' and the readback's own rows come before it
        var finalTest = loops ? Screening.LifeTestName : Screening.TestName;
        var judgedBefore = new List<SlotOutcome>();
        Guid? resumeRun = null;
        if (resumeText is not null)
        {
            if (!RunIds.TryResolve(resumeText, store.StoredRunIds(), storePath, out var rid, out var problem))
            {
                err.WriteLine($"hilrig: --resume {problem}");
                return ExitCodes.BadInput;
            }
            resumeRun = rid;
            var run = store.GetRun(rid);
            if (run is null || run.Kind != "screen")
            {
                err.WriteLine($"hilrig: --resume {rid}: no screen run with that id in {storePath}");
                return ExitCodes.BadInput;
            }
            judgedBefore = Judged(store.GetResults(rid), finalTest);
        }

        // quarantined and maintenance slots are not driven: one line says so, and the rest are screened
        var wallClock = TimeProvider.System;
        var ledger = new ScreeningLedger(store, config.RigId, config.Screening, wallClock);
        IReadOnlyList<SlotHealthStatus> keptOut;
        try
        {
            var (usable, kept) = ledger.Usable(selected.Select(s => s.Number));
            keptOut = kept;
            selected = [.. selected.Where(s => usable.Contains(s.Number))];
        }
        catch (ResultsStoreException ex)
        {
            err.WriteLine($"hilrig: {ex.Message}");
            return ExitCodes.BadInput;
        }
        if (ScreeningLedger.KeptOutLine(keptOut) is { } keptLine) err.WriteLine(keptLine);

        if (judgedBefore.Count > 0)
        {
            selected = [.. selected.Where(s => judgedBefore.All(j => j.Slot != s.Number))];
            err.WriteLine($"resuming run {resumeRun}: slot(s) {string.Join(",", judgedBefore.Select(j => j.Slot))} already judged; screening {(selected.Count == 0 ? "nothing" : string.Join(",", selected.Select(s => s.Number)))}");
        }

        var wall = TimeProvider.System;
        var runStart = wall.GetUtcNow();
        // the simulator's clock starts in 2014: its rows are stamped when stored
        var recording = new RecorderOptions { RigClockIsWall = config.Backend != RigBackend.Sim };
        ResultRecorder recorder;
        try
        {
            recorder = resumeRun is { } id
                ? ResultRecorder.Resume(store, id, wall, recording)
                : ResultRecorder.Start(store, new RunInfo(config.RigId, config.Hash, session.RunFacts.Seed, session.RunFacts.Bootloader, "screen", runStart), wall, recording);
        }
        catch (ResultsStoreException ex)
        {
            err.WriteLine($"hilrig: {ex.Message}");
            return ExitCodes.BadInput;
        }
        using var _ = recorder;
        var runId = recorder.RunId;
        foreach (var gone in recorder.Interrupted)
            err.WriteLine($"run {gone} was left running by a process that no longer exists: marked interrupted (finish it with `hilrig screen --resume {gone}`)");
        var printLock = new object();
        // on a terminal a live line per slot; redirected, a plain line per step (both on the error stream)
        ScreenProgressView? view = format == OutputFormat.Table || LiveLines.CanDraw(err)
            ? new ScreenProgressView(selected.Select(s => s.Number), SoakCommand.LedReader(session), session.Time, err, LiveLines.CanDraw(err), wall)
            : null;
        // Ctrl-C or systemd's SIGTERM: the slots judged so far stay stored and the run is marked aborted, not left running.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        var status = RunStatus.Aborted;
        try
        {
            ScreenPass pass;
            try
            {
                view?.Start();
                pass = await ScreenSlotsAsync(session, config, store, recorder, ledger, selected, loops, otaImage, wall, view, outcome =>
                {
                    view?.Done(outcome);
                    if (format != OutputFormat.Table || view is { Live: true }) return;
                    lock (printLock)
                        err.WriteLine(TextWrap.Paragraph($"slot {outcome.Slot}: {outcome.Verdict.ToName()}{(outcome.FailureMode is { } m ? $" ({m})" : "")}, device time {outcome.DeviceTime.TotalSeconds:0.0} s"
                            + (outcome.Evidence.Loops is { } done ? $" (readback {outcome.Evidence.Readback?.DeviceTime.TotalSeconds:0.0} s, {string.Join(", ", done.Select(l => $"{l.Loop} {l.Verdict.ToName()} {l.DeviceTime.TotalSeconds:0.0} s"))})" : "") + ", stored", Terminal.Width(err)));
                }, stop.Token);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                view?.Dispose();
                recorder.Flush();
                err.WriteLine($"screen stopped: {recorder.Stored} row(s) kept in run {runId} (aborted) in {storePath}; finish it with `hilrig screen --resume {runId}`");
                return ExitCodes.Stopped;
            }
            view?.Dispose();
            var (outcomes, entries) = (pass.Outcomes, pass.Entries);

            var ordered = judgedBefore.Concat(outcomes).OrderBy(o => o.Slot).ToList();
            status = ordered.Any(o => o.Verdict == Verdict.RigFault) ? RunStatus.RigFault
                : ordered.Any(o => o.Verdict == Verdict.Fail) ? RunStatus.Failed : RunStatus.Passed;
            var header = new RunHeader(runId, "screen", RunStatusName(status), config.RigId,
                session.RunFacts.Seed, session.RunFacts.Bootloader, runStart, wall.GetUtcNow(), storePath);
            Print(header, ordered, entries, format, output);
            err.WriteLine($"run {runId} stored in {storePath}");
            return status switch
            {
                RunStatus.RigFault => ExitCodes.RigFault,
                RunStatus.Failed => ExitCodes.DutFailed,
                _ => ExitCodes.Ok,
            };
        }
        finally
        {
            recorder.Finish(status);
        }
    }

    /// <summary>What one screening pass judged: each slot's outcome, and its entry in the device's attempt history.</summary>
    internal sealed record ScreenPass(IReadOnlyList<SlotOutcome> Outcomes, IReadOnlyDictionary<int, LedgerEntry> Entries);

    /// <summary>
    /// One screening pass over <paramref name="selected"/>: the engine `hilrig screen` and the campaign agent share. Every
    /// step's row and each slot's verdict is stored as it is judged (<paramref name="stored"/> is told once the verdict is
    /// committed), then each final verdict goes into the device's attempt history (confirmation, slot health).
    /// </summary>
    internal static async Task<ScreenPass> ScreenSlotsAsync(RigSession session, RigConfig config, ResultsStore store, ResultRecorder recorder, ScreeningLedger ledger,
        IReadOnlyList<Core.Slots.RigSlot> selected, bool loops, byte[]? otaImage, TimeProvider wall, ScreenProgressView? view, Action<SlotOutcome>? stored, CancellationToken ct)
    {
        var screening = new Screening(session.Usb, session.Time, Options(config, session, store, recorder, loops, otaImage, wall, step => view?.Judged(step)));
        screening.JournalRestored += restored => JournalSupport.Record(recorder, restored, wall.GetUtcNow(), wall.GetUtcNow());
        var finals = new Dictionary<int, Task<StoredResult>>();
        var outcomes = await session.RunAsync(() => screening.RunAsync(selected, outcome =>
        {
            // said only once it is committed: a verdict on the screen is a verdict in the store
            var record = recorder.Record(Finding(outcome));
            lock (finals) finals[outcome.Slot] = record;
            if (stored is not null)
                record.ContinueWith(t => { if (t.IsCompletedSuccessfully) stored(outcome); }, TaskScheduler.Default);
        }, view, ct));
        recorder.Flush();
        var rigSlots = config.Slots.Select(s => s.Number).ToList();
        var entries = new Dictionary<int, LedgerEntry>();
        foreach (var outcome in outcomes.OrderBy(o => o.Slot))
        {
            if (finals.GetValueOrDefault(outcome.Slot) is { IsCompletedSuccessfully: true } final)
                entries[outcome.Slot] = ledger.Record(final.Result, outcome.Evidence.DfuSerial, rigSlots);
        }
        return new ScreenPass(outcomes, entries);
    }

    /// <summary>What `screen` (and a golden Core's health check) screens with: journal, backups, links, the loops when asked.</summary>
    internal static ScreeningOptions Options(RigConfig config, RigSession session, ResultsStore store, ResultRecorder recorder, bool loops, byte[]? otaImage, TimeProvider wall, Action<SlotOutcome>? judged = null)
    {
        var backups = Path.Combine(Path.GetDirectoryName(config.ResolveStorePath()) ?? ".", "backups");
        // the OTA loop needs an app that is not the factory one, so the Core is seen to change
        otaImage ??= Core.Spark.SparkAppImageGenerator.Generate(config.Sim.Seed, "hilrig-ota-check", "1.0.0");
        return new ScreeningOptions
        {
            Readback = new DfuReadbackOptions { BackupDirectory = backups, Journal = JournalSupport.Journal(config) },
            Cloud = loops ? session.Cloud : null,
            OtaImage = loops ? otaImage : null,
            OtaApp = Core.Spark.SparkAppImageGenerator.ReadIdentity(otaImage),
            // each step's row is stored as the step ends: a run killed mid-slot keeps what was judged
            StepJudged = step =>
            {
                judged?.Invoke(step);
                recorder.Record(Finding(step));
            },
            Links = new StoreDeviceLinks(store, wall),
            // the simulated Cores' known-good app is the seed's Tinker; a real rig's is not known here
            RecoveryApp = config.Backend == RigBackend.Sim ? Core.Spark.SparkAppImageGenerator.Tinker(config.Sim.Seed) : null,
        };
    }

    internal static SlotFinding Finding(SlotOutcome outcome) =>
        SlotFinding.From(outcome) with
        {
            // a Core known only in DFU is stored under its DFU serial until it says its device id (the store links the two)
            DeviceId = outcome.DeviceId ?? (outcome.Evidence.DfuSerial is { } dfuSerial ? $"dfu-{dfuSerial}" : null),
            Lot = outcome.DeviceId is null ? null : outcome.Lot ?? Core.Inventory.DeviceLot.Unknown,
        };

    /// <summary>The slots a run already has a verdict for (pass or fail in its final test; a rig fault is no verdict), latest per slot.</summary>
    private static List<SlotOutcome> Judged(IReadOnlyList<StoredResult> rows, string finalTest) =>
    [
        .. rows.Where(r => r.Test == finalTest && r.Verdict is Verdict.Pass or Verdict.Fail)
            .GroupBy(r => r.Slot)
            .Select(g => g.OrderBy(r => r.StartedAt).ThenBy(r => r.Attempt).Last())
            .Select(r =>
            {
                var evidence = EvidenceJson.Read(r.EvidenceJson);
                return new SlotOutcome(r.Slot, r.DeviceId, null, r.Test, r.Verdict, r.FailureMode, r.Signature ?? "", r.DeviceTime ?? TimeSpan.Zero,
                    r.StartedAt, r.EndedAt,
                    new ScreeningEvidence(evidence?.DfuSerial, evidence?.Step, evidence?.Error, evidence?.Readback, evidence?.Log ?? [], evidence?.Led));
            }),
    ];

    /// <summary>A run's status as the store and `hilrig runs` spell it.</summary>
    internal static string RunStatusName(RunStatus status) => status switch
    {
        RunStatus.RigFault => "rig-fault",
        _ => status.ToString().ToLowerInvariant(),
    };

    private static void Print(RunHeader header, IReadOnlyList<SlotOutcome> outcomes, IReadOnlyDictionary<int, LedgerEntry> entries, OutputFormat format, TextWriter output)
    {
        var rows = outcomes.Select(o => new ScreenRow(
            o.Slot, o.DeviceId, o.Lot, o.Verdict.ToName(), o.FailureMode, o.Signature,
            Math.Round(o.DeviceTime.TotalMilliseconds), o.Evidence.DfuSerial,
            o.Evidence.Readback?.BitErrors.ErrorBits ?? 0, o.Evidence.Readback?.BitErrors.StuckAt0 ?? 0, o.Evidence.Readback?.BitErrors.StuckAt1 ?? 0,
            o.Evidence.Readback?.BitErrors.EraseFailedSectors ?? [],
            o.Evidence.Loops?.Select(l => new LoopRow(l.Loop, l.Verdict.ToName(), l.FailureMode, Math.Round(l.DeviceTime.TotalMilliseconds), l.Signature)).ToList())
        {
            FailureKind = FailureKinds.Of(o.Verdict, o.FailureMode) is var kind && kind != FailureKind.None ? kind.ToName() : null,
            Confirmation = entries.GetValueOrDefault(o.Slot)?.Decision.Confirmation.ToName(),
            Advice = entries.GetValueOrDefault(o.Slot)?.Advice,
        }).ToList();
        var notes = entries.Values.OrderBy(e => e.Slot).SelectMany(e => e.HealthChanges.Concat(e.Advice is { } a ? [a] : [])).ToList();
        switch (format)
        {
            case OutputFormat.Json:
                output.WriteLine(JsonSerializer.Serialize(new ScreenExport(header, rows), Json.Options));
                break;
            case OutputFormat.Csv:
                output.WriteLine("slot,deviceId,lot,verdict,failureMode,deviceTimeMs,signature");
                foreach (var r in rows)
                    output.WriteLine(string.Join(",", r.Slot, r.DeviceId, Csv.Escape(r.Lot), r.Verdict, r.FailureMode, r.DeviceTimeMs, Csv.Escape(r.Signature)));
                break;
            default:
                // fits the terminal (80 columns when redirected): a device id and a verdict never wrap, a lot or mode may
                var table = new TextTable().Column("slot", right: true, wrap: false).Column("device id", wrap: false).Column("lot")
                    .Column("verdict", wrap: false).Column("failure mode").Column("device time", right: true, wrap: false);
                foreach (var r in rows)
                {
                    var colour = r.Verdict switch { "pass" => "32", "fail" => "31", _ => "33" };
                    table.Row([r.Slot.ToString(System.Globalization.CultureInfo.InvariantCulture), r.DeviceId ?? "?", r.Lot ?? "", r.Verdict, r.FailureMode ?? "",
                        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{r.DeviceTimeMs / 1000:0.0} s")], [null, null, null, colour, null, null]);
                }
                output.Write(table.For(output));
                // Signatures are long: wrapped under the table, only where there is something to say.
                var width = Terminal.Width(output);
                foreach (var r in rows.Where(r => r.Verdict != "pass"))
                    output.WriteLine(TextWrap.Paragraph($"slot {r.Slot}: {r.Signature}", width));
                output.WriteLine(TextWrap.Paragraph($"{rows.Count(r => r.Verdict == "pass")} passed, {rows.Count(r => r.Verdict == "fail")} failed ({rows.Count(r => r.Confirmation == "confirmed")} confirmed, {rows.Count(r => r.Confirmation == "unconfirmed")} unconfirmed), {rows.Count(r => r.Verdict == "rig-fault")} rig fault(s)", width));
                // what the operator does next: which Cores to move where to confirm, which slots changed health
                // (whole lines when redirected: a log or a script greps them)
                foreach (var note in notes)
                    output.WriteLine(Terminal.IsTerminal(output) ? TextWrap.Paragraph(note, width) : note);
                break;
        }
    }

    private sealed record ScreenExport(RunHeader Run, IReadOnlyList<ScreenRow> Slots);

    private sealed record ScreenRow(
        int Slot,
        string? DeviceId,
        string? Lot,
        string Verdict,
        string? FailureMode,
        string Signature,
        double DeviceTimeMs,
        string? DfuSerial,
        long BitErrors,
        long StuckAt0,
        long StuckAt1,
        string[] EraseFailedSectors,
        IReadOnlyList<LoopRow>? Loops)
    {
        /// <summary>Whose fault a non-pass is: dut, usb, sensor, relay, buttons, cloud, software.</summary>
        public string? FailureKind { get; init; }

        /// <summary>pass, unconfirmed, confirmed or rig-fault under the confirmation policy.</summary>
        public string? Confirmation { get; init; }

        /// <summary>For an unconfirmed failure: which slot to move the Core to, to confirm it.</summary>
        public string? Advice { get; init; }
    }

    private sealed record LoopRow(string Loop, string Verdict, string? FailureMode, double DeviceTimeMs, string Signature);
}
