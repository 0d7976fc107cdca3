using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Reports.Queries;
using HilRig.Reports.Statistics;

namespace HilRig.Reports.Html;

/// <summary>
/// The report pages as single self-contained HTML documents (inline CSS and SVG, no script). The dashboard serves
/// them with <paramref name="links"/> on (navigation, lot and device links, JSON/CSV links); <c>hilrig report --format
/// html</c> writes them with links off, as one file to mail to a supplier.
/// </summary>
public static partial class HtmlPages
{
    private const string Style = """
        body{font-family:system-ui,sans-serif;margin:1.2em 2em;color:#222}
        table{border-collapse:collapse;margin:.6em 0 1.4em}
        th,td{border:1px solid #ccc;padding:3px 8px;font-size:13px}
        th{background:#f0f3f7;text-align:left}
        td.n{text-align:right;font-variant-numeric:tabular-nums}
        tr.flagged td{background:#fdecea}
        nav a{margin-right:1em}
        .muted{color:#666;font-size:12px}
        h1{font-size:1.4em} h2{font-size:1.1em;margin-top:1.4em}
        pre{background:#f7f7f7;padding:.6em;max-height:18em;overflow:auto;font-size:12px}
        .warn{color:#7a4100;background:#fff4e0;border-left:3px solid #e69500;padding:3px 8px}
        form.filter,form.search{display:inline-block;margin:.3em 0;font-size:13px}
        form.filter label{margin-right:.8em} form.search{float:right}
        input,select,button{font-size:13px}
        """;

    private static string E(string? s) => WebUtility.HtmlEncode(s ?? "");

