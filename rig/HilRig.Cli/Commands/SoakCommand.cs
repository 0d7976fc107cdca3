using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using HilRig.Composition;
using HilRig.Core.Config;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Core.Slots;
using HilRig.Reports.Statistics;
using HilRig.Sim.Device.Firmware;

namespace HilRig.Cli.Commands;

/// <summary>
/// `hilrig soak --cycles N`: every selected slot in parallel, per cycle an OTA (a new generated app each cycle) then a
/// factory reset; one stored row per cycle step. A Core that fails is recorded with its cycles-to-failure and leaves
/// the run. The summary gives failures per 1,000 cycles with a 95 % interval and, with --baseline, an exact comparison.
/// </summary>
internal static class SoakCommand
{
    public static Command Build()
    {
        var config = CommonOptions.Config();
        var format = CommonOptions.Format();
        var cycles = new Option<int>("--cycles") { Description = "cycles per slot (1..100000)", Required = true };
        var bootloader = new Option<string?>("--bootloader") { Description = "simulated bootloader for this soak: BL13 or BL14 (default: the config's sim.bootloader)" };
        var slots = new Option<string?>("--slots") { Description = "slots to soak, e.g. 1,3-5 (default: all)" };
        var baseline = new Option<string?>("--baseline") { Description = "a stored soak run id to compare this run with (exact test)" };
        var command = new Command("soak", "soak Cores through OTA and factory reset cycles; failures per 1,000 cycles, optionally compared with a baseline run");
        command.Options.Add(config);
        command.Options.Add(cycles);
        command.Options.Add(bootloader);
        command.Options.Add(slots);
        command.Options.Add(format);
        command.Options.Add(baseline);
        command.SetAction((parse, ct) => RunAsync(
            parse.GetValue(config)!, parse.GetValue(cycles), parse.GetValue(bootloader), parse.GetValue(slots),
            CommonOptions.ParseFormat(parse.GetValue(format)), parse.GetValue(baseline),
            parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, ct));
        return command;
    }

