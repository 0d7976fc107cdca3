using HilRig.Core.Spark;
using System.Diagnostics;
using System.Globalization;
using HilRig.Cli.Commands;
using HilRig.Cli.Serve;
using HilRig.Composition;
using HilRig.Core.Cloud;
using HilRig.Core.Config;
using HilRig.Core.Serial;
using HilRig.Hardware.Cloud;
using HilRig.Sim.Device.Firmware;

namespace HilRig.Cli.Bench;

/// <summary>
/// `hilrig bench cloud`: one OTA of a generated app to the first slot's simulated Core through the Particle REST
/// client and the served cloud on 127.0.0.1, the rig on the real-time clock; wall times of the PUT's "Update started",
/// the spark/flash/status success and the new app back online, against the same flash on the in-process cloud in
/// virtual (device) time. Also the device-info round trip over HTTP.
/// </summary>
internal static class CloudBench
{
    public const int RoundTrips = 200;

    public sealed record Marks(TimeSpan Started, TimeSpan Success, TimeSpan Online);

    public static async Task<int> RunAsync(RigConfig config, double speed, int size, TextWriter output, TextWriter error, CancellationToken ct)
    {
        var image = SparkAppImageGenerator.Generate(7, "bench", "1.0.0", size);
        const string app = "bench 1.0.0";
        var folder = Path.Combine(Path.GetTempPath(), $"hilrig-bench-cloud-{Environment.ProcessId}");
        Directory.CreateDirectory(folder);
        try
        {
            var device = await InProcessAsync(config, image, app, ct);

            await using var host = SimServeHost.Start(config, new SimServeOptions
            {
                UsbSocket = Path.Combine(folder, "usb.sock"),
                ControlSocket = Path.Combine(folder, "control.sock"),
                Speed = speed,
                CloudPort = 0,
            });
            var session = host.Session;
            var slot = session.Slots[0];
            var id = session.Sim!.Slot(slot.Number).Core.DeviceId;
            using var client = new ParticleCloudClient(new CloudSettings(host.Cloud!.Url, host.CloudToken!, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(120)))
            {
                DeviceInfoMaxAge = TimeSpan.Zero,
            };
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"OTA of {image.Length} bytes ({(image.Length + 255) / 256} chunks) to the simulated Core in {slot} through {host.Cloud.Url} at speed x{speed}"));

            await session.RunAsync(() => PowerOnWithWifiAsync(session, slot.Number));
            var limit = TimeSpan.FromSeconds(120 / speed + 30);
            if (!await WallUntilAsync(async () => await client.GetDeviceAsync(id, ct) is { Connected: true }, limit, ct))
                throw new InvalidOperationException($"the Core in {slot} never came online on the served cloud");

            var trips = new List<double>();
            for (var i = 0; i < RoundTrips; i++)
            {
                var t = Stopwatch.StartNew();
                await client.GetDeviceAsync(id, ct);
                trips.Add(t.Elapsed.TotalMilliseconds);
            }
            trips.Sort();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"GET /v1/devices/:id round trip: median {trips[trips.Count / 2]:0.00} ms, p95 {trips[trips.Count * 95 / 100]:0.00} ms ({RoundTrips} requests)"));

            await client.WatchEventsAsync(id, ct);
            var clock = Stopwatch.StartNew();
            var reply = await client.FlashAsync(id, image, ct);
            var started = clock.Elapsed;
            if (!reply.Ok) throw new InvalidOperationException($"the served cloud did not start the update: {reply.Status}");
            if (!await WallUntilAsync(() => Task.FromResult(client.Events(id).Any(e => e.Name == CloudEvent.FlashStatus && e.Data.StartsWith("success", StringComparison.Ordinal))), limit, ct))
                throw new InvalidOperationException($"no spark/flash/status success; events: {string.Join(", ", client.Events(id).Select(e => $"{e.Name} {e.Data}"))}");
            var success = clock.Elapsed;
            if (!await WallUntilAsync(async () => await client.GetDeviceAsync(id, ct) is { Connected: true, LastApp: app }, limit, ct))
                throw new InvalidOperationException($"the Core did not come back online running {app}");
            var online = clock.Elapsed;
            var http = new Marks(started, success, online);

            output.WriteLine($"{"",-34} {"started",9} {"success",9} {"online",9}");
            Row(output, $"HTTP, wall time (x{speed.ToString(CultureInfo.InvariantCulture)})", http);
            Row(output, "HTTP, as device time", new Marks(started * speed, success * speed, online * speed));
            Row(output, "in-process cloud, device time", device);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"HTTP overhead to online: {(online * speed - device.Online).TotalSeconds:+0.000;-0.000} s device time ({host.Cloud.RequestCount} requests served)"));
            return ExitCodes.Ok;
        }
        catch (Exception ex) when (ex is CloudException or InvalidOperationException or IOException or System.Net.Sockets.SocketException)
        {
            error.WriteLine($"hilrig: bench cloud: {ex.Message}");
            return ExitCodes.RigFault;
        }
        finally
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // a socket file left behind in the temp folder is harmless
            }
        }
    }

    private static void Row(TextWriter output, string name, Marks m) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name,-34} {m.Started.TotalSeconds,7:0.000} s {m.Success.TotalSeconds,7:0.000} s {m.Online.TotalSeconds,7:0.000} s"));

    /// <summary>The same flash on the simulator's own cloud in virtual time: the device time it takes without HTTP.</summary>
    private static async Task<Marks> InProcessAsync(RigConfig config, byte[] image, string app, CancellationToken ct)
    {
        using var session = RigSession.Open(config, new RigSessionOptions { ObserveLeds = false });
        var sim = session.Sim!;
        var number = session.Slots[0].Number;
        var id = sim.Slot(number).Core.DeviceId;
        return await session.RunAsync(async () =>
        {
            await PowerOnWithWifiAsync(session, number);
            var time = session.Time;
            var poll = TimeSpan.FromMilliseconds(10);
            while (sim.Cloud.GetDevice(id) is not { Connected: true }) await Task.Delay(poll, time, ct);
            var start = time.GetTimestamp();
            var reply = await sim.Cloud.FlashAsync(id, image, ct);
            if (!reply.Ok) throw new InvalidOperationException($"the in-process cloud did not start the update: {reply.Status}");
            var started = time.GetElapsedTime(start);
            while (!sim.Cloud.Events(id).Any(e => e.Name == CloudEvent.FlashStatus && e.Data.StartsWith("success", StringComparison.Ordinal)))
                await Task.Delay(poll, time, ct);
            var success = time.GetElapsedTime(start);
            while (sim.Cloud.GetDevice(id) is not { Connected: true, LastApp: var last } || last != app) await Task.Delay(poll, time, ct);
            return new Marks(started, success, time.GetElapsedTime(start));
        });
    }

    private static Task PowerOnWithWifiAsync(RigSession session, int slot)
    {
        var wifi = WifiCredentials.RigNetwork;
        session.Sim!.Slot(slot).Core.Nvmem.Add(wifi.Ssid, (int)wifi.Security, wifi.Password);
        session.Slot(slot).Control.SetPower(true);
        return Task.CompletedTask;
    }

    private static async Task<bool> WallUntilAsync(Func<Task<bool>> condition, TimeSpan limit, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        while (!await condition())
        {
            if (Stopwatch.GetElapsedTime(start) > limit) return false;
            await Task.Delay(TimeSpan.FromMilliseconds(5), TimeProvider.System, ct);
        }
        return true;
    }
}
