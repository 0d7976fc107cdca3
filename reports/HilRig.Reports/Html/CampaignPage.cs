using System.Globalization;
using System.Net;
using System.Text;
using HilRig.Core.Campaigns;
using HilRig.Reports.Campaigns;

namespace HilRig.Reports.Html;

/// <summary>
/// The dashboard's campaign pages: the list, and one campaign's progress, decision and evidence per lot and per rig,
/// with its lots linked to their pages and its runs named. Self-contained HTML (inline CSS, no script); the page asks
/// the browser to reload itself while the campaign runs.
/// </summary>
public static class CampaignPage
{
    private const string Style = """
        body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}nav a{margin-right:1rem}table{border-collapse:collapse;margin:.5rem 0 1.2rem}
        th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}th:first-child,td:first-child{text-align:left}.muted{color:#666}
        .nogo{background:#fde2e2}.go{background:#e2f6e2}.undecided{background:#fff6d6}.decision{padding:.6rem 1rem;border-radius:4px;font-size:1.1rem}
        progress{width:16rem}
        """;

    private static string E(string? s) => WebUtility.HtmlEncode(s ?? "");

    public static string List(IReadOnlyList<CampaignRecord> campaigns)
    {
        var sb = new StringBuilder();
        if (campaigns.Count == 0)
            sb.Append("<p class=\"muted\">No campaigns in this store (`hilrig campaign create NAME` on the fleet database).</p>");
        else
        {
            sb.Append("<table id=\"campaigns\"><tr><th>campaign</th><th>kind</th><th>candidate vs baseline</th><th>state</th><th>decision</th><th>created</th></tr>");
            foreach (var c in campaigns)
                sb.Append(CultureInfo.InvariantCulture,
                    $"<tr><td><a href=\"{Href(c.Name)}\">{E(c.Name)}</a></td><td>{E(c.Kind)}</td><td>{E(c.Bootloader)} vs {E(c.Baseline)}</td><td>{E(c.State)}</td><td>{E(c.Decision ?? "-")}</td><td>{c.CreatedAt:yyyy-MM-dd HH:mm}Z</td></tr>");
            sb.Append("</table>");
        }
        return Page("Campaigns", sb.ToString(), refresh: false);
    }

    public static string Href(string campaign) => "/campaigns/" + Uri.EscapeDataString(campaign);

