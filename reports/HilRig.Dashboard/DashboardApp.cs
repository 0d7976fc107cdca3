using System.Text.Json;
using HilRig.Reports.Html;
using HilRig.Reports.Queries;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HilRig.Dashboard;

/// <summary>
/// The quality dashboard: read-only pages over a results store (lots, one lot, runs, one run and its slots, failure
/// modes, soak and builds, slots, rigs and lines, one device, device search; lots, lot, runs, modes, slots and rigs
/// filtered by date range, rig and line), each also as JSON (<c>?format=json</c>) and CSV (<c>?format=csv</c>) for Grafana or a spreadsheet.
/// Only GET routes exist; the store is opened read-only. Binds to loopback unless other URLs are given.
/// </summary>
public static class DashboardApp
{
    public const string DefaultUrls = "http://127.0.0.1:5080";

    /// <summary>Builds the app over <paramref name="queries"/>; start it with <c>StartAsync</c> or <c>RunAsync</c>.</summary>
    /// <param name="allowRemote">
    /// Served beyond this machine on purpose (<c>hilrig dashboard --allow-remote</c>); otherwise only requests naming a
    /// loopback host are answered, so a web page elsewhere cannot read the store through a rebound DNS name.
    /// </param>
    /// <param name="store">The store as the JSON envelopes' <c>report.store</c> names it (as <c>hilrig report</c> does); null: left out.</param>
    public static WebApplication Build(ResultsQueries queries, string urls = DefaultUrls, bool allowRemote = false, string? store = null)
    {
        ArgumentNullException.ThrowIfNull(queries);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseUrls(urls);
        builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.Use((context, next) => Guard(context, next, allowRemote));
        // a request's queries share one connection: a rig's SQLite store is never pooled, and each open is a file open,
        // its locks and its schema read, several times a page otherwise (bench pages --connections per-use)
        app.Use(async (context, next) =>
        {
            using var shared = queries.ShareConnection();
            await next(context);
        });
        // routing after the guard, which answers HEAD with the GET route
        app.UseRouting();
        // every page's JSON is the command line's one envelope: a report header first, the rows under a named field
        string Report(string name, string title, object body, PageFilter? filter = null) =>
            ReportJson.Envelope(name, title, store, body as System.Text.Json.Nodes.JsonObject ?? ReportJson.Body(body),
                filter is { Filter.IsEmpty: false } f ? f.Filter.Describe() : null);

        app.MapGet("/", () => Results.Redirect("/lots"));
        app.MapGet("/lots", (HttpContext http, string? format, double? target) =>
        {
            if (target is { } t && t is not (> 0 and < 1))
                return BadRequest("target must be a proportion between 0 and 1, e.g. 0.01");
            if (Filter(http, queries, out var filter) is { } bad) return bad;
            var view = queries.Lots(filter.Filter, target);
            return Respond(format, () => HtmlPages.Lots(view, links: true, filter), () => Report("lots", ReportTables.Lots(view.Lots).Title, ReportJson.Lots(view, view.Lots, target), filter), () => ReportTables.Lots(view.Lots).ToCsv());
        });
        app.MapGet("/lots/{lot}", (HttpContext http, string lot, string? format) =>
        {
            lot = LastSegment(http, lot);
            if (Filter(http, queries, out var filter) is { } bad) return bad;
            var detail = queries.Lot(lot, filter.Filter, devicesShown: 100);
            if (detail is null)
                return NotFound(filter.Filter.IsEmpty
                    ? $"no lot '{lot}' with a verdict in the results store"
                    : $"no lot '{lot}' with a verdict among the results {filter.Filter.Describe()}");
            return Respond(format, () => HtmlPages.Lot(detail, links: true, filter), () => Report("lot", $"Lot {lot}", detail, filter), () => ReportTables.LotDevices(detail).ToCsv());
        });
        app.MapGet("/runs", (HttpContext http, string? format, int? limit) =>
        {
            if (limit is < 1 or > 10_000)
                return BadRequest($"limit {limit}: valid: a number of runs from 1 to 10000");
            if (Filter(http, queries, out var filter) is { } bad) return bad;
            var n = limit ?? 50;
            var runs = queries.Runs(filter.Filter, n);
            return Respond(format, () => HtmlPages.Runs(runs, n, filter), () => Report("runs", "Runs, newest first", new { runs }, filter), () => DashboardTables.Runs(runs).ToCsv());
        });
        app.MapGet("/runs/{run}", (string run, string? format) =>
        {
            if (ResolveRun(queries, run, out var id) is { } bad) return bad;
            if (run != id.ToString("D")) return Results.Redirect(HtmlPages.RunHref(id) + (format is null ? "" : "?format=" + Uri.EscapeDataString(format)));
            var detail = queries.Run(id)!;
            return Respond(format, () => HtmlPages.Run(detail), () => JsonSerializer.Serialize(detail, ReportTables.Json), () => DashboardTables.RunSlots(detail).ToCsv());
        });
        app.MapGet("/runs/{run}/slots/{slot:int}", (string run, int slot, string? format) =>
        {
            if (ResolveRun(queries, run, out var id) is { } bad) return bad;
            var view = queries.RunSlot(id, slot)!;
            if (view.Results.Count == 0)
                return NotFound($"run {id:D} has no results on slot {slot}");
            return Respond(format, () => HtmlPages.RunSlot(view), () => JsonSerializer.Serialize(view, ReportTables.Json), () => DashboardTables.RunSlotResults(view).ToCsv());
        });
        app.MapGet("/search", (string? q, string? format) =>
        {
            var search = queries.SearchDevices(q ?? "");
            // a whole device id or DFU serial goes straight to its device
            if (search.Exact is { } exact && format is null or "" or "html")
                return Results.Redirect(HtmlPages.DeviceHref(exact));
            return Respond(format, () => HtmlPages.Search(search), () => Report("search", "Device search", search), () => DashboardTables.Matches(search).ToCsv());
        });
        app.MapGet("/modes/{mode}", (HttpContext http, string mode, string? format) =>
        {
            mode = LastSegment(http, mode);
            if (Filter(http, queries, out var filter) is { } bad) return bad;
            var view = queries.FailureMode(mode, filter.Filter);
            if (view.Failures == 0 && filter.Filter.IsEmpty)
                return NotFound($"no failure with mode '{mode}' in the results store");
            return Respond(format, () => HtmlPages.Mode(view, filter), () => Report("mode", $"Failure mode {mode}", view, filter), () => DashboardTables.Listing("Latest failures", view.Latest).ToCsv());
        });
        app.MapGet("/builds/{build}", (HttpContext http, string build, string? format) =>
        {
            build = LastSegment(http, build);
            var view = queries.Build(build);
            if (view.Runs.Count == 0)
                return NotFound($"no run of bootloader build '{build}' in the results store");
            return Respond(format, () => HtmlPages.Build(view), () => Report("build", $"Bootloader build {build}", view), () => DashboardTables.BuildRuns(view).ToCsv());
        });
        app.MapGet("/slots/{slot:int}", (HttpContext http, int slot, string? format) =>
        {
            if (Filter(http, queries, out var filter) is { } bad) return bad;
            var view = queries.Slot(slot, filter.Filter);
            if (view.Health is null)
                return NotFound($"no result on slot {slot} in the results store");
            return Respond(format, () => HtmlPages.Slot(view, filter), () => Report("slot", $"Slot {slot}", view, filter), () => DashboardTables.Listing("Latest results", view.Latest).ToCsv());
        });
        app.MapGet("/rigs", (HttpContext http, string? format) =>
        {
            if (Filter(http, queries, out var filter) is { } bad) return bad;
            var view = queries.Rigs(filter.Filter);
            return Respond(format, () => HtmlPages.Rigs(view, filter), () => Report("rigs", "Rigs and lines", view, filter), () => DashboardTables.Rigs(view).ToCsv());
        });
        app.MapGet("/modes", (string? format) =>
        {
            var modes = queries.Modes();
            return Respond(format, () => HtmlPages.Modes(modes, links: true), () => Report("modes", ReportTables.Modes(modes).Title, new { lots = modes }), () => ReportTables.Modes(modes).ToCsv());
        });
        app.MapGet("/slots", (string? format) =>
        {
            var slots = queries.Slots();
            return Respond(format, () => HtmlPages.Slots(slots, links: true), () => Report("slots", ReportTables.Slots(slots).Title, new { slots }), () => ReportTables.Slots(slots).ToCsv());
        });
        app.MapGet("/soak", (string? format) =>
        {
            var soak = queries.Soak();
            return Respond(format, () => HtmlPages.Soak(soak, links: true), () => Report("soak", ReportTables.Soak(soak).Title, soak), () => ReportTables.Soak(soak).ToCsv());
        });
        app.MapGet("/devices/{id}", (HttpContext http, string id, string? format) =>
        {
            id = LastSegment(http, id);
            var device = queries.Device(id);
            if (device is null)
                return NotFound($"no device '{id}' in the results store");
            return Respond(format, () => HtmlPages.Device(device, links: true), () => Report("device", ReportTables.Device(device).Title, device), () => ReportTables.Device(device).ToCsv());
        });
        // campaigns (issue 16): pages in HtmlPages' sibling CampaignPage, data from the fleet store's campaign tables
        app.MapGet("/campaigns", (string? format) => Respond(format, () => CampaignPage.List(queries.Campaigns()),
            () => JsonSerializer.Serialize(new { campaigns = queries.Campaigns() }, ReportTables.Json), () => string.Join("\n", queries.Campaigns().Select(c => $"{c.Name},{c.Kind},{c.State},{c.Decision}").Prepend("campaign,kind,state,decision"))));
        app.MapGet("/campaigns/{name}", (HttpContext http, string name, string? format) =>
        {
            var snapshot = queries.Campaign(LastSegment(http, name));
            if (snapshot is null) return Results.NotFound($"no campaign '{LastSegment(http, name)}' in this store (campaigns live in the fleet database)");
            var report = HilRig.Reports.Campaigns.CampaignStatus.Build(snapshot);
            return Respond(format, () => CampaignPage.Render(report), () => JsonSerializer.Serialize(report, ReportTables.Json),
                () => string.Join("\n", report.Lots.Select(l => $"{ReportTable.DefuseFormula(l.Lot)},{l.CandidateCycles},{l.CandidateFailures},{l.BaselineCycles},{l.BaselineFailures},{l.NoGo}").Prepend("lot,candidateCycles,candidateFailures,baselineCycles,baselineFailures,noGo")));
        });
        return app;
    }