    private static string Page(string title, string body, bool links, string? dataPath)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(E(title)).Append(" - HilRig</title><style>").Append(Style).Append("</style></head><body>");
        if (links)
            sb.Append("<nav><a href=\"/lots\">Lots</a><a href=\"/runs\">Runs</a><a href=\"/modes\">Failure modes</a><a href=\"/soak\">Soak</a><a href=\"/slots\">Slots</a><a href=\"/rigs\">Rigs</a>")
                .Append("<form class=\"search\" role=\"search\" method=\"get\" action=\"/search\"><input id=\"device-search\" name=\"q\" placeholder=\"device id, DFU serial or prefix\" size=\"28\"> <button type=\"submit\">Find device</button></form></nav>");
        sb.Append("<h1>").Append(E(title)).Append("</h1>");
        if (links && dataPath is not null)
        {
            var sep = dataPath.Contains('?', StringComparison.Ordinal) ? "&" : "?";
            sb.Append(CultureInfo.InvariantCulture, $"<p class=\"muted\">Data: <a id=\"json\" href=\"{E(dataPath)}{sep}format=json\">JSON</a> · <a id=\"csv\" href=\"{E(dataPath)}{sep}format=csv\">CSV</a></p>");
        }
        sb.Append(body).Append("</body></html>");
        return sb.ToString();
    }

    /// <summary>An HTML table of a <see cref="ReportTable"/>; <paramref name="link"/> may turn a cell into a link.</summary>
    public static string Table(ReportTable table, string id, Func<int, object?[], string?>? link = null, Func<object?[], bool>? flagged = null)
    {
        ArgumentNullException.ThrowIfNull(table);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<table id=\"{E(id)}\"><thead><tr>");
        foreach (var c in table.Columns)
            sb.Append(CultureInfo.InvariantCulture, $"<th data-col=\"{E(c.Name)}\">{E(c.Header)}</th>");
        sb.Append("</tr></thead><tbody>");
        foreach (var row in table.Rows)
        {
            sb.Append(flagged?.Invoke(row) == true ? "<tr class=\"flagged\">" : "<tr>");
            for (var i = 0; i < row.Length; i++)
            {
                var kind = table.Columns[i].Kind;
                var cls = kind is CellKind.Count or CellKind.Rate or CellKind.Number ? " class=\"n\"" : "";
                var text = E(ReportTable.Display(kind, row[i]));
                var href = link?.Invoke(i, row);
                // data-value carries the exact number so tools (and the browser test) read what the CSV has.
                sb.Append(CultureInfo.InvariantCulture, $"<td{cls} data-col=\"{E(table.Columns[i].Name)}\" data-value=\"{E(ReportTable.Raw(kind, row[i]))}\">");
                sb.Append(href is null ? text : $"<a href=\"{E(href)}\">{text}</a>");
                sb.Append("</td>");
            }
            sb.Append("</tr>");
        }
        sb.Append("</tbody></table>");
        return sb.ToString();
    }

    public static string LotHref(string lot) => "/lots/" + Uri.EscapeDataString(lot);

    public static string DeviceHref(string deviceId) => "/devices/" + Uri.EscapeDataString(deviceId);

    public static string Lots(LotsView view, bool links) => Lots(view, links, null);

    /// <summary>The lots page; with <paramref name="filter"/> (the dashboard's) a filter bar, and links that keep it.</summary>
    public static string Lots(LotsView view, bool links, PageFilter? filter)
    {
        ArgumentNullException.ThrowIfNull(view);
        var body = new StringBuilder();
        var keep = filter?.Filter ?? ResultFilter.None;
        if (links && filter is not null)
            body.Append(FilterBar(filter, "/lots"));
        var flagged = view.Lots.Count(l => l.PChart.Signal == ControlSignal.AboveUpperLimit);
        body.Append(CultureInfo.InvariantCulture, $"<p>{view.Lots.Count} lots, {view.Units} units with a verdict, {view.Failed} failed; fleet rate {Svg.Percent(view.PooledRate)}. <strong>{flagged} lot(s) above their p-chart limit</strong> are listed first.</p>");
        if (view.Lots.Count > 0)
            body.Append(Svg.LotChart(view.Lots, view.PooledRate));
        body.Append(SampleWarnings(view.Lots.Select(l => (l.Lot, l.Units, l.Wilson)), "Lot"));
        var table = ReportTables.Lots(view.Lots);
        var flag = table.Columns.ToList().FindIndex(c => c.Name == "flagged");
        body.Append(Table(table, "lots",
            links ? (i, row) => i == 0 ? keep.Link(LotHref((string)row[0]!)) : null : null,
            row => row[flag] is true));
        body.Append("<p class=\"muted\">Wilson interval for display; exact (Clopper-Pearson) for claims; rule of three when a lot has no failures. A unit failed when the latest attempt of any of its tests failed; units with only rig faults have no verdict.</p>");
        return Page("Failure rate by chip lot", body.ToString(), links, keep.Link("/lots"));
    }

    public static string Lot(LotDetail lot, bool links) => Lot(lot, links, null);

    /// <summary>One lot's page; with <paramref name="filter"/> (the dashboard's) a filter bar, and links that keep it.</summary>
    public static string Lot(LotDetail lot, bool links, PageFilter? filter)
    {
        ArgumentNullException.ThrowIfNull(lot);
        var r = lot.Rate;
        var body = new StringBuilder();
        var keep = filter?.Filter ?? ResultFilter.None;
        if (links && filter is not null)
            body.Append(FilterBar(filter, LotHref(r.Lot)));
        body.Append(CultureInfo.InvariantCulture,
            $"<p id=\"summary\">{r.Units} units, {r.Failed} failed: {Svg.Percent(r.Wilson.Point)} (Wilson 95 % {Svg.Percent(r.Wilson.Lower)} - {Svg.Percent(r.Wilson.Upper)}; exact {Svg.Percent(r.ClopperPearson.Lower)} - {Svg.Percent(r.ClopperPearson.Upper)}). p-chart: limit {Svg.Percent(r.PChart.UpperLimit)} against the fleet's {Svg.Percent(r.PChart.Centre)}: <strong>{(r.Flagged ? "FLAGGED" : "within limits")}</strong>.</p>");
        if (SampleSize.Warning(r.Units, r.Wilson) is { } warning)
            body.Append(CultureInfo.InvariantCulture, $"<p class=\"warn\" id=\"sample-warning\">{E(warning)}</p>");
        body.Append(CultureInfo.InvariantCulture,
            $"<p>First-pass yield {Svg.Percent(lot.FirstPassYield.Rate)} ({lot.FirstPassYield.Passed}/{lot.FirstPassYield.Devices}); final yield {Svg.Percent(lot.FinalYield.Rate)} ({lot.FinalYield.Passed}/{lot.FinalYield.Devices}).</p>");
        body.Append("<h2>Failure modes</h2>").Append(Table(ReportTables.Categories("Failure modes", "failureMode", lot.Breakdown.FailureModes), "modes",
            links ? (i, row) => i == 0 ? keep.Link(ModeHref((string)row[0]!)) : null : null));
        body.Append("<h2>Defect kinds</h2>").Append(Table(ReportTables.Categories("Defect kinds", "defectKind", lot.Signatures.Kinds), "kinds"));
        body.Append(CultureInfo.InvariantCulture, $"<p>Cells stuck at 0: {lot.Signatures.StuckAt0}; stuck at 1: {lot.Signatures.StuckAt1}.</p>");
        body.Append(Svg.BitPositions(lot.Signatures.ByBitPosition));
        body.Append(CultureInfo.InvariantCulture, $"<h2>Most frequent signatures ({Math.Min(15, lot.Breakdown.Signatures.Count)} of {lot.Breakdown.Signatures.Count})</h2>")
            .Append(Table(ReportTables.Categories("Signatures", "signature", lot.Breakdown.Signatures.Take(15)), "signatures"));
        var devices = ReportTables.LotDevices(lot);
        body.Append("<h2>").Append(E(devices.Title)).Append("</h2>").Append(Table(devices, "devices",
            links ? (i, row) => i == 0 ? DeviceHref((string)row[0]!) : null : null, row => row[1] is true));
        return Page($"Lot {r.Lot}", body.ToString(), links, links ? keep.Link(LotHref(r.Lot)) : null);
    }

    public static string Modes(IReadOnlyList<LotFailureBreakdown> modes, bool links) =>
        Page("Failure modes by lot", Table(ReportTables.Modes(modes), "modes", links
            ? (i, row) => i == 0 ? LotHref((string)row[0]!) : i == 1 && row[1] is string m && !m.Contains(" / ", StringComparison.Ordinal) ? ModeHref(m) : null
            : null), links, "/modes");

    public static string Slots(IReadOnlyList<SlotHealth> slots, bool links)
    {
        ArgumentNullException.ThrowIfNull(slots);
        var chart = Svg.IntervalChart(
            "Devices failed or rig-faulted per slot (grey tick = p-chart limit)",
            [.. slots.Select(s => ($"slot {s.Slot}", s.Rate, s.Rate, s.Rate, (double?)s.UpperLimit, s.Suspect))],
            slots.Sum(s => s.Devices) == 0 ? null : (double)slots.Sum(s => s.FailedDevices) / slots.Sum(s => s.Devices), Svg.Percent);
        var body = chart + Table(ReportTables.Slots(slots), "slots", links ? (i, row) => i == 0 ? SlotHref((int)row[0]!) : null : null, row => row[^1] is true)
            + "<p class=\"muted\">A suspect slot fails more distinct devices than the slots together explain: check its cabling, pogo pins and hub port before blaming the DUTs.</p>";
        return Page("Slot health", body, links, "/slots");
    }

    public static string Soak(SoakView soak, bool links)
    {
        ArgumentNullException.ThrowIfNull(soak);
        var chart = Svg.IntervalChart(
            "Soak failures per 1,000 cycles (Garwood 95 %)",
            [.. soak.Builds.Select(b => (b.Bootloader, b.PerThousandCycles.Point, b.PerThousandCycles.Lower, b.PerThousandCycles.Upper, (double?)null, false))],
            null, v => v.ToString("0.00", CultureInfo.InvariantCulture));
        var verdict = soak.NewestAgainstPrevious is { } c ? $"<p id=\"verdict\"><strong>{E(c.Verdict)}</strong> ({E(c.Method)})</p>" : "<p>Fewer than two bootloader builds soaked: nothing to compare.</p>";
        return Page("Soak by bootloader build", (soak.Builds.Count > 0 ? chart : "") + verdict + Table(ReportTables.Soak(soak), "soak", links ? (i, row) => i == 0 ? BuildHref((string)row[0]!) : null : null), links, "/soak");
    }

    public static string Device(DeviceView device, bool links)
    {
        ArgumentNullException.ThrowIfNull(device);
        var body = new StringBuilder();
        body.Append(CultureInfo.InvariantCulture, $"<p id=\"device-lot\">Lot {(links ? $"<a href=\"{E(LotHref(device.Lot))}\">{E(device.Lot)}</a>" : E(device.Lot))}, date code {E(device.DateCode ?? "-")}, supplier {E(device.Supplier ?? "-")}; {device.Attempts.Count} attempt(s).</p>");
        body.Append(Table(ReportTables.Device(device), "attempts", links ? DeviceLink : null, row => (string?)row[7] == "fail"));
        var n = 0;
        foreach (var a in device.Attempts.Where(a => a.EvidenceJson is not null))
        {
            n++;
            body.Append(CultureInfo.InvariantCulture, $"<h2>Attempt {a.Row.Attempt} of {E(a.Row.Test)}{(a.Row.Cycle is { } cy ? $", cycle {cy}" : "")}: {E(a.Row.Verdict.ToName())}</h2>");
            body.Append(Evidence(a.EvidenceJson!));
        }
        if (n == 0)
            body.Append("<p class=\"muted\">No evidence stored for these attempts.</p>");
        return Page($"Device {device.DeviceId}", body.ToString(), links, links ? DeviceHref(device.DeviceId) : null);
    }

    /// <summary>
    /// Evidence rendered from the one evidence schema (<see cref="EvidenceJson"/>): the slot's LED timeline (or each
    /// loop's when the slot's is not there), the readback's bit-error map, then the raw JSON.
    /// </summary>
    public static string Evidence(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        var sb = new StringBuilder();
        var evidence = EvidenceJson.Read(json);
        if (evidence is null)
        {
            sb.Append("<pre>").Append(E(json)).Append("</pre>");
            return sb.ToString();
        }
        if (evidence.Led is { Count: > 0 } led)
        {
            sb.Append(LedChart(led));
        }
        else
        {
            foreach (var loop in evidence.Loops ?? [])
            {
                if (loop.Led is { Count: > 0 } loopLed)
                    sb.Append(CultureInfo.InvariantCulture, $"<p class=\"muted\">{E(loop.Loop)}</p>").Append(LedChart(loopLed));
            }
        }
        if (evidence.Readback?.BitErrors is { } map)
        {
            sb.Append(CultureInfo.InvariantCulture,
                $"<p>Bit errors: {map.ErrorBits} ({map.StuckAt0} stuck at 0, {map.StuckAt1} stuck at 1); first at {(map.FirstBadAddress is { } a ? string.Create(CultureInfo.InvariantCulture, $"0x{a:X6}") : "-")}.</p>");
            if (map.ByBitPosition is { Length: > 0 } bits)
                sb.Append(Svg.BitPositions(bits));
            sb.Append(Svg.SectorMap(Sectors(map.BadSectors), Sectors(map.EraseFailedSectors)));
        }
        using (var doc = JsonDocument.Parse(json))
            sb.Append("<details><summary>Evidence JSON</summary><pre>").Append(E(JsonSerializer.Serialize(doc.RootElement, ReportTables.Json))).Append("</pre></details>");
        return sb.ToString();
    }

    private static string LedChart(IReadOnlyList<LedEvidence> led) =>
        Svg.LedTimeline([.. led.Select(s => (s.Start * 1000, s.State))], led[^1].End * 1000);

    private static HashSet<uint> Sectors(string[]? sectors)
    {
        var set = new HashSet<uint>();
        foreach (var text in sectors ?? [])
        {
            if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                && uint.TryParse(text.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var address))
                set.Add(address);
        }
        return set;
    }
}
