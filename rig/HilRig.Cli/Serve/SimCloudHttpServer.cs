using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using HilRig.Core.Cloud;
using HilRig.Sim.Cloud;
using HilRig.Sim.Time;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HilRig.Cli.Serve;

/// <summary>
/// The simulated cloud behind the Particle REST API (protocols.md §7), on 127.0.0.1 only, as a local spark-server
/// would be: PUT /v1/devices/:id (multipart <c>file</c>), GET /v1/devices and /v1/devices/:id, and the SSE event
/// streams /v1/devices/:id/events[/prefix], /v1/devices/events[/prefix], /v1/events[/prefix]. Every request needs
/// the configured token (Bearer header or access_token); errors are the cloud's JSON bodies (§7.2). Every call onto
/// the <see cref="SimCloud"/> runs on the simulation thread; meant for a rig on the real-time clock
/// (`hilrig sim serve`), where the cloud's virtual time follows the wall clock.
/// </summary>
public sealed class SimCloudHttpServer : IAsyncDisposable
{
    /// <summary>spark-server sends a newline when nothing was sent for 9 s.</summary>
    public static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(9);

    /// <summary>Text as a Node server writes it: an apostrophe stays an apostrophe.</summary>
    private static readonly System.Text.Json.JsonSerializerOptions Json = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly SimCloud _cloud;
    private readonly SimScheduler _scheduler;
    private readonly string _token;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Subscriber> _subscribers = [];
    private readonly WebApplication _app;
    private int _disposed;
    private int _requests;

    private SimCloudHttpServer(SimCloud cloud, SimScheduler scheduler, string token, int port)
    {
        _cloud = cloud;
        _scheduler = scheduler;
        _token = token;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        // loopback only: the simulated cloud takes any binary from anyone holding the token
        builder.WebHost.UseUrls(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}"));
        builder.Logging.ClearProviders();
        _app = builder.Build();
        Map(_app);
    }

    /// <summary>The base URL clients use (HILRIG_CLOUD_URL), with the port Kestrel chose for port 0.</summary>
    public Uri Url { get; private set; } = new("http://127.0.0.1/");

    /// <summary>Requests the server answered, for the serve banner and tests.</summary>
    public int RequestCount => Volatile.Read(ref _requests);

    /// <summary>Binds 127.0.0.1:<paramref name="port"/> (0: any free port) and starts serving.</summary>
    public static async Task<SimCloudHttpServer> StartAsync(SimCloud cloud, SimScheduler scheduler, string token, int port = 0)
    {
        ArgumentNullException.ThrowIfNull(cloud);
        ArgumentNullException.ThrowIfNull(scheduler);
        ArgumentException.ThrowIfNullOrEmpty(token);
        var server = new SimCloudHttpServer(cloud, scheduler, token, port);
        try
        {
            // the cloud publishes on the simulation thread; subscribe there too
            await scheduler.RunAsync(() =>
            {
                cloud.Published += server.OnPublished;
                return Task.CompletedTask;
            });
            await server._app.StartAsync();
            var address = server._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                ?? throw new InvalidOperationException("the cloud server started without an address");
            server.Url = new Uri(address.TrimEnd('/') + "/");
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private void Map(WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            Interlocked.Increment(ref _requests);
            if (!await AuthorizedAsync(context)) return;
            await next(context);
        });
        app.MapGet("/v1/devices", ListDevicesAsync);
        app.MapGet("/v1/devices/events/{**prefix}", (HttpContext c, string? prefix) => StreamAsync(c, null, prefix));
        app.MapGet("/v1/events/{**prefix}", (HttpContext c, string? prefix) => StreamAsync(c, null, prefix));
        app.MapGet("/v1/devices/{id}/events/{**prefix}", (HttpContext c, string id, string? prefix) => StreamAsync(c, id, prefix));
        app.MapGet("/v1/devices/{id}", GetDeviceAsync);
        app.MapPut("/v1/devices/{id}", FlashAsync);
    }

