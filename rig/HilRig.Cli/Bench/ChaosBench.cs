using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using HilRig.Cli.Commands;
using HilRig.Composition;
using HilRig.Core.Config;
using HilRig.Core.Procedures;

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

    private static async Task<int> RunAsync(RigConfig config, int cycles, int everyReadback, IReadOnlySet<int> bad, TextWriter output, CancellationToken ct)
    {
        var wall = Stopwatch.StartNew();
        using var session = RigSession.Open(config, new RigSessionOptions { ObserveLeds = false, CalibrateAtOpen = false });
        var plan = SoakCommand.PlanFor(config, cycles, everyReadback, null);
        var result = await session.RunAsync(() => new SoakRunner(session.Life, plan).RunAsync(session.Slots, null, ct));
        wall.Stop();
        var ledger = session.Sim!.Faults.Ledger;
        var recorded = result.Rows.SelectMany(r => r.Retries).ToList();
        var c = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(c, $"chaos soak: {cycles} cycles x {session.Slots.Count} slots, seed {config.Sim.Seed}, readback every {everyReadback}; {result.Rows.Count} rows in {wall.Elapsed.TotalSeconds:0} s wall"));
        output.WriteLine("  kind             injected  retried  gave up (rig fault)");
        foreach (var kind in ledger.Select(f => f.RigKind).Concat(recorded.Select(r => r.Kind)).Distinct().Order(StringComparer.Ordinal))
        {
            output.WriteLine(string.Create(c, $"  {kind,-16} {ledger.Count(f => f.RigKind == kind),8} {recorded.Count(r => r.Kind == kind && !r.GaveUp),8} {recorded.Count(r => r.Kind == kind && r.GaveUp),8}"));
        }
        output.WriteLine(string.Create(c, $"  total            {ledger.Count,8} {recorded.Count(r => !r.GaveUp),8} {recorded.Count(r => r.GaveUp),8}"));
        var healthyFails = result.Rows.Where(r => !bad.Contains(r.Slot) && r.Verdict == Verdict.Fail).ToList();
        output.WriteLine(string.Create(c, $"  healthy Cores: {healthyFails.Count} fail row(s), {result.Rows.Count(r => !bad.Contains(r.Slot) && r.Verdict == Verdict.RigFault)} rig-fault row(s) ({string.Join(", ", result.Rows.Where(r => !bad.Contains(r.Slot) && r.Verdict == Verdict.RigFault).GroupBy(r => r.FailureMode).Select(g => $"{g.Key} {g.Count()}"))})"));
        foreach (var row in healthyFails.Take(10))
            output.WriteLine($"    slot {row.Slot} cycle {row.Cycle} {row.Test}: {row.FailureMode}: {row.Signature}");
        foreach (var slot in bad.Order())
        {
            var fails = result.Rows.Where(r => r.Slot == slot && r.Verdict == Verdict.Fail).ToList();
            output.WriteLine(string.Create(c, $"  bad slot {slot}: failed in {fails.Select(r => r.Cycle).Distinct().Count()} cycle(s): {string.Join(", ", fails.GroupBy(r => r.FailureMode).Select(g => $"{g.Key} {g.Count()}"))}"));
        }
        return healthyFails.Count == 0 ? ExitCodes.Ok : ExitCodes.DutFailed;
    }
}
