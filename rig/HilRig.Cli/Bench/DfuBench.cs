using HilRig.Composition;
using HilRig.Core.Config;
using HilRig.Core.Dfu;
using HilRig.Core.Procedures;
using HilRig.Core.Slots;
using HilRig.Sim.Usb;

namespace HilRig.Cli.Bench;

/// <summary>
/// `hilrig bench dfu`: the DFU readback of the factory, backup and OTA regions on one simulated Core, its device time
/// against the physical floor of the timing model: every sector erase, every AAI word programmed and every 1 KiB
/// USB transfer the procedure needs, back to back, with nothing else (no polling, no command overhead, no SPI reads).
/// </summary>
internal static class DfuBench
{
    public sealed record Figures(string Condition, TimeSpan DeviceTime, TimeSpan Floor, TimeSpan EraseFloor, TimeSpan ProgramFloor, TimeSpan UsbFloor, string Stats, TimeSpan Wall)
    {
        public double Ratio => DeviceTime / Floor;
    }

    public static IReadOnlyList<Figures> Run(RigConfig config, TextWriter output)
    {
        var results = new List<Figures>();
        foreach (var (label, condition) in new (string, Core.Config.FlashCondition)[]
                 {
                     ("healthy", Core.Config.FlashCondition.Healthy),
                     ("slow x3", new Core.Config.FlashCondition.Slow(3)),
                 })
        {
            var cores = config.Sim.Cores.Select(c => c.Slot == config.Slots[0].Number ? c with { Flash = condition } : c).ToList();
            var rig = config with { Sim = config.Sim with { Cores = cores } };
            results.Add(Measure(rig, label));
        }

        output.WriteLine("DFU readback of factory + backup + OTA (3 x 128 KiB), one Core, simulated device time");
        output.WriteLine($"{"chip",-9} {"device time",12} {"floor",8} {"ratio",6} {"erase",7} {"program",8} {"usb",6} {"wall",7}  host stats");
        foreach (var f in results)
            output.WriteLine($"{f.Condition,-9} {f.DeviceTime.TotalSeconds,10:0.000} s {f.Floor.TotalSeconds,6:0.00} s {f.Ratio,6:0.00} {f.EraseFloor.TotalSeconds,5:0.00} s {f.ProgramFloor.TotalSeconds,6:0.00} s {f.UsbFloor.TotalSeconds,4:0.00} s {f.Wall.TotalMilliseconds,5:0} ms  {f.Stats}");
        return results;
    }

    private static Figures Measure(RigConfig config, string label)
    {
        var wall = System.Diagnostics.Stopwatch.StartNew();
        using var session = RigSession.Open(config);
        var slot = session.Slots[0];
        var chip = session.Sim!.Slot(slot.Number).Core.Chip;
        var (result, stats) = session.RunAsync(async () =>
        {
            await Choreography.EnterDfuAsync(slot, session.Usb, session.Time);
            using var dfu = await DfuSeHost.OpenAsync(session.Usb, slot.UsbPath, session.Time);
            var deviceId = session.Sim.Slot(slot.Number).Core.DeviceId;
            var readback = await new DfuReadback(session.Time).RunAsync(dfu, deviceId);
            return (readback, dfu.Stats);
        }).GetAwaiter().GetResult();

        // The floor counts the procedure's own work: 2 erases and 2 programming passes of each region, and its
        // uploads/downloads in 1 KiB transfers.
        var erase = chip.SectorEraseTime * stats.Erases;
        var program = chip.WordProgramTime * (stats.BytesDownloaded / 2);
        var transfers = (stats.BytesUploaded + stats.BytesDownloaded) / 1024;
        var usb = UsbTimingModel.FullSpeed.TransferTime(1024) * transfers;
        return new Figures(label, result.DeviceTime, erase + program + usb, erase, program, usb, stats.ToString(), wall.Elapsed);
    }
}
