using System.Globalization;
using System.Text;
using HilRig.Reports.Queries;
using HilRig.Reports.Statistics;

namespace HilRig.Reports.Html;

/// <summary>The filter a dashboard page was asked for, and the rigs and lines the store has to choose from.</summary>
public sealed record PageFilter(ResultFilter Filter, IReadOnlyList<string> Rigs, IReadOnlyList<string> Lines);

/// <summary>The dashboard's pages beyond the reports: runs, a run's slot, device search, failure modes, builds, slots, rigs.</summary>
public static partial class HtmlPages
{
    public static string RunHref(Guid run) => "/runs/" + run.ToString("D");

    public static string RunSlotHref(Guid run, int slot) => string.Create(CultureInfo.InvariantCulture, $"/runs/{run:D}/slots/{slot}");

    public static string ModeHref(string mode) => "/modes/" + Uri.EscapeDataString(mode);

    public static string BuildHref(string bootloader) => "/builds/" + Uri.EscapeDataString(bootloader);

    public static string SlotHref(int slot) => string.Create(CultureInfo.InvariantCulture, $"/slots/{slot}");

    private static string A(string href, string text) => $"<a href=\"{E(href)}\">{E(text)}</a>";

    private static string Time(DateTimeOffset? t) => t is { } v ? v.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : "";

    /// <summary>"25 s", "4 min 10 s", "2 h 05 min"; empty while a run has not ended.</summary>
    public static string Duration(DateTimeOffset start, DateTimeOffset? end)
    {
        if (end is not { } e) return "";
        var d = e - start;
        if (d < TimeSpan.Zero) d = TimeSpan.Zero;
        return d.TotalSeconds < 60 ? string.Create(CultureInfo.InvariantCulture, $"{d.TotalSeconds:0} s")
            : d.TotalHours < 1 ? string.Create(CultureInfo.InvariantCulture, $"{(int)d.TotalMinutes} min {d.Seconds:00} s")
            : string.Create(CultureInfo.InvariantCulture, $"{(int)d.TotalHours} h {d.Minutes:00} min");
    }

