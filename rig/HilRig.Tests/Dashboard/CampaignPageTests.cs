using System.Net;
using System.Text.Json;
using HilRig.Core.Campaigns;
using HilRig.Core.Results;
using HilRig.Dashboard;
using HilRig.Tests.Cli;
using HilRig.Tests.Support;
using Microsoft.AspNetCore.Builder;

namespace HilRig.Tests.Dashboard;

/// <summary>
/// The dashboard's campaign pages over a fleet database: a soak campaign whose first look one rig ran (the candidate failing
/// every cycle of one lot's Core) and whose next item it holds. Over HTTP, then in Debian's chromium: what an engineer reads
/// (decision, evidence per lot, rigs, the item in progress) and follows (the runs behind the counts).
/// </summary>
[NonParallelizable]
[Category("Integration")] // PostgreSQL, a web server, chromium
public class CampaignPageTests
{
    private const string Name = "page-bl15";
    private string _admin = "";
    private string _rig = "";
    private string _lotA = "";
    private string _lotB = "";
    private readonly List<Guid> _runs = [];
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _admin = TestPostgres.NewDatabase("campaignpage");
        FleetSchema.Init(_admin);
        var suffix = Guid.NewGuid().ToString("N")[..8];
        _rig = $"rig-p-{suffix}";
        (_lotA, _lotB) = ($"LOT-A-{suffix}", $"LOT-B-{suffix}");
        var queue = new CampaignQueue(FleetSchema.AddRig(_admin, _rig).ConnectionString);
        queue.Heartbeat(8, 4242, "bench-host", "idle", TimeSpan.FromMinutes(5));
        Assert.That(CampaignValidation.TryParse(new CampaignRequest(Name) { Bootloader = "candidate", Baseline = "BL14", Cycles = "160", Lots = $"{_lotA},{_lotB}" },
            out var campaign, out var errors), Is.True, string.Join("; ", errors));
        Assert.That(CampaignPlanner.TryPlan(campaign!, [new RigCapacity(_rig, 8)], out var plan, out var error), Is.True, error);
        CampaignStore.Create(_admin, plan!, null);
        Central.Execute(
            $"INSERT INTO devices (device_id, lot, first_seen) VALUES ('dev-a-{suffix}', '{_lotA}', '2026-12-03T00:00:00.000Z'), ('dev-b-{suffix}', '{_lotB}', '2026-12-03T00:00:00.000Z')");

        // look 1: the candidate item fails every cycle of lot A's Core, the baseline item passes them all
        foreach (var failA in new[] { true, false })
        {
            var item = queue.Claim(TimeSpan.FromMinutes(5))!;
            var run = Guid.CreateVersion7();
            _runs.Add(run);
            Central.Execute(
                $"INSERT INTO runs (id, rig_id, config_hash, seed, bootloader, kind, started_at, status) VALUES ('{run:D}', '{_rig}', 'x', 1, '{item.Bootloader}', 'soak', '2026-12-03T00:00:00.000Z', 'passed')",
                Cycles(run, $"dev-a-{suffix}", item.CyclesPerSlot, failA),
                Cycles(run, $"dev-b-{suffix}", item.CyclesPerSlot, fail: false));
            Assert.That(queue.Renew(item.LeaseId, run, item.CyclesPerSlot, TimeSpan.FromMinutes(5)), Is.EqualTo(RenewOutcome.Ok));
            Assert.That(queue.Release(item.LeaseId), Is.EqualTo("done"));
        }
        // look 2's candidate item is in progress
        Assert.That(queue.Claim(TimeSpan.FromMinutes(5)), Is.Not.Null);

