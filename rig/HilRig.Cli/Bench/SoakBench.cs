using System.Diagnostics;
using System.Globalization;
using HilRig.Cli.Commands;
using HilRig.Composition;
using HilRig.Core.Config;
using HilRig.Core.Procedures;
using HilRig.Core.Slots;

namespace HilRig.Cli.Bench;

/// <summary>
/// `hilrig bench soak`: the soak `hilrig soak` runs (same plan, same engine, no store, no progress drawing) on a fresh
/// simulated rig; device time against wall time. Device time is what the slots lived through, summed over slots
/// (a real rack runs its slots in parallel, so the night it stands for is the virtual clock's advance).
/// </summary>
internal static class SoakBench
{
    public sealed record Figures(
        int Slots, int Cycles, int EveryReadback, bool ObserveLeds, string Bootloader, int Rows, int Failures, long CyclesJudged,
        TimeSpan DeviceTimeSummed, TimeSpan VirtualElapsed, TimeSpan Wall, TimeSpan Cpu, long PeakWorkingSet)
    {
        public double DevicePerWall => DeviceTimeSummed / Wall;

        public double VirtualPerWall => VirtualElapsed / Wall;
    }

    /// <summary>The issue's target for 100 cycles on 8 slots on a 2-core machine.</summary>
    public static readonly TimeSpan Target = TimeSpan.FromSeconds(60);

    public static async Task<int> RunAsync(RigConfig config, int cycles, string? slotSpec, int everyReadback, bool observeLeds, TextWriter output, TextWriter err, CancellationToken ct)
    {
        if (config.Backend != RigBackend.Sim)
        {
            err.WriteLine($"hilrig: bench soak runs on the simulator; {config.SourcePath} has backend: pi");
            return ExitCodes.BadInput;
        }
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        using var session = RigSession.Open(config, observeLeds ? new RigSessionOptions() : new RigSessionOptions { ObserveLeds = false, CalibrateAtOpen = false });
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
        var virtualStart = session.Sim!.Scheduler.Time.Elapsed;
        var plan = SoakCommand.PlanFor(config, cycles, everyReadback, null);
        var result = await session.RunAsync(() => new SoakRunner(session.Life, plan).RunAsync(selected, null, ct));
        var virtualElapsed = session.Sim.Scheduler.Time.Elapsed - virtualStart;
        wall.Stop();
        process.Refresh();
        var f = new Figures(
            selected.Count, cycles, everyReadback, observeLeds, config.Sim.Bootloader.ToString(), result.Rows.Count, result.Failures, result.Cycles,
            TimeSpan.FromTicks(result.Rows.Sum(r => r.DeviceTime.Ticks)), virtualElapsed, wall.Elapsed,
            process.TotalProcessorTime - cpuBefore, process.PeakWorkingSet64);
        Print(f, output);
        return ExitCodes.Ok;
    }

    private static void Print(Figures f, TextWriter output)
    {
        var c = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(c, $"soak bench: {f.Cycles} cycles x {f.Slots} slots, {f.Bootloader}{(f.EveryReadback > 0 ? $", DFU readback every {f.EveryReadback} cycles" : "")}{(f.ObserveLeds ? ", LEDs observed" : "")}, {Environment.ProcessorCount} CPU(s)"));
        output.WriteLine(string.Create(c, $"  rows {f.Rows}, cycles judged {f.CyclesJudged}, failures {f.Failures}"));
        output.WriteLine(string.Create(c, $"  device time  {f.DeviceTimeSummed.TotalHours,8:0.00} h summed over slots ({f.DeviceTimeSummed.TotalSeconds / Math.Max(1, f.CyclesJudged):0.0} s per cycle)"));
        output.WriteLine(string.Create(c, $"  virtual clock{f.VirtualElapsed.TotalHours,8:0.00} h (the slots in parallel)"));
        output.WriteLine(string.Create(c, $"  wall         {f.Wall.TotalSeconds,8:0.0} s, CPU {f.Cpu.TotalSeconds:0.0} s, peak working set {f.PeakWorkingSet / (1024 * 1024)} MiB"));
        output.WriteLine(string.Create(c, $"  device/wall  {f.DevicePerWall,8:0}x (virtual clock/wall {f.VirtualPerWall:0}x)"));
        if (f.Cycles == 100 && f.Slots == 8 && !f.ObserveLeds)
            output.WriteLine(string.Create(c, $"  target: under {Target.TotalSeconds:0} s wall for 100 cycles on 8 slots: {(f.Wall < Target ? "met" : "NOT met")}"));
    }
}