    /// <summary>
    /// From and to dates on every filtered page; rig and line choices when the store holds more than one rig (a fleet).
    /// A GET form: the filter lives in the address, so a filtered page can be bookmarked and linked.
    /// </summary>
    private static string FilterBar(PageFilter page, string action)
    {
        var f = page.Filter;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<form class=\"filter\" id=\"filter\" method=\"get\" action=\"{E(action)}\">");
        sb.Append(CultureInfo.InvariantCulture, $"<label>From <input name=\"from\" value=\"{E(f.FromText)}\" placeholder=\"2026-03-01\" size=\"16\"></label>");
        sb.Append(CultureInfo.InvariantCulture, $"<label>To <input name=\"to\" value=\"{E(f.ToText)}\" placeholder=\"2026-03-14\" size=\"16\"></label>");
        if (page.Rigs.Count > 1 || f.Rig is not null)
            sb.Append(Select("rig", "Rig", page.Rigs, f.Rig));
        if ((page.Rigs.Count > 1 && page.Lines.Count > 0) || f.Line is not null)
            sb.Append(Select("line", "Line", page.Lines, f.Line));
        sb.Append("<button type=\"submit\">Show</button>");
        if (!f.IsEmpty)
            sb.Append(CultureInfo.InvariantCulture, $" <a id=\"clear-filter\" href=\"{E(action)}\">all results</a>");
        sb.Append("</form>");
        if (!f.IsEmpty)
            sb.Append(CultureInfo.InvariantCulture, $"<p id=\"filter-note\" class=\"muted\">Only results {E(f.Describe())} are counted (dates in UTC; a unit's verdict is the latest of its attempts in range).</p>");
        return sb.ToString();
    }

    private static string Select(string name, string label, IReadOnlyList<string> options, string? chosen)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<label>{E(label)} <select name=\"{E(name)}\"><option value=\"\">all</option>");
        foreach (var o in options.Union(chosen is null ? [] : [chosen]))
            sb.Append(CultureInfo.InvariantCulture, $"<option{(o == chosen ? " selected" : "")}>{E(o)}</option>");
        sb.Append("</select></label>");
        return sb.ToString();
    }

    /// <summary>A warning per group whose interval is too wide to judge by (see <see cref="SampleSize"/>).</summary>
    private static string SampleWarnings(IEnumerable<(string Name, int Units, Interval Wilson)> groups, string what)
    {
        var lines = groups.Select(g => (g.Name, Warning: SampleSize.Warning(g.Units, g.Wilson))).Where(g => g.Warning is not null).ToList();
        if (lines.Count == 0) return "";
        var sb = new StringBuilder("<ul class=\"warn\" id=\"sample-warnings\">");
        foreach (var (name, warning) in lines)
            sb.Append(CultureInfo.InvariantCulture, $"<li>{E(what)} {E(name)}: {E(warning)}</li>");
        return sb.Append("</ul>").ToString();
    }

    /// <summary>Links of the device page's attempts table: the run, the slot in that run, the failure mode, the build.</summary>
    private static string? DeviceLink(int column, object?[] row)
    {
        if (row[1] is not string runText || !Guid.TryParse(runText, out var run)) return null;
        return column switch
        {
            1 => RunHref(run),
            6 when row[6] is int slot => RunSlotHref(run, slot),
            8 when row[8] is string mode => ModeHref(mode),
            11 when row[11] is string build => BuildHref(build),
            _ => null,
        };
    }

    public static string Runs(IReadOnlyList<RunListing> runs, int limit, PageFilter filter)
    {
        ArgumentNullException.ThrowIfNull(runs);
        ArgumentNullException.ThrowIfNull(filter);
        var body = new StringBuilder(FilterBar(filter, "/runs"));
        body.Append(CultureInfo.InvariantCulture, $"<p>{runs.Count} run(s){(runs.Count >= limit ? $", the newest {limit}" : "")}, newest first.</p>");
        body.Append(Table(DashboardTables.Runs(runs), "runs", (i, row) => RunsLink(i, row)));
        return Page("Runs", body.ToString(), true, filter.Filter.Link("/runs"));
    }

    private static string? RunsLink(int column, object?[] row) => column switch
    {
        0 => RunHref(Guid.Parse((string)row[0]!)),
        5 when row[5] is string build => BuildHref(build),
        _ => null,
    };

    public static string Run(RunDetail detail)
    {
        ArgumentNullException.ThrowIfNull(detail);
        var r = detail.Run;
        var body = new StringBuilder();
        body.Append("<table id=\"run\"><tbody>");
        void Row(string name, string html) => body.Append(CultureInfo.InvariantCulture, $"<tr><th>{E(name)}</th><td>{html}</td></tr>");
        Row("Run", E(r.Id.ToString("D")));
        Row("Kind", E(r.Kind));
        Row("Status", E(r.Status));
        Row("Rig", A("/runs?rig=" + Uri.EscapeDataString(r.RigId), r.RigId));
        if (r.Bootloader is not null) Row("Build", A(BuildHref(r.Bootloader), r.Bootloader));
        if (r.Seed is not null) Row("Seed", E(r.Seed.Value.ToString(CultureInfo.InvariantCulture)));
        Row("Started", E(Time(r.StartedAt)));
        Row("Ended", E(r.EndedAt is null ? "-" : Time(r.EndedAt)));
        Row("Duration", E(Duration(r.StartedAt, r.EndedAt) is { Length: > 0 } d ? d : "-"));
        Row("Results", E(string.Create(CultureInfo.InvariantCulture, $"{r.Results} ({r.Pass} pass, {r.Fail} fail, {r.RigFault} rig fault)")));
        body.Append("</tbody></table>");
        body.Append("<h2>Slots</h2>");
        // a slot that screened a whole batch lists its devices on its own page, not in one cell of this table
        var slots = DashboardTables.RunSlots(detail);
        slots = slots with
        {
            Rows = [.. slots.Rows.Select((row, n) => detail.Slots[n].Devices.Count > 1
                ? row.Select((v, i) => i == 1 ? (object?)string.Create(CultureInfo.InvariantCulture, $"{detail.Slots[n].Devices.Count} devices") : v).ToArray()
                : row)],
        };
        body.Append(detail.Slots.Count == 0 ? "<p>No results in this run.</p>" : Table(slots, "slots", (i, row) => i switch
        {
            0 => RunSlotHref(r.Id, (int)row[0]!),
            1 when detail.Slots.First(s => s.Slot == (int)row[0]!).Devices is { Count: 1 } one => DeviceHref(one[0]),
            1 => RunSlotHref(r.Id, (int)row[0]!),
            8 when row[8] is string mode => ModeHref(mode),
            _ => null,
        }, row => (string?)row[7] == "fail"));
        return Page($"Run {r.Id:D}", body.ToString(), true, RunHref(r.Id));
    }

    public static string RunSlot(RunSlotView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        var r = view.Run;
        var body = new StringBuilder();
        var devices = view.Results.Select(x => x.DeviceId).Distinct(StringComparer.Ordinal).ToList();
        body.Append(CultureInfo.InvariantCulture,
            $"<p id=\"slot-summary\">Slot {view.Slot} of run {A(RunHref(r.Id), r.Id.ToString("D"))} ({E(r.Kind)} on rig {E(r.RigId)}, started {E(Time(r.StartedAt))}): {view.Results.Count} result(s), device {string.Join(", ", devices.Select(d => A(DeviceHref(d), d)))}. <a href=\"{E(SlotHref(view.Slot))}\">This slot across runs</a>.</p>");
        body.Append(Table(DashboardTables.RunSlotResults(view), "results", (i, row) => i switch
        {
            1 => DeviceHref((string)row[1]!),
            6 when row[6] is string mode => ModeHref(mode),
            _ => null,
        }, row => (string?)row[5] == "fail"));
        // evidence of what went wrong first; a long soak slot shows its first 20 attempts with evidence
        var shown = view.Results.Where(x => x.EvidenceJson is not null).OrderByDescending(x => x.Verdict == "fail").Take(20).ToList();
        foreach (var x in shown)
        {
            body.Append(CultureInfo.InvariantCulture, $"<h2>{E(x.Test)}{(x.Cycle is { } c ? $", cycle {c}" : "")}, attempt {x.Attempt} on {A(DeviceHref(x.DeviceId), x.DeviceId)}: {E(x.Verdict)}</h2>");
            body.Append(Evidence(x.EvidenceJson!));
        }
        return Page($"Run {r.Id:D}, slot {view.Slot}", body.ToString(), true, RunSlotHref(r.Id, view.Slot));
    }

    public static string Search(DeviceSearch search)
    {
        ArgumentNullException.ThrowIfNull(search);
        var body = new StringBuilder();
        body.Append(CultureInfo.InvariantCulture,
            $"<form class=\"filter\" method=\"get\" action=\"/search\"><label>Device id, DFU serial or the start of one <input name=\"q\" id=\"q\" value=\"{E(search.Query)}\" size=\"30\"></label><button type=\"submit\">Find</button></form>");
        if (search.Query.Length == 0)
            body.Append("<p>Type a device id (24 hex digits), a DFU serial, or the first digits of either.</p>");
        else if (search.Matches.Count == 0)
            body.Append(CultureInfo.InvariantCulture, $"<p id=\"no-match\">No device in the results store matches '{E(search.Query)}'.</p>");
        else
            body.Append(CultureInfo.InvariantCulture, $"<p>{search.Matches.Count} device(s) start with '{E(search.Query)}'{(search.Matches.Count >= 50 ? " (the first 50)" : "")}:</p>")
                .Append(Table(DashboardTables.Matches(search), "matches", (i, row) => i switch
                {
                    0 => DeviceHref((string)row[0]!),
                    1 when row[1] is string lot => LotHref(lot),
                    _ => null,
                }));
        return Page("Find a device", body.ToString(), true, "/search?q=" + Uri.EscapeDataString(search.Query));
    }

    public static string Mode(FailureModeView view, PageFilter filter)
    {
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(filter);
        var body = new StringBuilder(FilterBar(filter, ModeHref(view.Mode)));
        body.Append(CultureInfo.InvariantCulture, $"<p id=\"mode-summary\">{view.Failures} {(view.Latest.Any(x => x.Verdict == "rig-fault") ? "rig-faulted" : "failed")} attempt(s) on {view.Devices} device(s) in {view.ByLot.Count} lot(s).</p>");
        body.Append("<h2>By lot</h2>").Append(Table(ReportTables.Categories("By lot", "lot", view.ByLot), "lots",
            (i, row) => i == 0 ? filter.Filter.Link(LotHref((string)row[0]!)) : null));
        body.Append(CultureInfo.InvariantCulture, $"<h2>Latest failures ({view.Latest.Count} of {view.Failures})</h2>").Append(Table(DashboardTables.Listing("Latest failures", view.Latest), "failures", ListingLink));
        return Page($"Failure mode {view.Mode}", body.ToString(), true, filter.Filter.Link(ModeHref(view.Mode)));
    }

    private static string? ListingLink(int column, object?[] row) => column switch
    {
        1 => DeviceHref((string)row[1]!),
        2 => LotHref((string)row[2]!),
        3 => RunHref(Guid.Parse((string)row[3]!)),
        5 => RunSlotHref(Guid.Parse((string)row[3]!), (int)row[5]!),
        8 when row[8] is string mode => ModeHref(mode),
        _ => null,
    };

    public static string Build(BuildView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        var body = new StringBuilder();
        if (view.Soak is { } s)
            body.Append(CultureInfo.InvariantCulture,
                $"<p id=\"build-summary\">Soaked {s.Cycles} cycles, {s.Failures} failure(s): {s.PerThousandCycles.Point:0.00} per 1,000 cycles (Garwood 95 % {s.PerThousandCycles.Lower:0.00} - {s.PerThousandCycles.Upper:0.00}). <a href=\"/soak\">Against the other builds</a>.</p>");
        else
            body.Append("<p id=\"build-summary\">Not soaked (or only in interrupted runs).</p>");
        body.Append(CultureInfo.InvariantCulture, $"<h2>Runs of {E(view.Bootloader)} ({view.Runs.Count})</h2>");
        body.Append(Table(DashboardTables.BuildRuns(view), "runs", (i, row) => i == 0 ? RunHref(Guid.Parse((string)row[0]!)) : null));
        return Page($"Build {view.Bootloader}", body.ToString(), true, BuildHref(view.Bootloader));
    }

    public static string Slot(SlotView view, PageFilter filter)
    {
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(filter);
        var body = new StringBuilder(FilterBar(filter, SlotHref(view.Slot)));
        if (view.Health is { } h)
            body.Append(CultureInfo.InvariantCulture,
                $"<p id=\"slot-health\">{h.Devices} device(s) tested, {h.FailedDevices} failed or rig-faulted ({Svg.Percent(h.Rate)}; p-chart limit {Svg.Percent(h.UpperLimit)}): <strong>{(h.Suspect ? "SUSPECT" : "within limits")}</strong>. All rigs' slot {view.Slot} together.</p>");
        body.Append(CultureInfo.InvariantCulture, $"<h2>Latest results ({view.Latest.Count})</h2>").Append(Table(DashboardTables.Listing("Latest results", view.Latest), "results", ListingLink,
            row => (string?)row[7] == "fail"));
        return Page($"Slot {view.Slot}", body.ToString(), true, filter.Filter.Link(SlotHref(view.Slot)));
    }

    public static string Rigs(RigsView view, PageFilter filter)
    {
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(filter);
        var body = new StringBuilder(FilterBar(filter, "/rigs"));
        var judged = view.Rigs.Where(r => r.Rate is not null).ToList();
        body.Append(CultureInfo.InvariantCulture,
            $"<p>{view.Rigs.Count} rig(s){(view.Fleet ? " syncing into this fleet database" : " in this store")}. A rig's units are those it judged (a Core screened on two rigs counts on each); a flagged rig fails more units than the rigs together explain: look at its fixtures before its chips.</p>");
        if (judged.Count > 0)
            body.Append(Svg.IntervalChart("Failure rate by rig: Wilson 95 % interval, grey tick = p-chart limit",
                [.. judged.Select(r => (r.RigId, r.Rate!.Wilson.Point, r.Rate.Wilson.Lower, r.Rate.Wilson.Upper, (double?)r.Rate.PChart.UpperLimit, r.Rate.Flagged))],
                judged[0].Rate!.PChart.Centre, Svg.Percent));
        body.Append(SampleWarnings(judged.Select(r => (r.RigId, r.Rate!.Units, r.Rate.Wilson)), "Rig"));
        body.Append(Table(DashboardTables.Rigs(view), "rigs", (i, row) => i switch
        {
            0 => (filter.Filter with { Rig = (string)row[0]!, Line = null }).Link("/lots"),
            1 when row[1] is string line => (filter.Filter with { Line = line, Rig = null }).Link("/lots"),
            _ => null,
        }, row => row[8] is true));
        if (view.Lines.Count > 0)
        {
            var lines = view.Lines.Where(l => l.Rate is not null).ToList();
            body.Append("<h2>Lines</h2>");
            if (lines.Count > 0)
                body.Append(Svg.IntervalChart("Failure rate by line: Wilson 95 % interval, grey tick = p-chart limit",
                    [.. lines.Select(l => (l.Line, l.Rate!.Wilson.Point, l.Rate.Wilson.Lower, l.Rate.Wilson.Upper, (double?)l.Rate.PChart.UpperLimit, l.Rate.Flagged))],
                    lines[0].Rate!.PChart.Centre, Svg.Percent));
            body.Append(SampleWarnings(lines.Select(l => (l.Line, l.Rate!.Units, l.Rate.Wilson)), "Line"));
            body.Append(Table(DashboardTables.Lines(view), "lines", (i, row) => i == 0 ? (filter.Filter with { Line = (string)row[0]!, Rig = null }).Link("/lots") : null, row => row[7] is true));
        }
        return Page("Rigs", body.ToString(), true, filter.Filter.Link("/rigs"));
    }
}