        _app = DashboardApp.Build(Central.Queries(), "http://127.0.0.1:0");
        await _app.StartAsync();
        _http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(DashboardApp.Addresses(_app)[0]) };
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        _http?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    private TestStore Central => TestStore.Postgres(_admin);

    private static string Cycles(Guid run, string device, int cycles, bool fail) =>
        $"""
        INSERT INTO results (id, run_id, device_id, slot, test, cycle, attempt, verdict, failure_mode, started_at, ended_at)
        SELECT gen_random_uuid()::text, '{run:D}', '{device}', 1, 'ota', g, 1, '{(fail ? "fail" : "pass")}', {(fail ? "'factory-reset-failed'" : "NULL")},
               '2026-12-03T00:00:00.000Z', '2026-12-03T00:00:01.000Z'
        FROM generate_series(1, {cycles}) g
        """;

    private async Task<(HttpStatusCode Status, string Body)> Get(string path)
    {
        using var response = await _http.GetAsync(new Uri(path, UriKind.Relative));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task The_campaign_page_shows_the_decision_the_evidence_per_lot_the_rig_and_the_item_in_progress_as_status_computes_them()
    {
        var (listStatus, list) = await Get("/campaigns");
        Assert.That(listStatus, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(list, Does.Contain($"<a href=\"/campaigns/{Name}\">{Name}</a>").And.Contain("candidate vs BL14").And.Contain("running"));

        var (status, html) = await Get($"/campaigns/{Name}");
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        var (_, body) = await Get($"/campaigns/{Name}?format=json");
        var json = JsonDocument.Parse(body).RootElement;
        // the CLI's status and the page read the same snapshot through the same rule
        var cli = CliHarness.Run("campaign", "status", Name, "--format", "json", "--to", _admin);
        Assert.That(cli.Exit, Is.Zero, cli.Error);
        var fromCli = JsonDocument.Parse(cli.Output).RootElement;
        Assert.That(json.GetProperty("decision").GetProperty("summary").GetString(), Is.EqualTo(fromCli.GetProperty("decision").GetProperty("summary").GetString()));

        var decision = json.GetProperty("decision");
        Assert.That(decision.GetProperty("label").GetString(), Is.EqualTo("undecided"), "two failures against none is far from either boundary");
        Assert.That(html, Does.Contain($"<p id=\"decision\" class=\"decision undecided\"><b>UNDECIDED</b>: {WebUtility.HtmlEncode(decision.GetProperty("summary").GetString())}</p>"));
        Assert.That(html, Does.Contain("On looks 1..1 complete of"));
        Assert.That(html, Does.Contain("<meta http-equiv=\"refresh\""), "a running campaign's page reloads itself");

        // lot A: the candidate's 2 cycles both failed, the baseline's 2 passed; lot B clean in both arms
        var perSlot = json.GetProperty("items")[0].GetProperty("cyclesPerSlot").GetInt32();
        Assert.That(html, Does.Contain($"<td><a href=\"/lots/{_lotA}\">{_lotA}</a></td><td>{perSlot}</td><td>{perSlot}</td>"));
        Assert.That(html, Does.Contain($"<td><a href=\"/lots/{_lotB}\">{_lotB}</a></td><td>{perSlot}</td><td>0</td>"));
        Assert.That(html, Does.Contain($"factory-reset-failed {perSlot}/0"));
        Assert.That(html, Does.Contain($"<td>{_rig}</td><td>{json.GetProperty("items").GetArrayLength()}</td><td>2</td><td>1</td>"), "items planned, done, leased");
        Assert.That(html, Does.Contain("working, heartbeat"));
        Assert.That(html, Does.Match("<td>3</td><td>2</td><td>candidate</td><td>[^<]+</td><td>leased \\(\\d+ s left\\)</td>"), "item 3 (look 2) held, with its lease");
        foreach (var run in _runs)
            Assert.That(html, Does.Contain($"<a href=\"/runs/{run:D}\">{run:D}"[..^28]), $"run {run} linked");

        var (missing, text) = await Get("/campaigns/no-such-campaign");
        Assert.That(missing, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(text, Does.Contain("no campaign 'no-such-campaign'"));
    }

    [Test]
    public async Task In_a_browser_the_decision_is_read_and_a_credited_run_is_one_click_away()
    {
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        var response = await page.GotoAsync(DashboardApp.Addresses(_app)[0] + $"/campaigns/{Name}");
        Assert.That(response!.Status, Is.EqualTo(200));
        Assert.That(await page.TitleAsync(), Is.EqualTo($"Campaign {Name} - HilRig"));
        Assert.That(await page.Locator("#decision").InnerTextAsync(), Does.StartWith("UNDECIDED:"));
        Assert.That(await page.Locator("#lots tr.nogo").CountAsync(), Is.Zero);
        Assert.That(await page.Locator("#lots tr").CountAsync(), Is.EqualTo(4), "a header, two lots and overall");
        await Browser.ScreenshotAsync(page, "campaign-page.png", "campaign page, look 1 of a candidate against BL14");

        await page.Locator("#items a").First.ClickAsync();
        await page.WaitForURLAsync($"**/runs/{_runs[0]:D}");
        Assert.That(await page.ContentAsync(), Does.Contain(_runs[0].ToString("D")));
    }
}