    public static string Render(CampaignStatusReport r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(c, $"<p class=\"muted\">Data: <a id=\"json\" href=\"{Href(r.Name)}?format=json\">JSON</a></p>");
        sb.Append(c, $"<p>{E(r.Kind)} campaign, <b>{E(r.State)}</b>: {E(r.Candidate)} against {E(r.Baseline)}; margin {r.Margin} (ratio at most {1 + r.Margin:0.##}), alpha {r.Alpha}, power {r.Power}</p>");
        var total = r.Items.Count;
        sb.Append(c, $"<p>Work items: <progress max=\"{Math.Max(total, 1)}\" value=\"{r.ItemsDone}\"></progress> {r.ItemsDone} done, {r.ItemsLeased} leased, {r.ItemsQueued} queued, {r.ItemsSkipped} skipped of {total}; cycles credited: {r.CandidateCycles} candidate, {r.BaselineCycles} baseline ({r.PlannedCycles} planned)</p>");
        var css = r.Decision.Label switch { "no-go" => "nogo", "go" => "go", _ => "undecided" };
        sb.Append(c, $"<p id=\"decision\" class=\"decision {css}\"><b>{E(r.Decision.Label.ToUpperInvariant())}</b>: {E(r.Decision.Summary)}</p>");
        sb.Append(r.Kind == "screen"
            ? string.Create(c, $"<p class=\"muted\">On {r.Decision.LooksComplete} of {r.Decision.LooksPlanned} batches screened. {E(r.Decision.Method)}.</p>")
            : string.Create(c, $"<p class=\"muted\">On looks 1..{r.Decision.LooksComplete} complete of {r.Decision.LooksPlanned}, in plan order. {E(r.Decision.Method)}.</p>"));

        if (r.Lots.Count > 0)
        {
            sb.Append("<h2>Evidence per lot</h2><table id=\"lots\"><tr><th>lot</th><th>candidate cycles</th><th>failures</th><th>per 1,000 [95 %]</th><th>baseline cycles</th><th>failures</th><th>per 1,000 [95 %]</th><th>exact p</th><th>log LR</th><th>verdict</th><th>failure modes (candidate/baseline)</th></tr>");
            foreach (var l in r.Lots.Append(r.Overall!))
            {
                var name = l.Lot == "overall" ? "<b>overall</b>" : $"<a href=\"/lots/{Uri.EscapeDataString(l.Lot)}\">{E(l.Lot)}</a>";
                sb.Append(c, $"<tr class=\"{(l.NoGo ? "nogo" : "")}\"><td>{name}</td><td>{l.CandidateCycles}</td><td>{l.CandidateFailures}</td><td>{l.CandidatePerThousand}</td><td>{l.BaselineCycles}</td><td>{l.BaselineFailures}</td><td>{l.BaselinePerThousand}</td><td>{l.ExactP:0.#####}</td><td>{l.LogLikelihoodRatio:0.###}</td><td>{(l.NoGo ? "no-go" : "")}</td><td>{E(string.Join(", ", l.Modes.Select(m => $"{m.Mode} {m.Candidate}/{m.Baseline}")))}</td></tr>");
            }
            sb.Append("</table>");
        }
        if (r.Units.Count > 0)
        {
            sb.Append("<h2>Screened units per lot</h2><table id=\"units\"><tr><th>lot</th><th>units</th><th>failed</th><th>failed share [95 %]</th><th>yield % [95 %]</th><th>p against the other lots</th><th>verdict</th></tr>");
            foreach (var u in r.Units)
                sb.Append(c, $"<tr class=\"{(u.NoGo ? "nogo" : "")}\"><td><a href=\"/lots/{Uri.EscapeDataString(u.Lot)}\">{E(u.Lot)}</a></td><td>{u.Units}</td><td>{u.Failed}</td><td>{u.FailedShare}</td><td>{u.YieldPercent}</td><td>{(u.ExactP is { } p ? p.ToString("0.#####", c) : "-")}</td><td>{(u.NoGo ? "no-go" : "")}</td></tr>");
            sb.Append("</table>");
        }

        sb.Append("<h2>Rigs</h2><table id=\"rigs\"><tr><th>rig</th><th>items planned</th><th>done</th><th>leased</th><th>candidate cycles</th><th>baseline cycles</th><th>failures</th><th>agent</th><th>runs</th></tr>");
        foreach (var g in r.Rigs)
            sb.Append(c, $"<tr><td>{E(g.Rig)}</td><td>{g.ItemsPlanned}</td><td>{g.ItemsDone}</td><td>{g.ItemsLeased}</td><td>{g.CandidateCycles}</td><td>{g.BaselineCycles}</td><td>{g.Failures}</td><td>{E(g.Agent ?? "no agent")}{(g.HeartbeatAgeSeconds is { } age ? $", heartbeat {age:0.#} s ago" : "")}</td><td>{g.Runs.Count}</td></tr>");
        sb.Append("</table>");

        sb.Append("<h2>Work items</h2><table id=\"items\"><tr><th>item</th><th>look</th><th>arm</th><th>planned on</th><th>state</th><th>cycles per slot</th><th>held / finished by</th><th>attempts</th><th>runs credited</th></tr>");
        foreach (var i in r.Items.Where(i => i.State != "skipped" || i.Runs.Count > 0))
            sb.Append(c, $"<tr><td>{i.Number}</td><td>{i.Look}</td><td>{E(i.Arm)}</td><td>{E(i.PlannedRig)}</td><td>{E(i.State)}{(i.LeaseSecondsLeft is { } left ? left >= 0 ? $" ({left:0} s left)" : " (expired)" : "")}</td><td>{i.CyclesDone}/{i.CyclesPerSlot}</td><td>{E(i.LeasedBy ?? "")}</td><td>{i.Attempts}</td><td>{string.Join(" ", i.Runs.Select(RunLink))}</td></tr>");
        sb.Append("</table>");
        return Page($"Campaign {r.Name}", sb.ToString(), refresh: r.State == "running");
    }

    // the run's page on this dashboard, named by its first digits as `hilrig runs` shows it
    private static string RunLink(string run) => $"<a href=\"/runs/{Uri.EscapeDataString(run)}\">{E(run.Length > 8 ? run[..8] : run)}</a>";

    private static string Page(string title, string body, bool refresh)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">");
        // live progress without script: the browser reloads the page while the campaign runs
        if (refresh) sb.Append("<meta http-equiv=\"refresh\" content=\"5\">");
        sb.Append("<title>").Append(E(title)).Append(" - HilRig</title><style>").Append(Style).Append("</style></head><body>");
        sb.Append("<nav><a href=\"/lots\">Lots</a><a href=\"/modes\">Failure modes</a><a href=\"/soak\">Soak</a><a href=\"/slots\">Slots</a><a href=\"/campaigns\">Campaigns</a></nav>");
        sb.Append("<h1>").Append(E(title)).Append("</h1>").Append(body).Append("</body></html>");
        return sb.ToString();
    }
}
