using System.Net;
using System.Text.RegularExpressions;
using HilRig.Cli;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Dashboard;
using HilRig.Reports.Html;
using HilRig.Reports.Queries;
using HilRig.Tests.Cli;

namespace HilRig.Tests.Results;

/// <summary>
/// One result pipeline: every writer goes through the one recorder, every row's evidence is the one schema, and the
/// readers (report device, the dashboard's device page) show every device whatever wrote it.
/// </summary>
public partial class ResultPipelineTests
{
    [GeneratedRegex(@"\.RecordResult\(|\.BulkLoadResults\(|new ResultRecord\(|EvidenceJson:\s")]
    private static partial Regex RowMapping();

    [Test]
    public void Only_the_recorder_turns_a_procedures_outcome_into_a_stored_row()
    {
        var places = Directory.EnumerateFiles(RepoFiles.Root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}HilRig.Tests{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Where(f => RowMapping().IsMatch(File.ReadAllText(f)))
            .Select(f => Path.GetRelativePath(RepoFiles.Root, f).Replace('\\', '/'))
            .Where(f => f != "rig/HilRig.Core/Results/ResultsStore.cs") // where rows are written, given a ResultRecord
            .ToList();
        Assert.That(places, Is.EqualTo(new[] { "rig/HilRig.Core/Results/ResultRecorder.cs" }),
            "a second place that builds stored rows (ResultRecord, RecordResult, BulkLoadResults) would bypass the recorder and the evidence schema");
    }

    [Test]
    public void A_clean_readback_renders_without_a_first_bad_address()
    {
        var clean = new DfuReadbackResult(Verdict.Pass, null, "no bit errors", [],
            new BitErrorMapSummary(0, 0, 0, 0, null, new long[8], [], [], 1_572_864), TimeSpan.FromSeconds(17), null);
        var html = HtmlPages.Evidence(EvidenceJson.Write(new Evidence("dfu-serial", "done", Readback: clean,
            Led: [new LedEvidence(0, 2.5, "flashing yellow", 0.97), new LedEvidence(2.5, 4, "breathing cyan", 0.95)]))!);
        Assert.That(html, Does.Contain("first at -"));
        Assert.That(html, Does.Contain("class=\"chart led\"").And.Contain("LED timeline (4 s)"));
    }

    [Test]
    public void Evidence_is_written_and_read_back_by_the_one_serializer()
    {
        var evidence = new Evidence("serial", "OTA", Loops: [new LoopEvidence("ota", Verdict.Fail, FailureModes.OtaFailed, "old app", 5300, ["x"],
            [new LedEvidence(0, 1, "fast flashing magenta", 0.9)])], SerialTranscript: "Your core id is 55ff", CyclesToFailure: 3);
        var back = EvidenceJson.Read(EvidenceJson.Write(evidence))!;
        Assert.That(back.Loops![0].Led![0], Is.EqualTo(new LedEvidence(0, 1, "fast flashing magenta", 0.9)));
        Assert.That((back.SerialTranscript, back.CyclesToFailure, back.Loops[0].Verdict), Is.EqualTo(("Your core id is 55ff", (int?)3, Verdict.Fail)));
        Assert.That(EvidenceJson.Read("not json"), Is.Null);
    }

    /// <summary>
    /// A store filled by screen (passing, failing and a rig-faulted empty slot), an LED-observed soak and both paths of
    /// sim fleet: `report device ID` and the dashboard's device page answer for every device, and every screened
    /// device's LED timeline is drawn.
    /// </summary>
    [Test]
    [Category("Integration")]
    public async Task Every_device_page_works_whatever_wrote_its_rows_and_draws_the_LED_timeline()
    {
        // slot 3 stuck bits, slot 5 bad sectors: failures; the fleet's fast path adds rig faults (USB, a worn slot)
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores((3, "{ stuckBits: 12 }"), (5, "{ badSectors: 2 }")));
        var db = Path.Combine(Path.GetDirectoryName(config)!, "results", "hilrig.db");
        var screen = CliHarness.Run("screen", "--config", config, "--format", "json");
        Assert.That(screen.Exit, Is.EqualTo(ExitCodes.DutFailed), screen.Error);
        var soak = CliHarness.Run("soak", "--cycles", "1", "--slots", "1-2", "--observe-leds", "--config", config);
        Assert.That(soak.Exit, Is.EqualTo(ExitCodes.Ok), soak.Error);
        var real = CliHarness.Run("sim", "fleet", "--config", config, "--cores", "8", "--lots", "2", "--path", "real", "--seed", "3");
        Assert.That(real.Exit, Is.EqualTo(ExitCodes.Ok), real.Error);
        var fast = CliHarness.Run("sim", "fleet", "--config", config, "--cores", "300", "--lots", "3", "--path", "fast", "--seed", "4", "--soak-cycles", "3");
        Assert.That(fast.Exit, Is.EqualTo(ExitCodes.Ok), fast.Error);

        var store = ResultsStore.Open(db);
        var rows = store.GetResults();
        var screenRun = rows.Where(r => r.Test == Screening.LifeTestName).Select(r => r.RunId).Distinct().Single();
        Assert.That(rows.Where(r => r.RunId == screenRun).Select(r => r.Verdict).Distinct(), Is.EquivalentTo(new[] { Verdict.Pass, Verdict.Fail }));
        Assert.That(rows.Select(r => r.Verdict).Distinct(), Is.EquivalentTo(new[] { Verdict.Pass, Verdict.Fail, Verdict.RigFault }));
        // every device of the CLI-written runs, and a sample of the generated history (each verdict, soak rows)
        var fastRuns = rows.Select(r => r.RunId).Distinct().Where(id => store.GetRun(id)!.ConfigHash == "fleet-fast-path").ToHashSet();
        var generated = rows.Where(r => fastRuns.Contains(r.RunId)).ToList();
        var devices = rows.Except(generated).Select(r => r.DeviceId)
            .Concat(generated.GroupBy(r => (r.Verdict, r.Cycle is null, r.EvidenceJson is null)).Select(g => g.First().DeviceId))
            .Distinct().ToList();
        Assert.That(devices, Has.Count.GreaterThan(16), "8 screened, 8 from the real fleet path, and generated ones");
        var withLed = rows.Where(r => EvidenceJson.Read(r.EvidenceJson) is { } e && (e.Led is { Count: > 0 } || e.Loops?.Any(l => l.Led is { Count: > 0 }) == true))
            .Select(r => r.DeviceId).ToHashSet();
        var without = rows.Where(r => r.RunId == screenRun && !withLed.Contains(r.DeviceId)).Select(r => $"{r.Slot} {r.Test} {r.Verdict} {r.EvidenceJson?.Length}").ToList();
        Assert.That(without, Is.Empty, "every screened slot stores its LED timeline");

        await using var app = DashboardApp.Build(ResultsQueries.OpenSqlite(db), "http://127.0.0.1:0");
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(DashboardApp.Addresses(app)[0]) };
        foreach (var device in devices)
        {
            var report = CliHarness.Run("report", "device", device, "--config", config, "--format", "html");
            Assert.That(report.Exit, Is.EqualTo(ExitCodes.Ok), $"{device}: {report.Error}");
            using var page = await http.GetAsync(new Uri(HtmlPages.DeviceHref(device), UriKind.Relative));
            var body = await page.Content.ReadAsStringAsync();
            Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"{device}: {body}");
            if (withLed.Contains(device))
            {
                Assert.That(report.Output, Does.Contain("class=\"chart led\""), $"{device}: LED timeline drawn in the report");
                Assert.That(body, Does.Contain("class=\"chart led\""), $"{device}: LED timeline drawn on the dashboard");
            }
        }
        await app.StopAsync();
    }
}
