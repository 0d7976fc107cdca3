using HilRig.Core.Spark;
using System.Net;
using System.Net.Sockets;
using HilRig.Core.Cloud;
using HilRig.Core.Config;
using HilRig.Core.Procedures;
using HilRig.Hardware.Cloud;
using HilRig.Sim.Device.Firmware;

namespace HilRig.Tests.Cloud;

/// <summary>
/// The Particle REST client against the simulated cloud served over HTTP on 127.0.0.1 (`hilrig sim serve
/// --cloud-port`): flash, device info, the event stream, and the errors a rig meets (protocols.md §7).
/// </summary>
[NonParallelizable]
[Category("Integration")] // starts real tools, servers or child processes
public class ParticleCloudClientTests
{
    private static readonly byte[] NewApp = SparkAppImageGenerator.Generate(77, "blink", "2.0.0", 4096);

    [Test]
    public async Task A_flash_over_HTTP_starts_the_update_streams_started_then_success_and_the_Core_comes_back_on_the_new_app()
    {
        await using var served = ServedCloud.Start();
        using var client = served.Client();
        var id = await served.ConnectAsync(1);
        await client.WatchEventsAsync(id);
        var before = await client.GetDeviceAsync(id);
        Assert.That(before, Is.Not.Null);
        Assert.That(before!.Connected, Is.True);
        Assert.That(before.LastApp, Does.StartWith("tinker"));

        var reply = await client.FlashAsync(id, NewApp);

        Assert.That(reply, Is.EqualTo(new CloudFlashReply(true, "Update started")));
        var back = await ServedCloud.EventuallyAsync(async () =>
            client.Events(id).Any(e => e.Name == CloudEvent.FlashStatus && e.Data == "success")
            && await client.GetDeviceAsync(id) is { Connected: true, LastApp: "blink 2.0.0" }, TimeSpan.FromSeconds(60));
        var events = client.Events(id);
        Assert.That(back, Is.True, ServedCloud.Describe(events) + " | " + string.Join(" | ", served.Core(1).History));
        var flash = events.Where(e => e.Name == CloudEvent.FlashStatus).Select(e => e.Data).ToList();
        Assert.That(flash, Is.EqualTo(new[] { "started", "success" }));
        Assert.That(events.Select(e => e.CoreId), Is.All.EqualTo(id));
        Assert.That(events.Select(e => (e.Name, e.Data)), Is.SupersetOf(new[] { (CloudEvent.Status, "offline"), (CloudEvent.Status, "online") }),
            "the Core reset into the bootloader's OTA apply and came back");
        Assert.That(await served.Session.RunAsync(() => Task.FromResult(served.Core(1).RunningApp)), Is.EqualTo("blink 2.0.0"));
    }