    /// <summary>
    /// The headers every answer carries, and the rules every request meets: GET and HEAD only (the dashboard changes
    /// nothing), and on loopback a Host header naming loopback.
    /// </summary>
    // pages are self-contained: inline CSS and SVG, no script, no frames, nothing fetched from elsewhere
    private static Task Guard(HttpContext context, RequestDelegate next, bool allowRemote) =>
        PageGuard.Apply(context, next, allowRemote,
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            "this dashboard answers only requests to 127.0.0.1, ::1 or localhost (hilrig dashboard --allow-remote serves others)");

    /// <summary>
    /// A route value as it was linked: the raw request target's last segment, percent-decoded once, so a lot named
    /// "A/B" (linked as A%2FB, which the server leaves encoded) opens its own page.
    /// </summary>
    private static string LastSegment(HttpContext http, string routeValue)
    {
        var raw = http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(raw)) return routeValue;
        var path = raw.Split('?', 2)[0];
        var segment = path[(path.LastIndexOf('/') + 1)..];
        return Uri.UnescapeDataString(segment);
    }

    /// <summary>The page's from/to/rig/line; null when fine, else the 400 naming what is wrong.</summary>
    private static IResult? Filter(HttpContext http, ResultsQueries queries, out PageFilter page)
    {
        var q = http.Request.Query;
        page = new PageFilter(ResultFilter.None, [], []);
        if (!ResultFilter.TryParse(q["from"], q["to"], q["rig"], q["line"], out var filter, out var problem))
            return BadRequest(problem);
        var lines = queries.LineNames();
        if (filter.Line is not null && !queries.HasLines())
            return BadRequest($"line '{filter.Line}': this store records no lines (a rig's own store; lines come with a fleet database)");
        page = new PageFilter(filter, queries.RigIds(), lines);
        return null;
    }

    private static IResult? ResolveRun(ResultsQueries queries, string text, out Guid id)
    {
        if (!HilRig.Core.Results.RunIds.TryResolve(text, queries.RunIdList(), "the results store", out id, out var problem))
            return NotFound("run " + problem);
        return null;
    }

    private static bool IsLoopbackName(string host) => PageGuard.IsLoopbackName(host);

    /// <summary>
    /// Checks --urls before anything listens: each must be an http URL, and on a loopback address unless
    /// <paramref name="allowRemote"/>; null when fine, else the one line to print.
    /// </summary>
    public static string? CheckUrls(string urls, bool allowRemote)
    {
        ArgumentNullException.ThrowIfNull(urls);
        var list = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (list.Length == 0) return "--urls '': valid: one or more http://HOST:PORT separated by ';', e.g. " + DefaultUrls;
        foreach (var url in list)
        {
            // Kestrel's wildcards (http://*:5080, http://+:5080) are not URIs: name them as every address
            var host = Uri.TryCreate(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri)
                && uri.Scheme is "http" or "https" && uri.AbsolutePath == "/" && string.IsNullOrEmpty(uri.Query) ? uri.Host : null;
            if (host is null)
                return $"--urls '{url}': not a URL to listen on; valid: http://HOST:PORT, e.g. {DefaultUrls}";
            if (!allowRemote && !IsLoopbackName(host))
                return $"--urls '{url}': not a loopback address; the dashboard serves this machine only unless given --allow-remote";
        }
        return null;
    }

    /// <summary>The addresses Kestrel actually listens on (a port of 0 becomes the one it chose).</summary>
    public static IReadOnlyList<string> Addresses(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return [.. app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? []];
    }

    // one plain line, as the command line says it; Results.BadRequest(string) would send it as a JSON string
    private static IResult BadRequest(string line) => Results.Text(line, "text/plain; charset=utf-8", statusCode: StatusCodes.Status400BadRequest);

    private static IResult NotFound(string line) => Results.Text(line, "text/plain; charset=utf-8", statusCode: StatusCodes.Status404NotFound);

    private static IResult Respond(string? format, Func<string> html, Func<string> json, Func<string> csv) => format switch
    {
        null or "" or "html" => Results.Content(html(), "text/html; charset=utf-8"),
        "json" => Results.Content(json(), "application/json; charset=utf-8"),
        "csv" => Results.Content(csv(), "text/csv; charset=utf-8"),
        _ => BadRequest($"format '{format}' is not one of html, json, csv"),
    };
}