/// <summary>The dashboard pages' tables: the single source of their HTML and CSV, with headers in words.</summary>
public static class DashboardTables
{
    private static Column C(string name, CellKind kind, string header) => new(name, kind, header);

    private static string Time(DateTimeOffset? t) => t is { } v ? v.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : "";

    public static ReportTable Runs(IEnumerable<RunListing> runs) => new(
        "Runs",
        [
            C("id", CellKind.Text, "Run"), C("kind", CellKind.Text, "Kind"), C("status", CellKind.Text, "Status"), C("rigId", CellKind.Text, "Rig"),
            C("seed", CellKind.Count, "Seed"), C("bootloader", CellKind.Text, "Build"), C("startedAt", CellKind.Text, "Started (UTC)"),
            C("duration", CellKind.Text, "Duration"), C("results", CellKind.Count, "Results"), C("pass", CellKind.Count, "Pass"),
            C("fail", CellKind.Count, "Fail"), C("rigFault", CellKind.Count, "Rig fault"),
        ],
        [.. runs.Select(r => new object?[]
        {
            r.Id.ToString("D"), r.Kind, r.Status, r.RigId, r.Seed, r.Bootloader, Time(r.StartedAt), HtmlPages.Duration(r.StartedAt, r.EndedAt),
            r.Results, r.Pass, r.Fail, r.RigFault,
        })]);