    private static async Task<int> RunAsync(
        FileInfo configFile, int cycles, string? bootloaderName, string? slotSpec, OutputFormat format, string? baselineSpec,
        TextWriter output, TextWriter err, CancellationToken ct)
    {
        if (cycles is < 1 or > 100_000)
        {
            err.WriteLine($"hilrig: --cycles {cycles.ToString(CultureInfo.InvariantCulture)}: valid: 1..100000");
            return ExitCodes.BadInput;
        }
        if (!ConfigLoading.TryLoad(configFile, err, out var config)) return ExitCodes.BadInput;
        if (bootloaderName is not null)
        {
            if (!Enum.TryParse<SimBootloader>(bootloaderName, ignoreCase: true, out var kind) || !Enum.IsDefined(kind) || int.TryParse(bootloaderName, out _))
            {
                err.WriteLine($"hilrig: --bootloader {bootloaderName}: valid: {string.Join(", ", Enum.GetNames<SimBootloader>())}");
                return ExitCodes.BadInput;
            }
            config = config with { Sim = config.Sim with { Bootloader = kind } };
        }
        Guid? baselineId = null;
        if (baselineSpec is not null)
        {
            if (!Guid.TryParse(baselineSpec, out var id))
            {
                err.WriteLine($"hilrig: --baseline {baselineSpec}: valid: a run id (a GUID) from the results store");
                return ExitCodes.BadInput;
            }
            baselineId = id;
        }

        // A fresh simulation from the config's seed (no saved sim state): the soak replays exactly. No LED sampling:
        // the soak judges by USB and the cloud, and sampling costs CPU per virtual second.
        using var open = RigOpening.Open(config, err, new RigSessionOptions { ObserveLeds = false, CalibrateAtOpen = false });
        if (open.Session is not { } session) return open.ExitCode;
        IReadOnlyList<RigSlot> selected;
        try
        {
            selected = session.Select(slotSpec);
        }
        catch (FormatException ex)
        {
            err.WriteLine($"hilrig: {ex.Message}");
            return ExitCodes.BadInput;
        }

        var storePath = config.ResolveStorePath();
        var store = ResultsStore.Open(storePath);
        (string Bootloader, int Failures, long Cycles)? baselineFigures = null;
        if (baselineId is { } bid)
        {
            var run = store.GetRun(bid);
            if (run is null || run.Kind != "soak")
            {
                err.WriteLine($"hilrig: --baseline {bid}: no soak run with that id in {storePath}");
                return ExitCodes.BadInput;
            }
            baselineFigures = Figures(store.GetResults(bid));
            baselineFigures = baselineFigures.Value with { Bootloader = run.Bootloader ?? "?" };
        }

        var wall = TimeProvider.System;
        var runStart = wall.GetUtcNow();
        var bootloader = config.Sim.Bootloader.ToString();
        var runId = store.StartRun(new RunInfo(config.RigId, config.Hash, config.Sim.Seed, bootloader, "soak", runStart));
        var rows = new List<SoakRow>();
        var status = RunStatus.Aborted;
        try
        {
            var perSlot = await session.RunAsync(() => Task.WhenAll(selected.Select(s => SoakSlotAsync(session, s, cycles, config.Sim.Seed, ct))));
            foreach (var slotRows in perSlot)
            {
                foreach (var row in slotRows)
                {
                    store.UpsertDevice(row.DeviceId, SimDefaults.UnlistedLot, wall.GetUtcNow());
                    store.RecordResult(new ResultRecord(runId, row.DeviceId, row.Slot, row.Test, VerdictNames.Parse(row.Verdict), runStart, wall.GetUtcNow(),
                        Cycle: row.Cycle, FailureMode: row.FailureMode, Signature: row.Signature, DeviceTime: TimeSpan.FromMilliseconds(row.DeviceTimeMs)));
                    rows.Add(row);
                }
            }
            var summary = Summarise(bootloader, rows, baselineFigures);
            Print(rows, summary, format, output);
            err.WriteLine($"run {runId} stored in {storePath}");
            status = rows.Any(r => r.Verdict == "rig-fault") ? RunStatus.RigFault : rows.Any(r => r.Verdict == "fail") ? RunStatus.Failed : RunStatus.Passed;
            return status switch { RunStatus.RigFault => ExitCodes.RigFault, RunStatus.Failed => ExitCodes.DutFailed, _ => ExitCodes.Ok };
        }
        finally
        {
            store.FinishRun(runId, status, wall.GetUtcNow());
        }
    }

    /// <summary>One slot's soak on the rig's clock; stops at the first failure (the Core leaves the run).</summary>
    private static async Task<List<SoakRow>> SoakSlotAsync(RigSession session, RigSlot slot, int cycles, int seed, CancellationToken ct)
    {
        var rows = new List<SoakRow>();
        var id = await slot.Identity.ReadDeviceIdAsync(ct);
        if (id is null)
        {
            rows.Add(new SoakRow(slot.Number, $"slot-{slot.Number}-unidentified", "identify", 0, "rig-fault", FailureModes.SlotEmpty, $"no Core answered `i` in {slot}", 0));
            return rows;
        }
        for (var k = 1; k <= cycles; k++)
        {
            // a new app each cycle, from the seed: the Core is seen to change, and the run replays
            var image = SparkAppImageGenerator.Generate(unchecked(seed * 7919 + slot.Number * 104_729 + k), "soak-app", $"1.0.{k}");
            var app = SparkAppImageGenerator.ReadIdentity(image);
            var ota = await new Ota(session.Life).RunAsync(slot, id, image, app, ct);
            rows.Add(Row(slot, id, k, ota));
            if (ota.Verdict != Verdict.Pass) break;
            var reset = await new FactoryReset(session.Life).RunAsync(slot, id, ct);
            rows.Add(Row(slot, id, k, reset));
            if (reset.Verdict != Verdict.Pass) break;
        }
        return rows;
    }

    private static SoakRow Row(RigSlot slot, string id, int cycle, LoopResult r) =>
        new(slot.Number, id, r.Loop, cycle, r.Verdict.ToName(), r.FailureMode, r.Signature, Math.Round(r.DeviceTime.TotalMilliseconds, 3));

