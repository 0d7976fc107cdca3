using System.Diagnostics;
using HilRig.Cli.Commands;
using HilRig.Cli.Serve;
using HilRig.Core.Config;
using HilRig.Core.Dfu;
using HilRig.Core.Slots;
using HilRig.Hardware.Usb;

namespace HilRig.Cli.Bench;

/// <summary>
/// `hilrig bench dfu-util`: one 128 KiB region at 0x20000 written (erase + download) and read back on one simulated
/// Core running in real time, by dfu-util and by our DfuSe host, both through the libusb shim on the same served
/// rig. dfu-util sleeps the full bwPollTimeout after every status and sets the address before every 1 KiB chunk; our
/// host sets it once per run and lets the Core NAK while it is busy (spark-core.md §4.1), so it waits only as long
/// as the flash really takes.
/// </summary>
internal static class DfuUtilBench
{
    public const uint Address = 0x20000;
    public const int Length = 128 * 1024;
    public const double TargetRatio = 0.5;

    public sealed record Leg(string Host, TimeSpan Write, TimeSpan Read, bool ReadBackMatches)
    {
        public TimeSpan Total => Write + Read;
    }

    public sealed record Figures(Leg DfuUtil, Leg Ours)
    {
        public double Ratio => Ours.Total / DfuUtil.Total;

        public bool MeetsTarget => DfuUtil.ReadBackMatches && Ours.ReadBackMatches && Ratio <= TargetRatio;
    }

    public static async Task<int> RunAsync(RigConfig config, string? dfuUtilPath, TextWriter output, TextWriter error, CancellationToken ct)
    {
        var dfuUtil = dfuUtilPath ?? FindTool("dfu-util");
        if (dfuUtil is null || !File.Exists(dfuUtil))
        {
            error.WriteLine($"hilrig: dfu-util not found{(dfuUtilPath is null ? " on PATH" : $" at {dfuUtilPath}")} (run scripts/setup.sh or apt-get install dfu-util)");
            return ExitCodes.RigFault;
        }
        var shim = Path.Combine(SimCommand.ShimDirectory, LibUsbNative.DefaultLibraryName);
        if (!File.Exists(shim))
        {
            error.WriteLine($"hilrig: the libusb shim is missing: {shim} (build rig/HilRig.Hardware, which runs rig/HilRig.UsbShim/build.sh)");
            return ExitCodes.RigFault;
        }

        var folder = Path.Combine(Path.GetTempPath(), $"hilrig-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(folder);
        try
        {
            await using var host = SimServeHost.Start(config, new SimServeOptions
            {
                UsbSocket = Path.Combine(folder, "usb.sock"),
                ControlSocket = Path.Combine(folder, "control.sock"),
                Speed = 1.0,
            });
            var session = host.Session;
            var slot = session.Slots[0];
            output.WriteLine($"write + read back {Length / 1024} KiB at 0x{Address:X5}, SPI flash of the simulated Core in {slot}, real time, both hosts through the libusb shim");
            await session.RunAsync(() => Choreography.EnterDfuAsync(slot, session.Usb, session.Time, ct));

            var theirs = await DfuUtilLegAsync(dfuUtil, host.Usb.SocketPath, slot.UsbPath, folder, ct);
            var ours = await OurLegAsync(shim, host.Usb.SocketPath, slot.UsbPath, ct);
            var figures = new Figures(theirs, ours);

            output.WriteLine($"{"host",-10} {"write",9} {"read",9} {"total",9}  read back");
            foreach (var leg in new[] { theirs, ours })
                output.WriteLine($"{leg.Host,-10} {leg.Write.TotalSeconds,7:0.000} s {leg.Read.TotalSeconds,7:0.000} s {leg.Total.TotalSeconds,7:0.000} s  {(leg.ReadBackMatches ? "identical" : "DIFFERENT")}");
            output.WriteLine($"ratio ours/dfu-util: {figures.Ratio:0.000} (target <= {TargetRatio:0.0}): {(figures.MeetsTarget ? "met" : "NOT met")}");
            return figures.MeetsTarget ? ExitCodes.Ok : ExitCodes.DutFailed;
        }
        catch (Exception ex) when (ex is Core.Usb.UsbException or DfuException or ChoreographyException or IOException or InvalidOperationException)
        {
            error.WriteLine($"hilrig: bench dfu-util: {ex.Message}");
            return ExitCodes.RigFault;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Seeded bytes: same pattern every run; each host writes its own so a readback never sees the other's data.</summary>
    private static byte[] Pattern(int seed)
    {
        var data = new byte[Length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static async Task<Leg> DfuUtilLegAsync(string dfuUtil, string socket, string usbPath, string folder, CancellationToken ct)
    {
        var data = Pattern(1);
        var image = Path.Combine(folder, "image.bin");
        var back = Path.Combine(folder, "back.bin");
        await File.WriteAllBytesAsync(image, data, ct);
        // -p pins the one Core under test; otherwise the seed thread's commands as they are.
        var write = await RunToolAsync(dfuUtil, socket, ct, "-d", "1d50:607f", "-p", usbPath, "-a", "1", "-s", $"0x{Address:X8}", "-D", image);
        var read = await RunToolAsync(dfuUtil, socket, ct, "-d", "1d50:607f", "-p", usbPath, "-a", "1", "-s", $"0x{Address:X8}:{Length}", "-U", back);
        var matches = File.Exists(back) && (await File.ReadAllBytesAsync(back, ct)).AsSpan().SequenceEqual(data);
        return new Leg("dfu-util", write, read, matches);
    }

    private static async Task<TimeSpan> RunToolAsync(string tool, string socket, CancellationToken ct, params string[] args)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["LD_LIBRARY_PATH"] = SimCommand.ShimDirectory;
        start.Environment[SocketUsbBus.SocketPathVariable] = socket;
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {tool}");
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        var elapsed = clock.Elapsed;
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{tool} {string.Join(' ', args)} exited {process.ExitCode}: {(await stderr).Trim()} {(await stdout).Trim().Split('\n')[^1]}");
        return elapsed;
    }

    private static async Task<Leg> OurLegAsync(string shim, string socket, string usbPath, CancellationToken ct)
    {
        var data = Pattern(2);
        UsbShimSocket.Use(socket);
        using var bus = LibUsbBus.Open(shim);
        // This thread blocks in the shim while the server runs each request on the simulation thread: the wall clock here.
        var clock = Stopwatch.StartNew();
        using var dfu = await DfuSeHost.OpenAsync(bus, usbPath, TimeProvider.System, ct: ct);
        await dfu.SelectAltAsync(1, ct);
        await dfu.DownloadAsync(Address, data, new DfuDownloadOptions { Erase = true }, ct: ct);
        var write = clock.Elapsed;
        clock.Restart();
        var back = await dfu.UploadAsync(Address, Length, ct: ct);
        return new Leg("hilrig", write, clock.Elapsed, back.AsSpan().SequenceEqual(data));
    }

    private static string? FindTool(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/local/bin", "/usr/bin", "/usr/local/sbin", "/usr/sbin"])
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
}
