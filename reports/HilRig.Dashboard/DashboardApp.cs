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
/// The quality dashboard: read-only pages over a results store (lots, one lot, failure modes, soak, slots, one
/// device), each also as JSON (<c>?format=json</c>) and CSV (<c>?format=csv</c>) for Grafana or a spreadsheet.
/// Only GET routes exist; the store is opened read-only. Binds to loopback unless other URLs are given.
/// </summary>
public static class DashboardApp
{
    public const string DefaultUrls = "http://127.0.0.1:5080";

    /// <summary>Builds the app over <paramref name="queries"/>; start it with <c>StartAsync</c> or <c>RunAsync</c>.</summary>
    public static WebApplication Build(ResultsQueries queries, string urls = DefaultUrls)
    {
        ArgumentNullException.ThrowIfNull(queries);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseUrls(urls);
        builder.Logging.ClearProviders();
        var app = builder.Build();

        app.MapGet("/", () => Results.Redirect("/lots"));
        app.MapGet("/lots", (string? format, double? target) =>
        {
            if (target is { } t && t is not (> 0 and < 1))
                return Results.BadRequest("target must be a proportion between 0 and 1, e.g. 0.01");
            var view = queries.Lots(target);
            return Respond(format, () => HtmlPages.Lots(view, links: true), () => ReportTables.LotsJson(view.Lots), () => ReportTables.Lots(view.Lots).ToCsv());
        });
        app.MapGet("/lots/{lot}", (string lot, string? format) =>
        {
            var detail = queries.Lot(lot, devicesShown: 100);
            if (detail is null)
                return Results.NotFound($"no lot '{lot}' with a verdict in the results store");
            return Respond(format, () => HtmlPages.Lot(detail, links: true), () => JsonSerializer.Serialize(detail, ReportTables.Json), () => ReportTables.LotDevices(detail).ToCsv());
        });
        app.MapGet("/modes", (string? format) =>
        {
            var modes = queries.Modes();
            return Respond(format, () => HtmlPages.Modes(modes, links: true), () => JsonSerializer.Serialize(modes, ReportTables.Json), () => ReportTables.Modes(modes).ToCsv());
        });
        app.MapGet("/slots", (string? format) =>
        {
            var slots = queries.Slots();
            return Respond(format, () => HtmlPages.Slots(slots, links: true), () => JsonSerializer.Serialize(slots, ReportTables.Json), () => ReportTables.Slots(slots).ToCsv());
        });
        app.MapGet("/soak", (string? format) =>
        {
            var soak = queries.Soak();
            return Respond(format, () => HtmlPages.Soak(soak, links: true), () => JsonSerializer.Serialize(soak, ReportTables.Json), () => ReportTables.Soak(soak).ToCsv());
        });
        app.MapGet("/devices/{id}", (string id, string? format) =>
        {
            var device = queries.Device(id);
            if (device is null)
                return Results.NotFound($"no device '{id}' in the results store");
            return Respond(format, () => HtmlPages.Device(device, links: true), () => JsonSerializer.Serialize(device, ReportTables.Json), () => ReportTables.Device(device).ToCsv());
        });
        return app;
    }

    /// <summary>The addresses Kestrel actually listens on (a port of 0 becomes the one it chose).</summary>
    public static IReadOnlyList<string> Addresses(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return [.. app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? []];
    }

    private static IResult Respond(string? format, Func<string> html, Func<string> json, Func<string> csv) => format switch
    {
        null or "" or "html" => Results.Content(html(), "text/html; charset=utf-8"),
        "json" => Results.Content(json(), "application/json; charset=utf-8"),
        "csv" => Results.Content(csv(), "text/csv; charset=utf-8"),
        _ => Results.BadRequest($"format '{format}' is not one of html, json, csv"),
    };
}
