using HilRig.Cli.Serve;
using HilRig.Core.Slots;
using HilRig.Sim.Device;

namespace HilRig.Tests.Hardware;

/// <summary>
/// The whole simulated rig served in-process in real time, as `hilrig sim serve` serves it: real tools reach its
/// virtual USB bus through the libusb shim; the test drives buttons and inspects Cores through the session.
/// </summary>
internal sealed class ServedRig : IAsyncDisposable
{
    private static int s_counter;

    private ServedRig(SimServeHost host, string folder)
    {
        Host = host;
        Folder = folder;
    }

    public SimServeHost Host { get; }

    /// <summary>A temp folder for the test's files (images, readbacks).</summary>
    public string Folder { get; }

    public string UsbSocket => Host.Usb.SocketPath;

    public Composition.RigSession Session => Host.Session;

    /// <param name="coreLines">sim.cores of the rig config (TestRigs.DefaultCores).</param>
    /// <param name="speed">Simulated seconds per wall second; the tools' own sleeps stay wall-clock, the device only gets faster than them.</param>
    /// <param name="configure">More of `sim serve`'s options: serial ptys, the cloud, a state folder, an operator.</param>
    public static ServedRig Start(string[] coreLines, double speed, Func<SimServeOptions, SimServeOptions>? configure = null)
    {
        var config = TestRigs.Load(coreLines);
        var folder = Path.GetDirectoryName(config.SourcePath)!;
        var n = Interlocked.Increment(ref s_counter);
        var options = new SimServeOptions
        {
            // short paths: a Unix socket path holds 107 bytes
            UsbSocket = Path.Combine(Path.GetTempPath(), $"hilrig-r{Environment.ProcessId}-{n}.sock"),
            ControlSocket = Path.Combine(Path.GetTempPath(), $"hilrig-c{Environment.ProcessId}-{n}.sock"),
            Speed = speed,
        };
        var host = SimServeHost.Start(config, configure is null ? options : configure(options));
        return new ServedRig(host, folder);
    }

    /// <summary>The rig served for real tools through the libusb shim (built first if need be), <paramref name="dfuSlots"/> put in DFU by their buttons.</summary>
    public static async Task<ServedRig> StartForToolsAsync(string[] coreLines, double speed, params int[] dfuSlots)
    {
        _ = Shim.LibraryPath;
        var rig = Start(coreLines, speed);
        try
        {
            foreach (var slot in dfuSlots) await rig.EnterDfuAsync(slot);
            return rig;
        }
        catch
        {
            await rig.DisposeAsync();
            throw;
        }
    }

    public VirtualCore Core(int slot) => Session.Sim!.Slot(slot).Core;

    public RigSlot Slot(int slot) => Session.Slot(slot);

    public Task EnterDfuAsync(int slot) =>
        Session.RunAsync(() => Choreography.EnterDfuAsync(Session.Slot(slot), Session.Usb, Session.Time));

    /// <summary>Reads simulated state on the simulation thread.</summary>
    public Task<T> OnSimAsync<T>(Func<T> read) => Session.RunAsync(() => Task.FromResult(read()));

    /// <summary>Waits (in simulated time, polling every 50 ms) until <paramref name="condition"/> holds; false on timeout.</summary>
    public Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan timeout) => Session.RunAsync(async () =>
    {
        var start = Session.Time.GetTimestamp();
        while (!condition())
        {
            if (Session.Time.GetElapsedTime(start) > timeout) return false;
            await Task.Delay(TimeSpan.FromMilliseconds(50), Session.Time);
        }
        return true;
    });

    public Task<ExternalToolRun.Result> RunAsync(string tool, params string[] args) =>
        ExternalToolRun.ThroughShimAsync(tool, UsbSocket, args);

    public string File(string name) => Path.Combine(Folder, name);

    public ValueTask DisposeAsync() => Host.DisposeAsync();
}
