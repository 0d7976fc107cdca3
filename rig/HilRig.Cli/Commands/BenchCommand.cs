using System.CommandLine;
using HilRig.Cli.Bench;

namespace HilRig.Cli.Commands;

/// <summary><c>hilrig bench ...</c>: accuracy and capacity benchmarks on the simulator; one subcommand per area.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var bench = new Command("bench", "Benchmarks on the simulated rig (accuracy, capacity)");
        bench.Subcommands.Add(Led());
        return bench;
    }

    private static Command Led()
    {
        var seed = new Option<int>("--seed") { Description = "Seed for sensor noise", DefaultValueFactory = _ => 1 };
        var quick = new Option<bool>("--quick") { Description = "A reduced grid of optics settings" };
        var command = new Command("led", "Labelled LED traces for every state through the real observation path: per-state accuracy, transition error, samples/s for 16 slots");
        command.Options.Add(seed);
        command.Options.Add(quick);
        command.SetAction((ParseResult pr, CancellationToken ct) =>
        {
            var report = LedBench.Run(pr.GetValue(seed), pr.GetValue(quick), Console.Out);
            return Task.FromResult(report.MeetsTargets ? ExitCodes.Ok : ExitCodes.DutFailed);
        });
        return command;
    }
}