    public static ReportTable RunSlots(RunDetail detail) => new(
        $"Run {detail.Run.Id:D}",
        [
            C("slot", CellKind.Count, "Slot"), C("devices", CellKind.Text, "Device"), C("results", CellKind.Count, "Results"),
            C("pass", CellKind.Count, "Pass"), C("fail", CellKind.Count, "Fail"), C("rigFault", CellKind.Count, "Rig fault"),
            C("lastTest", CellKind.Text, "Last test"), C("lastVerdict", CellKind.Text, "Verdict"), C("failureMode", CellKind.Text, "Failure mode"),
        ],
        [.. detail.Slots.Select(s => new object?[] { s.Slot, string.Join(' ', s.Devices), s.Results, s.Pass, s.Fail, s.RigFault, s.LastTest, s.LastVerdict, s.FailureMode })]);

    public static ReportTable RunSlotResults(RunSlotView view) => new(
        $"Run {view.Run.Id:D}, slot {view.Slot}",
        [
            C("startedAt", CellKind.Text, "Started (UTC)"), C("deviceId", CellKind.Text, "Device"), C("test", CellKind.Text, "Test"),
            C("cycle", CellKind.Count, "Cycle"), C("attempt", CellKind.Count, "Attempt"), C("verdict", CellKind.Text, "Verdict"),
            C("failureMode", CellKind.Text, "Failure mode"), C("deviceTimeMs", CellKind.Count, "Device time (ms)"), C("signature", CellKind.Text, "Signature"),
        ],
        [.. view.Results.Select(r => new object?[] { Time(r.StartedAt), r.DeviceId, r.Test, r.Cycle, r.Attempt, r.Verdict, r.FailureMode, r.DeviceTimeMs, r.Signature })]);

