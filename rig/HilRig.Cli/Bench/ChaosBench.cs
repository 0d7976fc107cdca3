using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using HilRig.Cli.Commands;
using HilRig.Composition;
using HilRig.Core.Config;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Core.Slots;

namespace HilRig.Cli.Bench;

/// <summary>
/// `hilrig bench chaos`: the soak of `hilrig soak` on a fresh simulated rig with the config's <c>sim.faults</c>
/// (examples/chaos-rig.yaml: every fault at random, two bad-flash Cores), and the accounting of issue 14's chaos soak:
/// faults injected per kind (the simulator's ledger) against the retries the rig recorded in its rows, fails on healthy
/// Cores (must be none), the bad-flash Cores' fails, rig-fault rows.
/// </summary>
internal static class ChaosBench
{
    public static Command Command()
    {
        var config = CommonOptions.Config();
        var cycles = new Option<int>("--cycles") { Description = "cycles per slot (1..100000)", DefaultValueFactory = _ => 200 };
        var everyReadback = new Option<int>("--every-readback") { Description = "every K-th cycle ends with a DFU readback (0 = none)", DefaultValueFactory = _ => 10 };
        var bad = new Option<string>("--bad-slots") { Description = "the slots whose Cores have bad flash (their fails are expected)", DefaultValueFactory = _ => "3,6" };
        var command = new Command("chaos", "The chaos soak: every sim.faults fault at random; ledger against the rig's recorded retries, fails on healthy Cores");
        command.Options.Add(config);
        command.Options.Add(cycles);
        command.Options.Add(everyReadback);
        command.Options.Add(bad);
        command.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var error = pr.InvocationConfiguration.Error;
            var output = pr.InvocationConfiguration.Output;
            var n = pr.GetValue(cycles);
            var k = pr.GetValue(everyReadback);
            if (n is < 1 or > 100_000 || k is < 0 or > 100_000)
            {
                error.WriteLine($"hilrig: --cycles {n} / --every-readback {k}: valid: 1..100000 / 0..100000");
                return ExitCodes.BadInput;
            }
            var badSlots = new HashSet<int>();
            foreach (var part in pr.GetValue(bad)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var s))
                {
                    error.WriteLine($"hilrig: --bad-slots '{part}' is not a slot number; valid: e.g. 3,6");
                    return ExitCodes.BadInput;
                }
                badSlots.Add(s);
            }
            if (!ConfigLoading.TryLoad(pr.GetValue(config)!, error, out var rig)) return ExitCodes.BadInput;
            if (rig.Backend != RigBackend.Sim)
            {
                error.WriteLine($"hilrig: bench chaos runs on the simulator; {rig.SourcePath} has backend: pi");
                return ExitCodes.BadInput;
            }
            return await RunAsync(rig, n, k, badSlots, output, ct);
        });
        return command;
    }

    /// <summary>How long a bad Core is soaked in the slot it was moved to, to confirm its failure there.</summary>
    internal const int ConfirmCycles = 2;

    /// <summary>Every K-th cycle of the chaos soak starts from a cold boot (relay cut and switched on).</summary>
    internal const int PowerCycleEvery = 5;

    /// <summary>What the chaos soak found, with its confirmation phase.</summary>
    /// <param name="Rows">The soak's rows, then the confirming soak's.</param>
    /// <param name="Stored">Rows the results store holds for both runs (must equal <see cref="Rows"/>: nothing lost).</param>
    /// <param name="Moves">Each bad Core's slot and the healthy slot it swapped places with.</param>
    /// <param name="Decisions">Every failed device's standing under screening.confirm after each run, in order.</param>
    internal sealed record ChaosOutcome(
        SoakResult Soak, SoakResult Confirm, IReadOnlyList<SoakRow> Rows, IReadOnlyList<HilRig.Sim.Faults.InjectedFault> Ledger, int Stored,
        IReadOnlyDictionary<int, int> Moves, IReadOnlyList<LedgerEntry> Decisions, IReadOnlyDictionary<int, string> BadDevices)
    {
        /// <summary>Readings the LED sampler left out after a failed read (an I2C NACK on a sensor's mux or the sensor): its recovered retries.</summary>
        public long MissedReadings { get; init; }
    }

    /// <summary>
    /// The chaos soak into a results store: the soak on every slot, each failed device recorded under the confirmation
    /// policy (the screen's rule), then each bad Core swapped with a healthy neighbour and soaked there for
    /// <see cref="ConfirmCycles"/> cycles (a readback each), its failure recorded again: a second slot confirms it.
    /// </summary>
    internal static async Task<ChaosOutcome> RunChaosAsync(RigConfig config, int cycles, int everyReadback, IReadOnlySet<int> bad, string storePath, CancellationToken ct)
    {
        // the LEDs are watched (and each loop checks its sensor's chip id) only where a sensor fault is in the mix:
        // watching eight LEDs costs the simulation more than everything else it does
        var leds = config.Sim.Faults.SensorId > 0;
        using var session = RigSession.Open(config, new RigSessionOptions { ObserveLeds = leds, CalibrateAtOpen = leds });
        var sim = session.Sim!;
        var wall = TimeProvider.System;
        var store = ResultsStore.Open(storePath);
        var ledger = new ScreeningLedger(store, config.RigId, config.Screening, wall);
        var rigSlots = session.Slots.Select(s => s.Number).ToList();
        var badDevices = bad.ToDictionary(s => s, s => sim.Slot(s).Core.DeviceId);
        var decisions = new List<LedgerEntry>();
        var stored = 0;

        async Task<SoakResult> SoakAsync(SoakPlan plan, IReadOnlyList<RigSlot> slots)
        {
            using var recorder = ResultRecorder.Start(store, new RunInfo(config.RigId, config.Hash, config.Sim.Seed, "chaos", "soak", wall.GetUtcNow()), wall,
                new RecorderOptions { RigClockIsWall = false });
            var first = new Dictionary<int, Task<StoredResult>>();
            var lots = slots.ToDictionary(s => s.Number, s => sim.Slot(s.Number).Core.Spec.Lot);
            var result = await session.RunAsync(() => new SoakRunner(session.Life, plan).RunAsync(slots, new Listener(row =>
            {
                var task = recorder.Record(SlotFinding.From(row, lots[row.Slot]));
                if (row.Verdict == Verdict.Fail) first.TryAdd(row.Slot, task);
            }), ct));
            recorder.Flush();
            stored += recorder.Stored;
            recorder.Finish(RunStatus.Passed);
            foreach (var f in first.OrderBy(f => f.Key).Select(f => f.Value.Result))
                decisions.Add(ledger.Record(f, null, rigSlots));
            return result;
        }

        // every few cycles a cold boot: the only place a soak switches a relay, so a sticking contact (sim.faults.relayStuck) meets the rig
        // the readbacks journal the regions (screen's journal), so a rig fault mid-readback puts them back and the slot soaks on
        var journal = new RegionJournal(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(storePath))!, "journal"));
        // the store's DFU serial links, as `hilrig soak` keeps them: a bad Core that arrives in DFU in the slot it was
        // moved to (a bad flash once factory-reset boots into DFU) is known by its device id there
        var links = new StoreDeviceLinks(store, wall);
        var soak = await SoakAsync(SoakCommand.PlanFor(config, cycles, everyReadback, null, journal) with { PowerCycleEvery = PowerCycleEvery, Links = links }, session.Slots);

        // a failure in one slot is not final: each bad Core changes places with the nearest healthy slot's Core
        var moves = new Dictionary<int, int>();
        foreach (var slot in bad.Order())
            moves[slot] = rigSlots.Where(s => !bad.Contains(s) && !moves.ContainsValue(s)).OrderBy(s => Math.Abs(s - slot)).ThenBy(s => s).First();
        await session.RunAsync(async () =>
        {
            foreach (var (from, to) in moves)
            {
                var a = sim.Remove(from)!;
                var b = sim.Remove(to)!;
                sim.Insert(to, a.DeviceId, a.Spec.Lot, a.Spec.Flash);
                sim.Insert(from, b.DeviceId, b.Spec.Lot, b.Spec.Flash);
            }
            // no settle: a Core dropped into a powered slot is still booting when the soak starts, which waits that out itself
            await Task.CompletedTask;
        });
        var confirm = await SoakAsync(SoakCommand.PlanFor(config, ConfirmCycles, 1, null, journal) with { Links = links }, [.. session.Slots.Where(s => moves.ContainsValue(s.Number))]);
        return new ChaosOutcome(soak, confirm, [.. soak.Rows, .. confirm.Rows], sim.Faults.Ledger, stored, moves, decisions, badDevices)
        {
            MissedReadings = session.Led?.Sampler.MissedReads ?? 0,
        };
    }

    /// <summary>How the moved bad Core was met in its new slot: found in DFU (a readback before cycle 1, the diagnosis), or on its app.</summary>
    private static string Arrival(IEnumerable<SoakRow> rows, int slot)
    {
        var found = rows.Where(r => r.Slot == slot && r.Test == SoakRunner.ReadbackTest && r.Cycle == 0).ToList();
        return found.Count == 0 ? $"; in slot {slot} on its app"
            : $"; in slot {slot} found in DFU, read back under {(found[^1].DeviceId.StartsWith("dfu-", StringComparison.Ordinal) ? "its DFU serial" : "its device id")}: "
              + string.Join(", then ", found.Select(r => $"{r.Verdict.ToName()} {r.FailureMode}"));
    }

    private sealed class Listener(Action<SoakRow> onRow) : IProgress<SoakProgress>
    {
        public void Report(SoakProgress value)
        {
            if (value.Row is { } row) onRow(row);
        }
    }

    private static async Task<int> RunAsync(RigConfig config, int cycles, int everyReadback, IReadOnlySet<int> bad, TextWriter output, CancellationToken ct)
    {
        var wall = Stopwatch.StartNew();
        var folder = Directory.CreateTempSubdirectory("hilrig-chaos-");
        ChaosOutcome outcome;
        try
        {
            outcome = await RunChaosAsync(config, cycles, everyReadback, bad, Path.Combine(folder.FullName, "chaos.db"), ct);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
        wall.Stop();
        var ledger = outcome.Ledger;
        var rows = outcome.Rows;
        // a NACK on a sensor's read is the sampler's to ride out: the reading is left out (no row carries it)
        var recorded = rows.SelectMany(r => r.Retries)
            .Concat(Enumerable.Range(0, (int)outcome.MissedReadings).Select(_ => new RigRetry("i2c-nack", null, DateTimeOffset.MinValue, "LED sampler: a reading left out")))
            .ToList();
        var c = CultureInfo.InvariantCulture;
        var slots = outcome.Soak.Slots.Count;
        output.WriteLine(string.Create(c, $"chaos soak: {cycles} cycles x {slots} slots, seed {config.Sim.Seed}, readback every {everyReadback}, power cycle every {PowerCycleEvery}; then each bad Core moved and soaked {ConfirmCycles} cycles; {rows.Count} rows in {wall.Elapsed.TotalSeconds:0} s wall"));
        // what the simulator injected, by fault (a brown-out and a worn contact reach the rig as usb-disconnect, a dropped
        // and a stalled chunk stream as cloud-transfer)
        output.WriteLine($"  injected by fault: {string.Join(", ", Enum.GetValues<HilRig.Sim.Faults.FaultKind>().Select(k => string.Create(c, $"{HilRig.Sim.Faults.FaultKinds.Name(k)} {ledger.Count(f => f.Kind == k)}")))}");
        output.WriteLine("  kind             injected  retried  gave up (rig fault)");
        foreach (var kind in ledger.Select(f => f.RigKind).Concat(recorded.Select(r => r.Kind)).Distinct().Order(StringComparer.Ordinal))
        {
            output.WriteLine(string.Create(c, $"  {kind,-16} {ledger.Count(f => f.RigKind == kind),8} {recorded.Count(r => r.Kind == kind && !r.GaveUp),8} {recorded.Count(r => r.Kind == kind && r.GaveUp),8}"));
        }
        output.WriteLine(string.Create(c, $"  total            {ledger.Count,8} {recorded.Count(r => !r.GaveUp),8} {recorded.Count(r => r.GaveUp),8}"));
        var balanced = recorded.Count == ledger.Count && ledger.GroupBy(f => f.RigKind).All(g => recorded.Count(r => r.Kind == g.Key) == g.Count());
        output.WriteLine($"  ledger: {(balanced ? "balanced (every injected fault is a recorded retry or a rig fault)" : "NOT balanced")}");
        // where it does not balance: per kind and slot, what was injected against what the rows carry, to look at
        foreach (var kind in ledger.Select(f => f.RigKind).Concat(recorded.Select(r => r.Kind)).Distinct().Where(k => ledger.Count(f => f.RigKind == k) != recorded.Count(r => r.Kind == k)))
        {
            foreach (var slot in ledger.Where(f => f.RigKind == kind).Select(f => f.Slot).Concat(recorded.Where(r => r.Kind == kind).Select(r => r.Slot)).Distinct().Order())
            {
                var injected = ledger.Where(f => f.RigKind == kind && f.Slot == slot).ToList();
                var retried = recorded.Where(r => r.Kind == kind && r.Slot == slot).ToList();
                if (injected.Count == retried.Count) continue;
                output.WriteLine(string.Create(c, $"    {kind} slot {slot?.ToString(c) ?? "-"}: injected {injected.Count}, recorded {retried.Count}"));
                foreach (var f in injected) output.WriteLine(string.Create(c, $"      injected {f.At:HH:mm:ss.fff} {f.Operation}"));
                foreach (var r in retried) output.WriteLine(string.Create(c, $"      recorded {r.At:HH:mm:ss.fff} {r.What}{(r.GaveUp ? " (gave up)" : "")}"));
            }
        }
        output.WriteLine(string.Create(c, $"  results: {rows.Count} rows judged, {outcome.Stored} stored ({rows.Count - outcome.Stored} lost)"));
        // a bad Core's rows found in DFU before the store knew its id are keyed by its DFU serial
        var badIds = outcome.BadDevices.Values.SelectMany(id => new[] { id, $"dfu-{HilRig.Core.Spark.SparkIdentity.DfuSerial(id)}" }).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var healthyFails = rows.Where(r => !badIds.Contains(r.DeviceId) && r.Verdict == Verdict.Fail).ToList();
        var healthyRigFaults = rows.Where(r => !badIds.Contains(r.DeviceId) && r.Verdict == Verdict.RigFault).ToList();
        output.WriteLine(string.Create(c, $"  healthy Cores: {healthyFails.Count} fail row(s), {healthyRigFaults.Count} rig-fault row(s) ({string.Join(", ", healthyRigFaults.GroupBy(r => r.FailureMode).Select(g => $"{g.Key} {g.Count()}"))})"));
        foreach (var row in healthyFails.Take(10))
            output.WriteLine($"    slot {row.Slot} cycle {row.Cycle} {row.Test}: {row.FailureMode}: {row.Signature}");
        // by the device the store recorded each attempt under: a Core's id, whether its row knew it by id or by DFU serial
        var final = outcome.Decisions.GroupBy(d => d.Decision.DeviceId).ToDictionary(g => g.Key, g => g.Last().Decision.Confirmation);
        var healthyConfirmed = final.Count(f => !badIds.Contains(f.Key) && f.Value == Confirmation.Confirmed);
        output.WriteLine(string.Create(c, $"  healthy Cores with a final (confirmed) fail: {healthyConfirmed}"));
        foreach (var (slot, id) in outcome.BadDevices.OrderBy(b => b.Key))
        {
            var fails = rows.Where(r => (r.DeviceId == id || r.DeviceId.Equals($"dfu-{HilRig.Core.Spark.SparkIdentity.DfuSerial(id)}", StringComparison.OrdinalIgnoreCase)) && r.Verdict == Verdict.Fail).ToList();
            output.WriteLine(string.Create(c, $"  bad Core {id} (slot {slot}, moved to slot {outcome.Moves[slot]}): failed in {fails.Select(r => (r.Slot, r.Cycle)).Distinct().Count()} cycle(s) ({string.Join(", ", fails.GroupBy(r => r.FailureMode).Select(g => $"{g.Key} {g.Count()}"))}); {(final.TryGetValue(id, out var f) ? f.ToName() : "not failed")}{Arrival(outcome.Confirm.Rows, outcome.Moves[slot])}"));
        }
        var badConfirmed = outcome.BadDevices.Values.All(id => final.GetValueOrDefault(id) == Confirmation.Confirmed);
        return healthyFails.Count == 0 && healthyConfirmed == 0 && badConfirmed && balanced && outcome.Stored == rows.Count ? ExitCodes.Ok : ExitCodes.DutFailed;
    }
}
