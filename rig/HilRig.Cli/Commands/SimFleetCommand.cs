using System.CommandLine;
using System.Globalization;
using HilRig.Composition;
using HilRig.Core.Config;
using HilRig.Core.Inventory;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Sim.Fleet;

namespace HilRig.Cli.Commands;

/// <summary>
/// <c>hilrig sim fleet</c>: a simulated production history in the results store, so reports and the dashboard have
/// something real to show; <c>hilrig sim export-lots</c>: the simulated population as a lot inventory CSV.
/// </summary>
internal static class SimFleetCommand
{
    /// <summary>Up to this many Cores go through the real procedures by default; more take the fast path.</summary>
    public const int RealProceduresUpTo = 64;

    /// <summary>`sim fleet` and `sim export-lots`, added to the one `sim` command (SimCommand).</summary>
    public static IEnumerable<Command> Subcommands()
    {
        yield return Fleet();
        yield return ExportLots();
    }

    private sealed record FleetArgs(Option<int> Cores, Option<int> Lots, Option<int> Seed, Option<int?> BadLots, Option<int> SoakCycles);

    private static FleetArgs AddFleetOptions(Command command, int defaultCores)
    {
        var args = new FleetArgs(
            new Option<int>("--cores") { Description = "Cores in the simulated production", DefaultValueFactory = _ => defaultCores },
            new Option<int>("--lots") { Description = "chip lots they come from", DefaultValueFactory = _ => 12 },
            new Option<int>("--seed") { Description = "same seed, same devices, lots, defects and results", DefaultValueFactory = _ => 1 },
            new Option<int?>("--bad-lots") { Description = "lots with high stuck-bit, bad-sector and slow rates (default: one in eight, at least one)" },
            new Option<int>("--soak-cycles") { Description = "soak cycles per soaked device, every 10th device, half on BL13 and half on BL14 (fast path only)", DefaultValueFactory = _ => 0 });
        command.Options.Add(args.Cores);
        command.Options.Add(args.Lots);
        command.Options.Add(args.Seed);
        command.Options.Add(args.BadLots);
        command.Options.Add(args.SoakCycles);
        return args;
    }

    /// <summary>The plan, or one line naming the bad option and what is valid.</summary>
    private static FleetPlan? Plan(ParseResult pr, FleetArgs a, TextWriter error)
    {
        var cores = pr.GetValue(a.Cores);
        var lots = pr.GetValue(a.Lots);
        var bad = pr.GetValue(a.BadLots) ?? Math.Max(1, lots / 8);
        var soak = pr.GetValue(a.SoakCycles);
        string? problem = cores < 1 ? $"--cores: {cores}: must be at least 1"
            : lots < 1 ? $"--lots: {lots}: must be at least 1"
            : bad < 0 || bad > lots ? $"--bad-lots: {bad}: must be between 0 and --lots ({lots})"
            : soak < 0 ? $"--soak-cycles: {soak}: must be 0 or more"
            : null;
        if (problem is not null)
        {
            error.WriteLine($"hilrig: {problem}");
            return null;
        }
        return FleetPlan.Create(new FleetOptions(cores, lots, pr.GetValue(a.Seed), bad, soak));
    }

    private static Command Fleet()
    {
        var config = CommonOptions.Config();
        var store = StoreLocation.Option();
        var path = new Option<string>("--path") { Description = $"real: every Core through RigSession + Screening; fast: rows written directly (see README); auto: real up to {RealProceduresUpTo} Cores", DefaultValueFactory = _ => "auto" };
        path.AcceptOnlyFromAmong("auto", "real", "fast");
        var command = new Command("fleet", "Simulate a production history (Cores from chip lots, a few lots bad) into the results store");
        var args = AddFleetOptions(command, 48);
        command.Options.Add(config);
        command.Options.Add(store);
        command.Options.Add(path);
        command.SetAction((ParseResult pr, CancellationToken ct) => RunFleetAsync(pr, args, pr.GetValue(config)!, pr.GetValue(store), pr.GetValue(path)!, ct));
        return command;
    }

