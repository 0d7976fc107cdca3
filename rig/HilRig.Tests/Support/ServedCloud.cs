using HilRig.Cli.Serve;
using HilRig.Core.Cloud;
using HilRig.Core.Config;
using HilRig.Core.Serial;
using HilRig.Hardware.Cloud;
using HilRig.Sim.Device;

namespace HilRig.Tests.Cloud;

/// <summary>
/// A two-slot simulated rig served as `hilrig sim serve --cloud-port 0` serves it: the real-time clock (at
/// <see cref="Speed"/>), its cloud's REST API on 127.0.0.1 on a port Kestrel chose, and clients of it.
/// </summary>
internal sealed class ServedCloud : IAsyncDisposable
{
    /// <summary>As the other served-rig tests: fast, but an HTTP round trip stays a few simulated milliseconds.</summary>
    public const double Speed = 10;

    public const string Token = "0123456789abcdef0123456789abcdef01234567";

    private static int s_counter;

    private ServedCloud(SimServeHost host) => Host = host;

    public SimServeHost Host { get; }

    public Composition.RigSession Session => Host.Session;

    public Uri Url => Host.Cloud!.Url;

    /// <param name="simLines">Extra lines for the sim: section, e.g. "  cloud: { latencyMs: 60000 }".</param>
    public static ServedCloud Start(params string[] simLines)
    {
        var dir = Path.Combine(Path.GetTempPath(), "hilrig-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "rig-config.yaml");
        File.WriteAllText(path, $$"""
            rigId: cloud-rig
            backend: sim
            results: { kind: sqlite, path: results/hilrig.db }
            slots:
              - { slot: 1, power: { gpio: 5 }, mode: { expander: 0x20, pin: 0 }, reset: { expander: 0x20, pin: 8 }, usb: { hub: "1-1", port: 1 }, sensor: { mux: 0x70, channel: 0 } }
              - { slot: 2, power: { gpio: 6 }, mode: { expander: 0x20, pin: 1 }, reset: { expander: 0x20, pin: 9 }, usb: { hub: "1-1", port: 2 }, sensor: { mux: 0x70, channel: 1 } }
            sim:
              seed: 42
            {{string.Concat(simLines.Select(l => l + "\n"))}}
            """);
        var n = Interlocked.Increment(ref s_counter);
        var host = SimServeHost.Start(RigConfigLoader.Load(path, _ => null), new SimServeOptions
        {
            UsbSocket = Path.Combine(Path.GetTempPath(), $"hilrig-cu{Environment.ProcessId}-{n}.sock"),
            ControlSocket = Path.Combine(Path.GetTempPath(), $"hilrig-cc{Environment.ProcessId}-{n}.sock"),
            Speed = Speed,
            CloudPort = 0,
            CloudToken = Token,
        });
        return new ServedCloud(host);
    }

    public VirtualCore Core(int slot) => Session.Sim!.Slot(slot).Core;

    /// <summary>A client of the served cloud; device info is asked afresh every time unless told otherwise.</summary>
    public ParticleCloudClient Client(string token = Token, TimeSpan? requestTimeout = null, TimeSpan? flashTimeout = null) =>
        new(new CloudSettings(Url, token, requestTimeout ?? TimeSpan.FromSeconds(10), flashTimeout ?? TimeSpan.FromSeconds(30)))
        {
            DeviceInfoMaxAge = TimeSpan.Zero,
        };

    /// <summary>An HttpClient for looking at the wire itself.</summary>
    public HttpClient Raw(string? token = Token)
    {
        var http = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(10) };
        if (token is not null) http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    /// <summary>Gives the slot's Core the rig's Wi-Fi and powers it on; returns its device id once the cloud has it online.</summary>
    public async Task<string> ConnectAsync(int slot)
    {
        var core = Core(slot);
        await Session.RunAsync(() =>
        {
            var wifi = WifiCredentials.RigNetwork;
            core.Nvmem.Add(wifi.Ssid, (int)wifi.Security, wifi.Password);
            Session.Slot(slot).Control.SetPower(true);
            return Task.CompletedTask;
        });
        var online = await WaitUntilAsync(() => Session.Sim!.Cloud.GetDevice(core.DeviceId) is { Connected: true }, TimeSpan.FromSeconds(30));
        Assert.That(online, Is.True, $"slot {slot} never reached the cloud: {string.Join(" | ", core.History)}");
        return core.DeviceId;
    }

    public Task SetPowerAsync(int slot, bool on) => Session.RunAsync(() =>
    {
        Session.Slot(slot).Control.SetPower(on);
        return Task.CompletedTask;
    });

    /// <summary>Polls simulated state on the simulation thread every 50 ms of simulated time; false at the (simulated) timeout.</summary>
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

    /// <summary>Polls a client-side condition every 20 ms of wall time, at most <paramref name="limit"/>.</summary>
    public static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan limit)
    {
        var start = TimeProvider.System.GetTimestamp();
        while (!await condition())
        {
            if (TimeProvider.System.GetElapsedTime(start) > limit) return false;
            await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System);
        }
        return true;
    }

    public static string Describe(IEnumerable<CloudEvent> events) => string.Join(", ", events.Select(e => $"{e.Name} {e.Data}"));

    public ValueTask DisposeAsync() => Host.DisposeAsync();
}
