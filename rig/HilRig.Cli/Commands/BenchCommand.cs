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
        bench.Subcommands.Add(Dfu());
        bench.Subcommands.Add(DfuUtil());
        return bench;
    }

    private static Command DfuUtil()
    {
        var config = CommonOptions.Config();
        var tool = new Option<string>("--dfu-util") { Description = "dfu-util to compare against (default: the one on PATH)" };
        var command = new Command("dfu-util", "Write and read back 128 KiB at 0x20000 on a simulated Core in real time: our DfuSe host versus dfu-util, both through the libusb shim; wall times and ratio (target <= 0.5)");
        command.Options.Add(config);
        command.Options.Add(tool);
        command.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            if (!ConfigLoading.TryLoad(pr.GetValue(config)!, pr.InvocationConfiguration.Error, out var rig)) return ExitCodes.BadInput;
            return await DfuUtilBench.RunAsync(rig, pr.GetValue(tool), pr.InvocationConfiguration.Output, pr.InvocationConfiguration.Error, ct);
        });
        return command;
    }

    private static Command Dfu()
    {
        var config = CommonOptions.Config();
        var command = new Command("dfu", "DFU readback device time on a simulated Core against the timing model's physical floor (erase + program + USB transfer)");
        command.Options.Add(config);
        command.SetAction((ParseResult pr, CancellationToken ct) =>
        {
            if (!ConfigLoading.TryLoad(pr.GetValue(config)!, pr.InvocationConfiguration.Error, out var rig)) return Task.FromResult(ExitCodes.BadInput);
            DfuBench.Run(rig, pr.InvocationConfiguration.Output);
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
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