    private static async Task<int> RunFleetAsync(ParseResult pr, FleetArgs args, FileInfo configFile, FileInfo? storeFile, string path, CancellationToken ct)
    {
        var output = pr.InvocationConfiguration.Output;
        var error = pr.InvocationConfiguration.Error;
        if (Plan(pr, args, error) is not { } plan) return ExitCodes.BadInput;
        if (!ConfigLoading.TryLoad(configFile, error, out var config)) return ExitCodes.BadInput;
        if (!StoreLocation.TryResolve(configFile, storeFile, mustExist: false, error, out var storePath)) return ExitCodes.BadInput;
        var real = path == "real" || (path == "auto" && plan.Options.Cores <= RealProceduresUpTo);
        if (real && plan.Options.SoakCycles > 0)
        {
            error.WriteLine("hilrig: --soak-cycles: soak rows come from the fast path only; add --path fast or leave --soak-cycles out");
            return ExitCodes.BadInput;
        }
        var store = ResultsStore.Open(storePath);
        var wall = System.Diagnostics.Stopwatch.StartNew();
        if (real)
        {
            var (results, failed) = await RunRealAsync(plan, config, store, error, ct);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"sim fleet (real procedures): {plan.Options.Cores} Cores from {plan.Options.Lots} lots ({plan.Lots.Count(l => l.Bad)} bad: {string.Join(", ", plan.Lots.Where(l => l.Bad).Select(l => l.Name))}), {results} results, {failed} failed, in {wall.Elapsed.TotalSeconds:0.0} s into {storePath}"));
        }
        else
        {
            var fast = new FleetFastPath(plan, config.Slots.Count);
            var summary = fast.WriteTo(store, config.RigId);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"sim fleet (fast path): {summary.Devices} Cores from {plan.Options.Lots} lots ({plan.Lots.Count(l => l.Bad)} bad: {string.Join(", ", plan.Lots.Where(l => l.Bad).Select(l => l.Name))}), {summary.Results} results in {summary.ScreenRuns} screen run(s) and {summary.SoakRuns} soak run(s), worn slot {fast.WornSlot}, in {wall.Elapsed.TotalSeconds:0.0} s into {storePath}"));
        }
        return ExitCodes.Ok;
    }

    /// <summary>
    /// The real procedures: the fleet's Cores go onto the simulated rig a batch of slots at a time (each Core with its
    /// own id, lot and flash condition), and <see cref="Screening"/> judges them exactly as <c>hilrig screen</c> does.
    /// </summary>
    private static async Task<(int Results, int Failed)> RunRealAsync(FleetPlan plan, RigConfig config, ResultsStore store, TextWriter error, CancellationToken ct)
    {
        var slots = config.Slots.Select(s => s.Number).ToList();
        var devices = plan.Devices().ToList();
        int results = 0, failed = 0;
        for (var start = 0; start < devices.Count; start += slots.Count)
        {
            var batch = devices.Skip(start).Take(slots.Count).ToList();
            var cores = batch.Select((d, i) => new SimCoreConfig(slots[i], d.DeviceId, d.Lot.Name, d.Flash)).ToList();
            var rig = config with { Sim = config.Sim with { Seed = plan.Options.Seed + start, Cores = cores } };
            using var session = RigSession.Open(rig);
            var selected = session.Slots.Where(s => cores.Any(c => c.Slot == s.Number)).ToList();
            var runStart = session.Time.GetUtcNow();
            // rows keep the simulation's own times: the same seed writes the same history
            using var recorder = ResultRecorder.Start(store, new RunInfo(config.RigId, config.Hash, rig.Sim.Seed, rig.Sim.Bootloader.ToString(), "screen", runStart), TimeProvider.System);
            var byId = batch.ToDictionary(d => d.DeviceId, StringComparer.Ordinal);
            var outcomes = await session.RunAsync(() => new Screening(session.Usb, session.Time).RunAsync(selected, null, null, ct));
            foreach (var o in outcomes.OrderBy(o => o.Slot))
            {
                var finding = SlotFinding.From(o);
                if (o.DeviceId is { } id && byId.TryGetValue(id, out var d))
                    finding = finding with { Lot = d.Lot.Name, DateCode = d.Lot.DateCode, Supplier = d.Lot.Supplier };
                _ = recorder.Record(finding);
                results++;
                if (o.Verdict == Verdict.Fail) failed++;
            }
            recorder.Finish(outcomes.Any(o => o.Verdict == Verdict.RigFault) ? RunStatus.RigFault
                : outcomes.Any(o => o.Verdict == Verdict.Fail) ? RunStatus.Failed : RunStatus.Passed, session.Time.GetUtcNow());
            error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"batch {(start / slots.Count) + 1}: {batch.Count} Cores screened"));
        }
        return (results, failed);
    }

    private static Command ExportLots()
    {
        var config = CommonOptions.Config();
        var output = CommonOptions.Output("CSV file to write (default: standard output)");
        var command = new Command("export-lots", "Write a simulated population as a lot inventory CSV (device_id,lot,date_code,supplier): the fleet for --cores, else the rig config's sim.cores");
        var args = AddFleetOptions(command, 0);
        command.Options.Add(config);
        output.AddTo(command);
        command.SetAction((ParseResult pr, CancellationToken ct) =>
        {
            var error = pr.InvocationConfiguration.Error;
            IReadOnlyList<DeviceLot> records;
            if (pr.GetValue(args.Cores) == 0)
            {
                if (!ConfigLoading.TryLoad(pr.GetValue(config)!, error, out var rig)) return Task.FromResult(ExitCodes.BadInput);
                records = [.. rig.Sim.Cores.Select(c => new DeviceLot(c.DeviceId, c.Lot, null, null))];
            }
            else
            {
                if (Plan(pr, args, error) is not { } plan) return Task.FromResult(ExitCodes.BadInput);
                records = [.. plan.Devices().Select(d => d.ToInventory())];
            }
            using var text = new StringWriter(CultureInfo.InvariantCulture);
            LotInventoryCsv.Write(text, records);
            if (output.Get(pr) is { } file)
            {
                FileOutput.WriteAtomically(file.FullName, System.Text.Encoding.UTF8.GetBytes(text.ToString()));
                error.WriteLine($"{records.Count} devices written to {file.FullName}");
            }
            else
            {
                pr.InvocationConfiguration.Output.Write(text.ToString());
            }
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }
}
