using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using HilRig.Core.Station;
using HilRig.Dashboard;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace HilRig.Cli.Station;

/// <summary>
/// The live station page: one tile per slot and the shift's counts, pushed to the browser as server-sent events
/// (<c>/events</c>) so it follows the line without a reload; <c>/state.json</c> is the same state for scripts.
/// Read-only (GET and HEAD only), loopback unless allowed otherwise, the dashboard's protective headers (plus its own
/// script and its event stream from the same origin).
/// </summary>
internal static class StationWeb
{
    public const string DefaultUrls = "http://127.0.0.1:5081";

    /// <summary>At most this many pushes a second: a virtual-time line changes faster than a screen can show.</summary>
    private static readonly TimeSpan PushInterval = TimeSpan.FromMilliseconds(100);

    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>Checks --urls as the dashboard does (loopback only unless <paramref name="allowRemote"/>); null when fine.</summary>
    public static string? CheckUrls(string urls, bool allowRemote) =>
        DashboardApp.CheckUrls(urls, allowRemote)?.Replace("the dashboard serves", "the station page serves", StringComparison.Ordinal);

    public static WebApplication Build(StationBoard board, string title, string urls = DefaultUrls, bool allowRemote = false, CancellationToken stopping = default)
    {
        ArgumentNullException.ThrowIfNull(board);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseUrls(urls);
        builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.Use((context, next) => Guard(context, next, allowRemote));
        app.UseRouting();
        app.MapGet("/", () => Results.Content(StationPage.Html(board.Snapshot(), title), "text/html; charset=utf-8"));
        app.MapGet("/station.js", () => Results.Content(StationPage.Script, "text/javascript; charset=utf-8"));
        app.MapGet("/state.json", () => Results.Content(JsonSerializer.Serialize(board.Snapshot(), Json), "application/json; charset=utf-8"));
        app.MapGet("/events", (HttpContext http) => EventsAsync(http, board, stopping));
        return app;
    }

    /// <summary>text/event-stream: the whole state as `event: board` at once, then after every change (throttled), a comment while idle.</summary>
    private static async Task EventsAsync(HttpContext http, StationBoard board, CancellationToken stopping)
    {
        using var both = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, stopping);
        var ct = both.Token;
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-store";
        http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
        var version = -1L;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var snapshot = board.Snapshot();
                if (snapshot.Version != version)
                {
                    version = snapshot.Version;
                    var data = JsonSerializer.Serialize(snapshot, Json);
                    await http.Response.WriteAsync($"event: board\ndata: {data}\n\n", Encoding.UTF8, ct);
                    await http.Response.Body.FlushAsync(ct);
                    await Task.Delay(PushInterval, ct);
                    continue;
                }
                var changed = board.WaitForChangeAsync(version, ct);
                if (await Task.WhenAny(changed, Task.Delay(KeepAlive, ct)) != changed)
                {
                    await http.Response.WriteAsync(": keep-alive\n\n", Encoding.UTF8, ct);
                    await http.Response.Body.FlushAsync(ct);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // the browser went away, or the station is stopping
        }
    }

    /// <summary>The dashboard's rules (<see cref="PageGuard"/>); the page's only script is its own file, reading only its own event stream.</summary>
    private static Task Guard(HttpContext context, RequestDelegate next, bool allowRemote) =>
        PageGuard.Apply(context, next, allowRemote,
            "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            "this station page answers only requests to 127.0.0.1, ::1 or localhost (hilrig station --allow-remote serves others)");
}