    [Test]
    public async Task A_flash_to_a_powered_off_Core_is_the_clouds_Device_is_not_connected_with_HTTP_404()
    {
        await using var served = ServedCloud.Start();
        using var client = served.Client();
        var id = await served.ConnectAsync(2);
        await client.WatchEventsAsync(id);
        await served.SetPowerAsync(2, false);
        Assert.That(await ServedCloud.EventuallyAsync(async () => await client.GetDeviceAsync(id) is { Connected: false }, TimeSpan.FromSeconds(10)), Is.True);

        var reply = await client.FlashAsync(id, NewApp);

        Assert.That(reply.Ok, Is.False);
        Assert.That(reply.Status, Is.EqualTo("Device is not connected."));
        Assert.That(client.Events(id).Select(e => $"{e.Name} {e.Data}"), Does.Contain("spark/status offline"));
        using var raw = served.Raw();
        using var form = new MultipartFormDataContent { { new ByteArrayContent(NewApp), "file", "app.bin" }, { new StringContent("binary"), "file_type" } };
        using var response = await raw.PutAsync(new Uri($"v1/devices/{id}", UriKind.Relative), form);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("""{"ok":false,"error":"Device is not connected."}"""));
    }

    [Test]
    public async Task A_wrong_token_is_a_cloud_error_with_HTTP_401_and_the_clouds_invalid_token_message()
    {
        await using var served = ServedCloud.Start();
        using var client = served.Client(token: "not-the-token");
        var id = served.Core(1).DeviceId;

        var get = Assert.ThrowsAsync<CloudException>(() => client.GetDeviceAsync(id))!;
        var flash = Assert.ThrowsAsync<CloudException>(() => client.FlashAsync(id, NewApp))!;
        var watch = Assert.ThrowsAsync<CloudException>(() => client.WatchEventsAsync(id))!;

        foreach (var (e, method, path) in new[] { (get, "GET", $"v1/devices/{id}"), (flash, "PUT", $"v1/devices/{id}"), (watch, "GET", $"v1/devices/{id}/events") })
        {
            Assert.That(e.StatusCode, Is.EqualTo(401));
            Assert.That(e.CloudMessage, Is.EqualTo("The access token provided is invalid. (invalid_token)"));
            Assert.That(e.Message, Is.EqualTo($"{method} {served.Url}{path}: HTTP 401 The access token provided is invalid. (invalid_token); check cloud.token in the rig config or HILRIG_CLOUD_TOKEN"));
            Assert.That(e.Message, Does.Not.Contain("not-the-token"), "the token stays out of messages");
        }
        using var raw = served.Raw(token: null);
        using var missing = await raw.GetAsync(new Uri($"v1/devices/{id}", UriKind.Relative));
        Assert.That(missing.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await missing.Content.ReadAsStringAsync(), Does.Contain("\"error\":\"invalid_request\"").And.Contain("The access token was not found"));
    }

    [Test]
    public async Task A_device_the_cloud_never_saw_is_null_from_its_404()
    {
        await using var served = ServedCloud.Start();
        using var client = served.Client();

        Assert.That(await client.GetDeviceAsync("0123456789abcdef01234567"), Is.Null);

        using var raw = served.Raw();
        using var response = await raw.GetAsync(new Uri("v1/devices/0123456789abcdef01234567", UriKind.Relative));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("\"Oops, I couldn't find that core\""));
    }

    [Test]
    public async Task A_flash_whose_reply_comes_later_than_the_client_waits_is_a_timeout_naming_the_request_and_the_wait()
    {
        // a one-minute link: the Core's UpdateReady cannot come back in under two simulated minutes (12 s of wall time)
        await using var served = ServedCloud.Start("  cloud: { latencyMs: 60000 }");
        using var client = served.Client(flashTimeout: TimeSpan.FromSeconds(1));
        var id = await served.ConnectAsync(1);

        var e = Assert.ThrowsAsync<CloudTimeoutException>(() => client.FlashAsync(id, NewApp))!;

        Assert.That(e.Message, Does.StartWith($"PUT {served.Url}v1/devices/{id}: no answer within 1.0 s;"));
        Assert.That(e.Url, Is.EqualTo($"{served.Url}v1/devices/{id}"));
        Assert.That(e.Waited, Is.EqualTo(TimeSpan.FromSeconds(1)));
    }

    [Test]
    public async Task A_cloud_that_accepts_the_connection_but_never_answers_times_out_device_info_and_the_event_stream()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var held = new List<Socket>();
        var accepting = Task.Run(async () =>
        {
            try
            {
                while (true) held.Add(await silent.AcceptSocketAsync());
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // listener stopped
            }
        });
        var url = new Uri($"http://127.0.0.1:{port}/");
        using var client = new ParticleCloudClient(new CloudSettings(url, "t", TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(300)));

        var get = Assert.ThrowsAsync<CloudTimeoutException>(() => client.GetDeviceAsync("55ff6c065075555332071787"))!;
        var watch = Assert.ThrowsAsync<CloudTimeoutException>(() => client.WatchEventsAsync("55ff6c065075555332071787"))!;
        var flash = Assert.ThrowsAsync<CloudTimeoutException>(() => client.FlashAsync("55ff6c065075555332071787", NewApp))!;

        Assert.That(get.Message, Does.StartWith($"GET {url}v1/devices/55ff6c065075555332071787: no answer within 0.3 s; is the cloud up at http://127.0.0.1:{port}?"));
        Assert.That(watch.Message, Does.StartWith($"GET {url}v1/devices/55ff6c065075555332071787/events: no answer within 0.3 s (opening the event stream)"));
        Assert.That(flash.Message, Does.StartWith($"PUT {url}v1/devices/55ff6c065075555332071787: no answer within 0.3 s"));
        silent.Stop();
        await accepting;
        foreach (var s in held) s.Dispose();
    }

    [Test]
    public void Nothing_listening_is_a_cloud_error_that_says_the_cloud_cannot_be_reached()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        using var client = new ParticleCloudClient(new CloudSettings(new Uri($"http://127.0.0.1:{port}/"), "t", TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5)));

        var e = Assert.ThrowsAsync<CloudException>(() => client.GetDeviceAsync("55ff6c065075555332071787"))!;

        Assert.That(e, Is.Not.InstanceOf<CloudTimeoutException>());
        Assert.That(e.StatusCode, Is.Null);
        Assert.That(e.Message, Does.StartWith($"GET http://127.0.0.1:{port}/v1/devices/55ff6c065075555332071787: cannot reach the cloud: "));
    }

    [Test]
    public async Task The_served_event_stream_opens_with_ok_and_sends_each_matching_event_as_event_and_data_lines()
    {
        await using var served = ServedCloud.Start();
        using var raw = served.Raw();
        raw.Timeout = Timeout.InfiniteTimeSpan;
        // every device, name prefix spark/status (a prefix may hold slashes)
        using var response = await raw.GetAsync(new Uri("v1/devices/events/spark/status", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/event-stream"));
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Assert.That(await reader.ReadLineAsync(limit.Token), Is.EqualTo(":ok"));
        Assert.That(await reader.ReadLineAsync(limit.Token), Is.EqualTo(""));

        var id = await served.ConnectAsync(1);

        Assert.That(await reader.ReadLineAsync(limit.Token), Is.EqualTo("event: spark/status"));
        var data = await reader.ReadLineAsync(limit.Token);
        Assert.That(data, Does.Match($"^data: \\{{\"data\":\"online\",\"ttl\":\"60\",\"published_at\":\"\\d{{4}}-\\d\\d-\\d\\dT[0-9:.]+Z\",\"coreid\":\"{id}\"\\}}$"));
        Assert.That(await reader.ReadLineAsync(limit.Token), Is.EqualTo(""));
        var parsed = ParticleEvents.ToCloudEvent(new ServerSentEvent("spark/status", data!["data: ".Length..], null), "x", DateTimeOffset.MinValue);
        var cloudSide = await served.Session.RunAsync(() => Task.FromResult(served.Session.Sim!.Cloud.Events(id).Last()));
        Assert.That(parsed, Is.EqualTo(cloudSide), "the client reads back exactly what the cloud published, time included");
    }

    [Test]
    public async Task The_OTA_procedure_passes_with_the_HTTP_client_as_its_cloud()
    {
        await using var served = ServedCloud.Start();
        using var client = served.Client();
        var session = served.Session;
        var slot = session.Slot(1);

        var result = await session.RunAsync(async () =>
        {
            var id = await slot.Identity.ReadDeviceIdAsync();
            return await new Ota(new CoreLifeContext(session.Usb, session.Time, client)).RunAsync(slot, id!, NewApp, "blink 2.0.0");
        });
        TestContext.Out.WriteLine(result);
        TestContext.Out.WriteLine(string.Join("\n", result.Log));

        Assert.That(result.Verdict, Is.EqualTo(Verdict.Pass), result + "\n" + string.Join("\n", result.Log) + "\n" + string.Join("\n", served.Core(1).History));
        Assert.That(result.Signature, Does.StartWith("now running blink 2.0.0"));
        Assert.That(result.Log, Does.Contain("PUT: Update started"));
        Assert.That(result.Log.Single(l => l.StartsWith("cloud:", StringComparison.Ordinal)), Does.Contain("spark/flash/status started").And.Contain("spark/flash/status success"));
        Assert.That(result.Timeline, Does.Contain("fast flashing magenta").And.Contain("breathing cyan"), "the LED judged as on the simulator's own cloud");
        Assert.That(served.Host.Cloud!.RequestCount, Is.GreaterThan(2), "it went over HTTP");
    }

    [Test]
    public async Task With_a_wrong_token_the_OTA_is_a_rig_fault_cloud_error_not_a_failure_of_the_Core()
    {
        await using var served = ServedCloud.Start();
        using var client = served.Client(token: "wrong");
        var session = served.Session;
        var slot = session.Slot(2);
        var id = served.Core(2).DeviceId;

        var result = await session.RunAsync(() => new Ota(new CoreLifeContext(session.Usb, session.Time, client)).RunAsync(slot, id, NewApp, "blink 2.0.0"));

        Assert.That(result.Verdict, Is.EqualTo(Verdict.RigFault), result.ToString());
        Assert.That(result.FailureMode, Is.EqualTo(FailureModes.CloudError));
        Assert.That(result.Signature, Does.Contain("HTTP 401 The access token provided is invalid."));
    }
}
