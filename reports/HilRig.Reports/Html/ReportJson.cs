using System.Text.Json;
using System.Text.Json.Nodes;
using HilRig.Reports.Queries;
using HilRig.Reports.Statistics;

namespace HilRig.Reports.Html;

/// <summary>
/// The one envelope of every report's JSON, on the command line (<c>hilrig report X --format json</c>) and on the
/// dashboard (<c>?format=json</c>): an object, never a bare array; a <c>report</c> header first (which report, its
/// title, of which store when known, with which filter when one applies), then the report's own fields with its rows
/// under a named field (lots, slots, builds, attempts, ...).
/// </summary>
public static class ReportJson
{
    /// <summary>A value's fields as a JSON object, camelCase like every export.</summary>
    public static JsonObject Body(object value) => JsonSerializer.SerializeToNode(value, ReportTables.Json)!.AsObject();

    /// <summary>The lots report's fields: pooled rate, units, failed, target, yields, and the lots in the order given.</summary>
    public static JsonObject Lots(LotsView view, IEnumerable<LotFailureRate> lots, double? target)
    {
        ArgumentNullException.ThrowIfNull(view);
        var body = Body(new { pooledRate = view.PooledRate, units = view.Units, failed = view.Failed, target, yields = view.Yields });
        body["lots"] = JsonNode.Parse(ReportTables.LotsJson(lots));
        return body;
    }

    /// <summary>
    /// The envelope: <c>report</c> { name, title, store (when given), filter (when given) } first, then
    /// <paramref name="body"/>'s fields in their order.
    /// </summary>
    public static string Envelope(string name, string title, string? store, JsonObject body, string? filter = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        var header = new JsonObject { ["name"] = name, ["title"] = title };
        if (store is not null) header["store"] = store;
        if (filter is not null) header["filter"] = filter;
        var document = new JsonObject { ["report"] = header };
        foreach (var (key, value) in body.ToList())
        {
            body.Remove(key);
            document[key] = value;
        }
        return document.ToJsonString(ReportTables.Json);
    }
}
