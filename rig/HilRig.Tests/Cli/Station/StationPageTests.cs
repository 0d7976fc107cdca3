using System.Net;
using HilRig.Cli.Station;
using HilRig.Core.Inventory;
using HilRig.Core.Procedures;
using HilRig.Core.Station;
using HilRig.Sim.Fleet;
using Microsoft.Playwright;

namespace HilRig.Tests.Station;

/// <summary>
/// The live station page: read-only and guarded as the dashboard is, and in a real browser (Debian's chromium driven by
/// Playwright) following a simulated shift as it happens, pushed over server-sent events, without a reload.
/// </summary>
[NonParallelizable]
[Category("Integration")] // serves pages, starts chromium
public class StationPageTests
{
    private const string Hostile = "<img src=x onerror=\"document.title='owned'\">&lot";

    [Test]
    public async Task The_page_is_read_only_loopback_only_and_sends_the_protective_headers()
    {
        var board = new StationBoard([1, 2], TimeProvider.System);
        board.Screening(1, "55ff00000000000000000abc", Hostile, 1, null);
        await using var web = StationWeb.Build(board, "station <t>", "http://127.0.0.1:0");
        await web.StartAsync();
        var address = HilRig.Dashboard.DashboardApp.Addresses(web)[0];
        using var http = new HttpClient();

        using var page = await http.GetAsync(new Uri(address + "/"));
        var html = await page.Content.ReadAsStringAsync();
        using var post = await http.PostAsync(new Uri(address + "/"), new StringContent(""));
        using var remote = new HttpRequestMessage(HttpMethod.Get, new Uri(address + "/state.json"));
        remote.Headers.Host = "rebound.example";
        using var rebound = await http.SendAsync(remote);

        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(page.Headers.GetValues("Content-Security-Policy").Single(), Does.Contain("default-src 'none'").And.Contain("script-src 'self'").And.Contain("frame-ancestors 'none'"));
        Assert.That(page.Headers.GetValues("X-Content-Type-Options").Single(), Is.EqualTo("nosniff"));
        Assert.That(page.Headers.GetValues("X-Frame-Options").Single(), Is.EqualTo("DENY"));
        Assert.That(html, Does.Contain("&lt;img src=x onerror=&quot;document.title=&#39;owned&#39;&quot;&gt;&amp;lot").And.Not.Contain("<img"), "values are escaped");
        Assert.That(html, Does.Contain("<title>station &lt;t&gt;</title>"));
        Assert.That(post.StatusCode, Is.EqualTo(HttpStatusCode.MethodNotAllowed));
        Assert.That(rebound.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "a rebound DNS name is not served on loopback");
        Assert.That(StationWeb.CheckUrls("http://0.0.0.0:5081", allowRemote: false), Does.Contain("not a loopback address"));
        Assert.That(StationWeb.CheckUrls("http://0.0.0.0:5081", allowRemote: true), Is.Null);
        Assert.That(StationWeb.DefaultUrls, Does.StartWith("http://127.0.0.1:"));
    }

    /// <summary>A seed whose first Cores include a bad chip, so the shift shows a FAIL.</summary>
    private static int SeedWithBadChip(int cores)
    {
        for (var seed = 1; ; seed++)
        {
            var plan = FleetPlan.Create(new FleetOptions(cores, 4, seed, 2));
            if (plan.Devices().Count(d => SimulatedShift.IsBadChip(d.Flash)) >= 2) return seed;
        }
    }