    /// <summary>Bearer header or access_token query (spark-server's node-oauth2-server answers); 400 when absent, 401 when wrong.</summary>
    private async Task<bool> AuthorizedAsync(HttpContext context)
    {
        string? given = null;
        var header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) given = header["Bearer ".Length..].Trim();
        else if (context.Request.Query.TryGetValue("access_token", out var query)) given = query.ToString();
        if (string.IsNullOrEmpty(given))
        {
            await WriteJsonAsync(context, StatusCodes.Status400BadRequest, new JsonObject
            {
                ["code"] = 400,
                ["error"] = "invalid_request",
                ["error_description"] = "The access token was not found",
            });
            return false;
        }
        if (!CryptographicEquals(given, _token))
        {
            await WriteJsonAsync(context, StatusCodes.Status401Unauthorized, new JsonObject
            {
                ["code"] = 401,
                ["error"] = "invalid_token",
                ["error_description"] = "The access token provided is invalid.",
            });
            return false;
        }
        return true;
    }

    private static bool CryptographicEquals(string a, string b) =>
        System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));

    private CancellationToken Aborted(HttpContext context, out CancellationTokenSource linked)
    {
        linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        return linked.Token;
    }

    private async Task ListDevicesAsync(HttpContext context)
    {
        var ct = Aborted(context, out var linked);
        using (linked)
        {
            var devices = await _scheduler.RunAsync(() => Task.FromResult(_cloud.Devices)).WaitAsync(ct);
            var list = new JsonArray();
            foreach (var d in devices)
                list.Add(new JsonObject { ["id"] = d.Id, ["name"] = Name(d.Id), ["last_app"] = d.LastApp, ["last_heard"] = Iso(d.LastHeard), ["connected"] = d.Connected });
            await WriteJsonAsync(context, StatusCodes.Status200OK, list);
        }
    }

    private async Task GetDeviceAsync(HttpContext context, string id)
    {
        var ct = Aborted(context, out var linked);
        using (linked)
        {
            var device = await _scheduler.RunAsync(() => Task.FromResult(_cloud.GetDevice(id))).WaitAsync(ct);
            if (device is null)
            {
                // spark-server's words for an id it never saw
                await WriteJsonAsync(context, StatusCodes.Status404NotFound, JsonValue.Create("Oops, I couldn't find that core"));
                return;
            }
            await WriteJsonAsync(context, StatusCodes.Status200OK, new JsonObject
            {
                ["id"] = device.Id,
                ["name"] = Name(device.Id),
                ["last_app"] = device.LastApp,
                ["last_heard"] = Iso(device.LastHeard),
                ["connected"] = device.Connected,
                ["online"] = device.Connected,
                ["variables"] = new JsonObject(),
                ["functions"] = new JsonArray("digitalread", "digitalwrite", "analogread", "analogwrite"),
            });
        }
    }

    private async Task FlashAsync(HttpContext context, string id)
    {
        var ct = Aborted(context, out var linked);
        using (linked)
        {
            byte[]? binary = null;
            if (context.Request.HasFormContentType)
            {
                var form = await context.Request.ReadFormAsync(ct);
                if (form.Files.GetFile("file") is { } file)
                {
                    using var buffer = new MemoryStream();
                    await file.CopyToAsync(buffer, ct);
                    binary = buffer.ToArray();
                }
            }
            if (binary is null)
            {
                await WriteJsonAsync(context, StatusCodes.Status400BadRequest, new JsonObject { ["ok"] = false, ["error"] = "Nothing to do?" });
                return;
            }
            // the flash goes on in the cloud when the client hangs up, as spark-server's does
            var reply = await _scheduler.RunAsync(() => _cloud.FlashAsync(id, binary, CancellationToken.None)).WaitAsync(ct);
            if (reply.Ok)
                await WriteJsonAsync(context, StatusCodes.Status200OK, new JsonObject { ["id"] = id, ["status"] = reply.Status });
            else if (reply.Status == CloudFlashReply.NotConnected)
                await WriteJsonAsync(context, StatusCodes.Status404NotFound, new JsonObject { ["ok"] = false, ["error"] = reply.Status });
            else
                // spark-server answers a refused update with 200 and errors[]
                await WriteJsonAsync(context, StatusCodes.Status200OK, new JsonObject
                {
                    ["ok"] = false,
                    ["errors"] = new JsonArray(new JsonObject { ["id"] = id, ["status"] = reply.Status }),
                });
        }
    }

    /// <summary>text/event-stream: ":ok", then each matching event as `event:` + `data:` JSON, a newline after 9 s of silence.</summary>
    private async Task StreamAsync(HttpContext context, string? deviceId, string? prefix)
    {
        var ct = Aborted(context, out var linked);
        using (linked)
        {
            var channel = Channel.CreateUnbounded<CloudEvent>(new UnboundedChannelOptions { SingleReader = true });
            var subscriber = new Subscriber(deviceId, prefix ?? "", channel.Writer);
            // subscribed before ":ok" goes out: a client that saw ":ok" misses nothing published after it
            lock (_subscribers) _subscribers.Add(subscriber);
            try
            {
                context.Response.StatusCode = StatusCodes.Status200OK;
                context.Response.ContentType = "text/event-stream";
                context.Response.Headers.CacheControl = "no-cache";
                await WriteAsync(context, ":ok\n\n", ct);
                while (!ct.IsCancellationRequested)
                {
                    bool ready;
                    try
                    {
                        ready = await channel.Reader.WaitToReadAsync(ct).AsTask().WaitAsync(KeepAlive, TimeProvider.System, ct);
                    }
                    catch (TimeoutException)
                    {
                        await WriteAsync(context, "\n", ct);
                        continue;
                    }
                    if (!ready) break;
                    var text = new StringBuilder();
                    while (channel.Reader.TryRead(out var e))
                    {
                        var data = new JsonObject { ["data"] = e.Data, ["ttl"] = "60", ["published_at"] = Iso(e.PublishedAt), ["coreid"] = e.CoreId };
                        text.Append("event: ").Append(e.Name).Append('\n').Append("data: ").Append(data.ToJsonString(Json)).Append("\n\n");
                    }
                    await WriteAsync(context, text.ToString(), ct);
                }
            }
            catch (OperationCanceledException)
            {
                // the client went away or the server is stopping
            }
            catch (IOException)
            {
                // the client went away mid-write
            }
            finally
            {
                lock (_subscribers) _subscribers.Remove(subscriber);
                channel.Writer.TryComplete();
            }
        }
    }

    /// <summary>On the simulation thread: hands the event to every matching stream without waiting for any.</summary>
    private void OnPublished(CloudEvent e)
    {
        lock (_subscribers)
        {
            foreach (var s in _subscribers)
            {
                if (s.DeviceId is { } id && !string.Equals(id, e.CoreId, StringComparison.OrdinalIgnoreCase)) continue;
                if (!e.Name.StartsWith(s.Prefix, StringComparison.Ordinal)) continue;
                s.Writer.TryWrite(e);
            }
        }
    }

    private static async Task WriteAsync(HttpContext context, string text, CancellationToken ct)
    {
        await context.Response.WriteAsync(text, ct);
        await context.Response.Body.FlushAsync(ct);
    }

    private static Task WriteJsonAsync(HttpContext context, int status, JsonNode? body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        return context.Response.WriteAsync(body?.ToJsonString(Json) ?? "null");
    }

    private static string? Iso(DateTimeOffset? time) =>
        time?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>A Core's name on the simulated cloud: "core-" and the last six hex digits of its id.</summary>
    private static string Name(string id) => $"core-{id[^Math.Min(6, id.Length)..]}";

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _stopping.CancelAsync();
        try
        {
            await _scheduler.RunAsync(() =>
            {
                _cloud.Published -= OnPublished;
                return Task.CompletedTask;
            }).WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException or ObjectDisposedException)
        {
            // a simulation that is already gone publishes nothing more
        }
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            try
            {
                await _app.StopAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                // requests still running are cut off
            }
        }
        await _app.DisposeAsync();
        _stopping.Dispose();
    }

    private sealed record Subscriber(string? DeviceId, string Prefix, ChannelWriter<CloudEvent> Writer);
}