    public static ReportTable Matches(DeviceSearch search) => new(
        "Devices found",
        [C("deviceId", CellKind.Text, "Device"), C("lot", CellKind.Text, "Lot"), C("dfuSerial", CellKind.Text, "DFU serial")],
        [.. search.Matches.Select(m => new object?[] { m.DeviceId, m.Lot, m.DfuSerial })]);

    public static ReportTable Listing(string title, IEnumerable<ResultListing> rows) => new(
        title,
        [
            C("startedAt", CellKind.Text, "Started (UTC)"), C("deviceId", CellKind.Text, "Device"), C("lot", CellKind.Text, "Lot"), C("runId", CellKind.Text, "Run"),
            C("rigId", CellKind.Text, "Rig"), C("slot", CellKind.Count, "Slot"), C("test", CellKind.Text, "Test"), C("verdict", CellKind.Text, "Verdict"),
            C("failureMode", CellKind.Text, "Failure mode"), C("cycle", CellKind.Count, "Cycle"), C("signature", CellKind.Text, "Signature"),
        ],
        [.. rows.Select(r => new object?[] { Time(r.StartedAt), r.DeviceId, r.Lot, r.RunId.ToString("D"), r.RigId, r.Slot, r.Test, r.Verdict, r.FailureMode, r.Cycle, r.Signature })]);