    [Test]
    public async Task In_chromium_the_page_follows_a_simulated_shift_live_and_ends_with_the_stores_yield()
    {
        var chromium = ExternalTool.Require("chromium");
        const int cores = 24;
        using var shift = SimulatedShift.Open(cores, lots: 4, badLots: 2, seed: SeedWithBadChip(cores), handling: 8, sixteen: false);
        // a lot name that is markup: shown as text, never run
        var first = shift.Line.Population.Device(0);
        shift.Store.ImportDevices([new DeviceLot(first.DeviceId, Hostile, null, null)], DateTimeOffset.UtcNow);
        var (station, recorder) = shift.StartStation(readbackOnly: true);
        await using var web = StationWeb.Build(station.Board, "HilRig station", "http://127.0.0.1:0");
        await web.StartAsync();

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        await page.GotoAsync(HilRig.Dashboard.DashboardApp.Addresses(web)[0] + "/");
        Assert.That(await page.Locator(".tile").CountAsync(), Is.EqualTo(8));
        Assert.That(await page.Locator("#slot-1 [data-f=instruction]").InnerTextAsync(), Is.EqualTo("drop in a Core"));
        // what the tiles show as the shift goes: every verdict, instruction, LED colour and the lot's text, and a marker a reload would lose
        await page.EvaluateAsync("""
            () => {
              window.notReloaded = true;
              window.seen = { verdicts: [], instructions: [], colours: [], lots: [], phases: [] };
              const note = (list, v) => { if (v && !list.includes(v)) list.push(v); };
              new MutationObserver(() => {
                document.querySelectorAll('.tile').forEach(t => {
                  note(seen.verdicts, t.querySelector('[data-f=verdict]').textContent);
                  note(seen.instructions, t.querySelector('[data-f=instruction]').textContent);
                  note(seen.colours, t.querySelector('[data-f=ledRgb]').style.backgroundColor);
                  note(seen.lots, t.querySelector('[data-f=lot]').textContent);
                  note(seen.phases, t.dataset.phase);
                });
              }).observe(document.getElementById('tiles'), { subtree: true, childList: true, characterData: true, attributes: true });
            }
            """);

        var running = Task.Run(() => shift.Run(station, () => shift.LineDone(station), TimeSpan.FromHours(3)));
        await page.WaitForFunctionAsync($"() => document.querySelector('[data-f=units]').dataset.value === '{cores}'", null,
            new PageWaitForFunctionOptions { Timeout = 600_000, PollingInterval = 200 });
        await running;
        recorder.Flush();
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('.tile')].every(t => t.dataset.phase === 'stopped')", null, new PageWaitForFunctionOptions { Timeout = 30_000 });
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Shot("station-after-shift.png"), FullPage = true });
        TestContext.AddTestAttachment(Shot("station-after-shift.png"), "station page after the shift");

        var seen = System.Text.Json.JsonSerializer.Deserialize<Seen>(await page.EvaluateAsync<string>("() => JSON.stringify(window.seen)"), new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web))!;
        var judged = shift.FinalRows(station.RunId, Screening.TestName).Where(r => r.Verdict is "pass" or "fail").ToList();
        var storeYield = (double)judged.Count(r => r.Verdict == "pass") / judged.Count;
        var pageYield = double.Parse(await page.Locator("#yield").GetAttributeAsync("data-value") ?? "", System.Globalization.CultureInfo.InvariantCulture);
        recorder.Finish(Core.Results.RunStatus.Aborted);
        recorder.Dispose();

        var notReloaded = await page.EvaluateAsync<bool>("() => window.notReloaded === true");
        var updates = int.Parse(await page.Locator("body").GetAttributeAsync("data-updates") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
        var title = await page.TitleAsync();
        Assert.Multiple(() =>
        {
            Assert.That(notReloaded, Is.True, "followed without a reload");
            Assert.That(updates, Is.GreaterThan(20), "pushed over server-sent events");
            Assert.That(seen.Phases, Is.SupersetOf(new[] { "waiting", "screening", "verdict" }));
            Assert.That(seen.Verdicts, Is.SupersetOf(new[] { "PASS", "FAIL" }));
            Assert.That(seen.Instructions, Is.SupersetOf(new[] { "drop in a Core", "screening: leave it in", "remove: PASS", "remove: FAIL to RMA" }));
            // the sensed LED on screen: flashing blue (listening mode, identify) and flashing yellow (DFU, readback)
            Assert.That(seen.Colours, Is.SupersetOf(new[] { "rgb(0, 0, 255)", "rgb(255, 255, 0)" }));
            Assert.That(seen.Lots, Does.Contain(Hostile), "markup in a value is shown as text");
            Assert.That(title, Is.EqualTo("HilRig station"), "and never run");
            Assert.That(judged, Has.Count.EqualTo(cores));
            Assert.That(pageYield, Is.EqualTo(storeYield).Within(1e-12), "the page's yield is the store's");
        });
    }

    private sealed record Seen(string[] Verdicts, string[] Instructions, string[] Colours, string[] Lots, string[] Phases);

    private static string Shot(string name)
    {
        var dir = Path.Combine(TestContext.CurrentContext.WorkDirectory, "artifacts");
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, name);
    }
}