    /// <summary>Failures (a Core failing a step) and cycles run (cycles a Core started) in a set of soak rows.</summary>
    private static (string Bootloader, int Failures, long Cycles) Figures(IEnumerable<(int Slot, int Cycle, string Verdict)> steps)
    {
        var list = steps.ToList();
        var failures = list.Count(s => s.Verdict == "fail");
        var cycles = list.GroupBy(s => s.Slot).Sum(g => (long)g.Max(s => s.Cycle));
        return ("", failures, cycles);
    }

    private static (string Bootloader, int Failures, long Cycles) Figures(IReadOnlyList<StoredResult> results) =>
        Figures(results.Where(r => r.Cycle is not null).Select(r => (r.Slot, r.Cycle!.Value, r.Verdict.ToName())));

    private static SoakSummary Summarise(string bootloader, List<SoakRow> rows, (string Bootloader, int Failures, long Cycles)? baseline)
    {
        var (_, failures, cycles) = Figures(rows.Where(r => r.Cycle > 0).Select(r => (r.Slot, r.Cycle, r.Verdict)));
        var rate = PoissonRate.PerThousandCycles(failures, Math.Max(cycles, 1));
        var failed = rows.Where(r => r.Verdict == "fail").Select(r => new CoreFailure(r.Slot, r.DeviceId, r.Cycle, r.Test, r.FailureMode)).ToList();
        BaselineComparison? comparison = null;
        if (baseline is { } b)
        {
            var c = ExactTests.CompareSoak(bootloader, failures, Math.Max(cycles, 1), b.Bootloader, b.Failures, Math.Max(b.Cycles, 1));
            comparison = new BaselineComparison(b.Bootloader, b.Failures, b.Cycles, Math.Round(c.PValue, 6), c.CandidateIsWorse, c.Verdict);
        }
        return new SoakSummary(bootloader, cycles, failures, Math.Round(rate.Point, 4), Math.Round(rate.Lower, 4), Math.Round(rate.Upper, 4), failed, comparison);
    }

    private static void Print(List<SoakRow> rows, SoakSummary s, OutputFormat format, TextWriter output)
    {
        if (format == OutputFormat.Json)
        {
            output.WriteLine(JsonSerializer.Serialize(new SoakExport(rows, s), Json.Options));
            return;
        }
        if (format == OutputFormat.Csv)
        {
            output.WriteLine("slot,deviceId,test,cycle,verdict,failureMode,deviceTimeMs,signature");
            foreach (var r in rows)
                output.WriteLine(string.Join(",", r.Slot, r.DeviceId, r.Test, r.Cycle, r.Verdict, r.FailureMode, r.DeviceTimeMs.ToString(CultureInfo.InvariantCulture), Csv.Escape(r.Signature)));
            return;
        }
        foreach (var f in s.Failed)
            output.WriteLine($"slot {f.Slot} ({f.DeviceId}): failed {f.Test} in cycle {f.CyclesToFailure} ({f.FailureMode}); taken out of the run");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{s.Bootloader}: {s.Failures} failure(s) in {s.Cycles} cycles: {s.FailuresPerThousandCycles:0.###} per 1,000 cycles (95 % interval {s.Lower95:0.###}..{s.Upper95:0.###})"));
        if (s.Baseline is { } b)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"vs baseline {b.Bootloader} ({b.Failures} in {b.Cycles} cycles): p = {b.PValue:0.######}: {(b.CandidateIsWorse ? "the new build is worse" : "not shown worse")} ({b.Verdict})"));
    }

    private sealed record SoakRow(int Slot, string DeviceId, string Test, int Cycle, string Verdict, string? FailureMode, string Signature, double DeviceTimeMs);

    private sealed record CoreFailure(int Slot, string DeviceId, int CyclesToFailure, string Test, string? FailureMode);

    private sealed record BaselineComparison(string Bootloader, int Failures, long Cycles, double PValue, bool CandidateIsWorse, string Verdict);

    private sealed record SoakSummary(
        string Bootloader, long Cycles, int Failures, double FailuresPerThousandCycles, double Lower95, double Upper95,
        IReadOnlyList<CoreFailure> Failed, BaselineComparison? Baseline);

    private sealed record SoakExport(IReadOnlyList<SoakRow> Rows, SoakSummary Summary);
}