    public static ReportTable BuildRuns(BuildView view) => new(
        $"Runs of {view.Bootloader}",
        [
            C("id", CellKind.Text, "Run"), C("kind", CellKind.Text, "Kind"), C("status", CellKind.Text, "Status"), C("rigId", CellKind.Text, "Rig"),
            C("startedAt", CellKind.Text, "Started (UTC)"), C("duration", CellKind.Text, "Duration"), C("soakCycles", CellKind.Count, "Soak cycles"),
            C("soakFailures", CellKind.Count, "Soak failures"), C("results", CellKind.Count, "Results"),
        ],
        [.. view.Runs.Select(b => new object?[]
        {
            b.Run.Id.ToString("D"), b.Run.Kind, b.Run.Status, b.Run.RigId, Time(b.Run.StartedAt), HtmlPages.Duration(b.Run.StartedAt, b.Run.EndedAt),
            b.Cycles, b.Failures, b.Run.Results,
        })]);

    public static ReportTable Rigs(RigsView view) => new(
        "Rigs",
        [
            C("rigId", CellKind.Text, "Rig"), C("line", CellKind.Text, "Line"), C("units", CellKind.Count, "Units"), C("failed", CellKind.Count, "Failed"),
            C("failureRate", CellKind.Rate, "Failure rate"), C("lower", CellKind.Rate, "Wilson 95 % low"), C("upper", CellKind.Rate, "Wilson 95 % high"),
            C("pChartUpperLimit", CellKind.Rate, "p-chart UCL"), C("flagged", CellKind.Flag, "Flag"), C("results", CellKind.Count, "Results"),
            C("rigFaults", CellKind.Count, "Rig faults"), C("runs", CellKind.Count, "Runs"), C("lastResultAt", CellKind.Text, "Last result (UTC)"),
            C("lastSyncAt", CellKind.Text, "Last sync (UTC)"), C("softwareVersion", CellKind.Text, "Software"),
            C("resultsPerDay", CellKind.Number, $"Results/day ({ResultsQueries.RateDays} d)"), C("slotsGood", CellKind.Count, "Slots good"),
            C("slotsSuspect", CellKind.Count, "Slots suspect"), C("slotsQuarantined", CellKind.Count, "Slots quarantined"),
            C("slotsMaintenance", CellKind.Count, "Slots maintenance"),
        ],
        [.. view.Rigs.Select(r => new object?[]
        {
            r.RigId, r.Line, r.Rate?.Units ?? 0, r.Rate?.Failed ?? 0, r.Rate?.Wilson.Point, r.Rate?.Wilson.Lower, r.Rate?.Wilson.Upper, r.Rate?.PChart.UpperLimit,
            r.Rate?.Flagged ?? false, r.Results, r.RigFaults, r.Runs, Time(r.LastResultAt), view.Fleet ? (r.LastSyncAt is null ? "never" : Time(r.LastSyncAt)) : "(rig's own store)",
            r.SoftwareVersion, r.ResultsPerDay, r.SlotHealth?.Good ?? 0, r.SlotHealth?.Suspect ?? 0, r.SlotHealth?.Quarantined ?? 0,
            r.SlotHealth?.Maintenance ?? 0,
        })]);

    public static ReportTable Lines(RigsView view) => new(
        "Lines",
        [
            C("line", CellKind.Text, "Line"), C("rigs", CellKind.Count, "Rigs"), C("units", CellKind.Count, "Units"), C("failed", CellKind.Count, "Failed"),
            C("failureRate", CellKind.Rate, "Failure rate"), C("lower", CellKind.Rate, "Wilson 95 % low"), C("upper", CellKind.Rate, "Wilson 95 % high"),
            C("flagged", CellKind.Flag, "Flag"), C("results", CellKind.Count, "Results"), C("rigFaults", CellKind.Count, "Rig faults"),
        ],
        [.. view.Lines.Select(l => new object?[]
        {
            l.Line, l.Rigs, l.Rate?.Units ?? 0, l.Rate?.Failed ?? 0, l.Rate?.Wilson.Point, l.Rate?.Wilson.Lower, l.Rate?.Wilson.Upper, l.Rate?.Flagged ?? false,
            l.Results, l.RigFaults,
        })]);
}
