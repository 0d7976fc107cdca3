using HilRig.Core.Spark;
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
        bench.Subcommands.Add(Lots());
        bench.Subcommands.Add(Cloud());
        bench.Subcommands.Add(Soak());
        bench.Subcommands.Add(Bench.ChaosBench.Command());
        bench.Subcommands.Add(SyncBench.Command());
        bench.Subcommands.Add(FleetPagesBench.Command());
        bench.Subcommands.Add(PagesBench.Command());
        bench.Subcommands.Add(CampaignDecisionBench.Command());
        bench.Subcommands.Add(StationBench.Command());
        bench.Subcommands.Add(CampaignQueueBench.Command());
        return bench;
    }

    private static Command Soak()
    {
        var config = CommonOptions.Config();
        var cycles = new Option<int>("--cycles") { Description = "cycles per slot (1..100000)", DefaultValueFactory = _ => 100 };
        var slots = CommonOptions.Slots("slots to soak");
        var everyReadback = new Option<int>("--every-readback") { Description = "every K-th cycle ends with a DFU readback (0 = none)", DefaultValueFactory = _ => 0 };
        var observeLeds = new Option<bool>("--observe-leds") { Description = "sample every slot's LED through the simulated sensors, as `soak --observe-leds`" };
        var command = new Command("soak", "The soak of `hilrig soak --cycles N` on a fresh simulated rig: device time against wall time (target: 100 cycles on 8 slots in under 60 s)");
        command.Options.Add(config);
        command.Options.Add(observeLeds);
        command.Options.Add(cycles);
        slots.AddTo(command);
        command.Options.Add(everyReadback);
        command.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var error = pr.InvocationConfiguration.Error;
            var n = pr.GetValue(cycles);
            if (n is < 1 or > 100_000)
            {
                error.WriteLine($"hilrig: --cycles {n}: valid: 1..100000");
                return ExitCodes.BadInput;
            }
            var k = pr.GetValue(everyReadback);
            if (k is < 0 or > 100_000)
            {
                error.WriteLine($"hilrig: --every-readback {k}: valid: 0..100000 (0 = no readback)");
                return ExitCodes.BadInput;
            }
            if (!ConfigLoading.TryLoad(pr.GetValue(config)!, error, out var rig)) return ExitCodes.BadInput;
            return await SoakBench.RunAsync(rig, n, slots.Get(pr), k, pr.GetValue(observeLeds), pr.InvocationConfiguration.Output, error, ct);
        });
        return command;
    }

    private static Command Cloud()
    {
        var config = CommonOptions.Config();
        var speed = new Option<double>("--speed") { Description = "simulated seconds per wall-clock second (1 = real time)", DefaultValueFactory = _ => 1.0 };
        var size = new Option<int>("--size") { Description = "app image size in bytes", DefaultValueFactory = _ => Core.Spark.SparkAppImageGenerator.DefaultSize };
        var command = new Command("cloud", "One OTA through the Particle REST client and the simulated cloud served on 127.0.0.1, in real time: wall times of Update started, flash success and the new app online, against the in-process cloud's device time");
        command.Options.Add(config);
        command.Options.Add(speed);
        command.Options.Add(size);
        command.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var error = pr.InvocationConfiguration.Error;
            var speedValue = pr.GetValue(speed);
            if (!(speedValue > 0) || double.IsInfinity(speedValue))
            {
                error.WriteLine($"hilrig: --speed {speedValue.ToString(System.Globalization.CultureInfo.InvariantCulture)}: must be a positive number (1 = real time)");
                return ExitCodes.BadInput;
            }
            var sizeValue = pr.GetValue(size);
            if (sizeValue is < Core.Spark.SparkAppImageGenerator.MinSize or > Core.Spark.SparkMemoryMap.AppMaxSize)
            {
                error.WriteLine($"hilrig: --size {sizeValue}: valid: {Core.Spark.SparkAppImageGenerator.MinSize}..{Core.Spark.SparkMemoryMap.AppMaxSize} bytes");
                return ExitCodes.BadInput;
            }
            if (!ConfigLoading.TryLoad(pr.GetValue(config)!, error, out var rig)) return ExitCodes.BadInput;
            return await CloudBench.RunAsync(rig, speedValue, sizeValue, pr.InvocationConfiguration.Output, error, ct);
        });
        return command;
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
        var model = new Option<string>("--model") { Description = "Which model's traces: both, project or independent", DefaultValueFactory = _ => "both" };
        model.AcceptOnlyFromAmong("both", "project", "independent");
        var command = new Command("led", "Labelled LED traces from the project's and an independent optics model, classified side by side: accuracy per state and condition, confusion matrix, transition error, CPU cost for 16 slots");
        command.Options.Add(seed);
        command.Options.Add(quick);
        command.Options.Add(model);
        command.SetAction((ParseResult pr, CancellationToken ct) =>
        {
            var report = LedBench.Run(pr.GetValue(seed), pr.GetValue(quick), Console.Out, pr.GetValue(model)!);
            return Task.FromResult(report.MeetsTargets ? ExitCodes.Ok : ExitCodes.DutFailed);
        });
        return command;
    }

    private static Command Lots()
    {
        var results = new Option<long>("--results") { Description = "results in the benchmark store", DefaultValueFactory = _ => 10_000_000 };
        var lots = new Option<int>("--lots") { Description = "chip lots", DefaultValueFactory = _ => 40 };
        var cache = new Option<DirectoryInfo?>("--cache") { Description = "folder for the generated store, reused by later runs (default: $XDG_CACHE_HOME/hilrig or ~/.cache/hilrig)" };
        var command = new Command("lots", "Failure rate by lot query (< 200 ms) and the lots page (< 500 ms) over a store of 10 million results");
        command.Options.Add(results);
        command.Options.Add(lots);
        command.Options.Add(cache);
        command.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var figures = await LotsBench.RunAsync(pr.GetValue(results), pr.GetValue(lots), pr.GetValue(cache)?.FullName ?? LotsBench.DefaultCache(), pr.InvocationConfiguration.Output, ct);
            return figures.MeetsTargets ? ExitCodes.Ok : ExitCodes.DutFailed;
        });
        return command;
    }
}
