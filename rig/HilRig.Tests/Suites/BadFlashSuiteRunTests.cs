using System.Diagnostics;
using System.Text.Json;
using HilRig.Core.Config;
using HilRig.Core.Procedures;
using HilRig.Core.Results;

namespace HilRig.Tests.Suites;

/// <summary>
/// `HILRIG_CONFIG=examples/bad-flash-rig.yaml dotnet test suites/HilRig.Suites --filter "Category=DfuReadback|Category=FactoryReset"`,
/// run once as a child process; each test asserts one promise on what it produced.
/// </summary>
[NonParallelizable]
[Category("Integration")] // starts real tools, servers or child processes
public class BadFlashSuiteRunTests
{
    private static readonly int[] BadSlots = [3, 5, 7];
    private SuiteRun _run = null!;
    private RigConfig _config = null!;

    [OneTimeSetUp]
    public async Task RunSuitesOnTheBadFlashRig()
    {
        var folder = SuiteRun.NewFolder(File.ReadAllText(RepoFiles.Path("examples/bad-flash-rig.yaml")));
        _config = RigConfigLoader.Load(Path.Combine(folder, "rig-config.yaml"));
        _run = await SuiteRun.RunAsync(folder, "Category=DfuReadback|Category=FactoryReset");
    }

    private IEnumerable<SuiteRun.CaseResult> Readback => _run.Cases.Where(c => c.Name.StartsWith("External_flash_reads_back", StringComparison.Ordinal));

    private static int SlotOf(string name) => int.Parse(name.Split("(slot ")[1].Split(',')[0], System.Globalization.CultureInfo.InvariantCulture);

    [Test]
    public void DfuReadback_runs_one_case_per_slot_named_by_slot_device_and_lot()
    {
        Assert.That(Readback.Select(c => SlotOf(c.Name)), Is.EquivalentTo(Enumerable.Range(1, 8)), _run.Output);
        foreach (var core in _config.Sim.Cores)
            Assert.That(Readback.Select(c => c.Name), Has.One.Contains($"(slot {core.Slot}, {core.DeviceId}, {core.Lot})"));
    }

    [Test]
    public void The_bad_flash_Cores_fail_with_their_bit_error_map_and_the_others_pass()
    {
        Assert.That(_run.ExitCode, Is.Not.Zero, "a run with failed Cores fails");
        foreach (var c in Readback)
        {
            var slot = SlotOf(c.Name);
            if (!BadSlots.Contains(slot))
            {
                Assert.That(c.Outcome, Is.EqualTo("Passed"), $"{c.Name}: {c.Message}");
                continue;
            }
            Assert.That(c.Outcome, Is.EqualTo("Failed"), c.Name);
            Assert.That(c.Message, Does.StartWith("DUT failure (bad-external-flash)"));
            Assert.That(c.Message, Does.Contain("LED timeline:"), "the LED evidence (or why there is none) is in the message");
        }
        var stuck = Readback.Single(c => SlotOf(c.Name) == 3).Message;
        Assert.That(stuck, Does.Contain("bit-error map:").And.Contain("stuck-at-0").And.Contain("by bit position"));
        Assert.That(stuck, Does.Match(@"factory 0x020000 \(131072 bytes\): FAIL"), "the map names the failing regions");
        var erase = Readback.Single(c => SlotOf(c.Name) == 5).Message;
        Assert.That(erase, Does.Contain("sectors that do not erase: 0x"));
        var dead = Readback.Single(c => SlotOf(c.Name) == 7).Message;
        Assert.That(dead, Does.Contain("dead or hung chip"));
    }

    [Test]
    public void FactoryReset_cases_run_on_every_slot_healthy_Cores_pass_and_a_failure_is_a_DUT_failure()
    {
        var reset = _run.Cases.Where(c => c.Name.StartsWith("Factory_reset", StringComparison.Ordinal)).ToList();
        Assert.That(reset, Has.Count.EqualTo(8));
        Assert.That(reset.Select(c => c.Outcome), Has.None.EqualTo("NotExecuted"));
        foreach (var c in reset.Where(c => !BadSlots.Any(s => c.Name.Contains($"slot {s},", StringComparison.Ordinal))))
            Assert.That(c.Outcome, Is.EqualTo("Passed"), c.Name + ": " + c.Message);
        foreach (var c in reset.Where(c => c.Outcome == "Failed"))
            Assert.That(c.Message, Does.StartWith("DUT failure ("), c.Name);
    }

    [Test]
    public void The_results_store_has_one_row_per_judged_case_with_the_verdict()
    {
        var store = ResultsStore.Open(_run.StorePath);
        IReadOnlyList<StoredResult> rows = store.GetResults();
        Assert.That(rows, Has.Count.EqualTo(16), "8 readback rows and 8 factory-reset rows");
        Assert.That(rows.Count(r => r.Test == "factory-reset"), Is.EqualTo(8));
        Assert.That(rows.Where(r => r.Test == "factory-reset" && !BadSlots.Contains(r.Slot)).Select(r => r.Verdict), Is.All.EqualTo(Verdict.Pass));
        rows = [.. rows.Where(r => r.Test == "dfu-readback")];
        Assert.That(rows.Select(r => r.RunId).Distinct().Count(), Is.EqualTo(1), "one run per test session");
        foreach (var core in _config.Sim.Cores)
        {
            var row = rows.Single(r => r.Slot == core.Slot);
            Assert.That(row.DeviceId, Is.EqualTo(core.DeviceId.ToLowerInvariant()));
            Assert.That(row.Verdict, Is.EqualTo(BadSlots.Contains(core.Slot) ? Verdict.Fail : Verdict.Pass), $"slot {core.Slot}: {row.Signature}");
            Assert.That(row.Attempt, Is.EqualTo(1));
            if (row.Verdict == Verdict.Fail) Assert.That(row.FailureMode, Is.EqualTo(FailureModes.BadExternalFlash));
        }
        var run = store.GetRun(rows[0].RunId)!;
        Assert.That(run.Status, Is.EqualTo(RunStatus.Failed));
        Assert.That(run.RigId, Is.EqualTo("sim-rig-bad-flash"));
        Assert.That(run.EndedAt, Is.Not.Null);
    }

    [Test]
    public void Allure_results_follow_the_format()
    {
        Assert.That(AllureFormat.Problems(_run.AllureResults), Is.Empty);
    }

    [Test]
    public void Allure_results_carry_status_parameters_and_evidence_per_case()
    {
        var results = AllureFormat.Results(_run.AllureResults);
        Assert.That(results, Has.Count.EqualTo(16));
        foreach (var r in results)
        {
            var slot = int.Parse(AllureFormat.Parameter(r, "slot")!, System.Globalization.CultureInfo.InvariantCulture);
            var core = _config.Sim.CoreFor(slot);
            Assert.That(AllureFormat.Parameter(r, "deviceId"), Is.EqualTo(core.DeviceId));
            Assert.That(AllureFormat.Parameter(r, "lot"), Is.EqualTo(core.Lot));
            Assert.That(AllureFormat.Label(r, "parentSuite"), Is.EqualTo("HilRig sim-rig-bad-flash"));
            var status = r.GetProperty("status").GetString();
            if (AllureFormat.Label(r, "suite") == "FactoryReset")
            {
                // Healthy Cores pass; a bad chip may or may not corrupt its factory image, but never makes it a rig fault.
                Assert.That(status, BadSlots.Contains(slot) ? Is.AnyOf("passed", "failed") : Is.EqualTo("passed"), $"factory reset, slot {slot}");
                continue;
            }
            Assert.That(AllureFormat.Label(r, "suite"), Is.EqualTo("DfuReadback"));
            Assert.That(status, Is.EqualTo(BadSlots.Contains(slot) ? "failed" : "passed"), $"slot {slot}: a DUT failure is failed, not broken");
            var names = AllureFormat.Attachments(r).Select(a => a.GetProperty("name").GetString()).ToList();
            Assert.That(names, Does.Contain("procedure log"));
            if (slot != 7) Assert.That(names, Does.Contain("bit-error map"), $"slot {slot}");
            Assert.That(r.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("name").GetString()), Does.Contain("enter DFU").And.Contain("readback"));
        }
        var stuck = results.Single(r => AllureFormat.Label(r, "suite") == "DfuReadback" && AllureFormat.Parameter(r, "slot") == "3");
        var map = AllureFormat.Attachments(stuck).Single(a => a.GetProperty("name").GetString() == "bit-error map");
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(_run.AllureResults, map.GetProperty("source").GetString()!)));
        Assert.That(json.RootElement.GetProperty("total").GetProperty("errorBits").GetInt64(), Is.GreaterThanOrEqualTo(12));
    }

    [Test]
    public void Slots_ran_in_parallel_on_several_workers()
    {
        var readback = AllureFormat.Results(_run.AllureResults).Where(r => AllureFormat.Label(r, "suite") == "DfuReadback").ToList();
        var latestStart = readback.Max(r => r.GetProperty("start").GetInt64());
        var earliestStop = readback.Min(r => r.GetProperty("stop").GetInt64());
        Assert.That(latestStart, Is.LessThan(earliestStop), "every slot's case had started before the first one finished");
        Assert.That(readback.Select(r => AllureFormat.Label(r, "thread")).Distinct().Count(), Is.GreaterThan(1));
    }

    [Test]
    public void Environment_names_the_rig_backend_bootloader_and_config_hash()
    {
        var properties = File.ReadAllLines(Path.Combine(_run.AllureResults, "environment.properties"))
            .Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        Assert.That(properties["rig.id"], Is.EqualTo("sim-rig-bad-flash"));
        Assert.That(properties["rig.backend"], Is.EqualTo("sim"));
        Assert.That(properties["rig.bootloader"], Is.EqualTo("BL14"));
        Assert.That(properties["rig.config.hash"], Is.EqualTo(_config.Hash));
        var categories = JsonDocument.Parse(File.ReadAllText(Path.Combine(_run.AllureResults, "categories.json"))).RootElement
            .EnumerateArray().Select(c => c.GetProperty("name").GetString()).ToList();
        Assert.That(categories, Is.SupersetOf(new[] { "Rig faults", "DUT failures", "Product defects" }));
    }

    [Test]
    public void The_rig_session_is_every_results_set_up_and_tear_down()
    {
        var containers = AllureFormat.Containers(_run.AllureResults);
        var children = containers.SelectMany(c => c.GetProperty("children").EnumerateArray().Select(ch => ch.GetString())).ToList();
        var uuids = AllureFormat.Results(_run.AllureResults).Select(r => r.GetProperty("uuid").GetString()).ToList();
        Assert.That(children, Is.EquivalentTo(uuids), "each result is in exactly one container");
        foreach (var c in containers)
        {
            Assert.That(c.GetProperty("befores")[0].GetProperty("name").GetString(), Is.EqualTo("open rig sim-rig-bad-flash"));
            Assert.That(c.GetProperty("afters")[0].GetProperty("name").GetString(), Is.EqualTo("close rig sim-rig-bad-flash"));
        }
    }

    [Test]
    public async Task The_Allure_report_counts_match_the_run_and_embed_every_attachment()
    {
        ExternalTool.Require("npm");
        var report = Path.Combine(_run.Folder, "allure-report");
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { RepoFiles.Path("scripts/allure-report.sh"), _run.AllureResults, report }) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        Assert.That(process.ExitCode, Is.Zero, output);
        Assert.That(output, Does.Contain($"allure report: {report}/index.html"));

        var stats = JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "summary.json"))).RootElement.GetProperty("stats");
        int Stat(string name) => stats.TryGetProperty(name, out var v) ? v.GetInt32() : 0;
        Assert.That(Stat("total"), Is.EqualTo(_run.Cases.Count));
        Assert.That(Stat("passed"), Is.EqualTo(_run.Cases.Count(c => c.Outcome == "Passed")));
        Assert.That(Stat("failed"), Is.EqualTo(_run.Cases.Count(c => c.Outcome == "Failed")));
        Assert.That(Stat("skipped"), Is.EqualTo(_run.Cases.Count(c => c.Outcome == "NotExecuted")));
        Assert.That(Stat("broken"), Is.Zero);

        var html = await File.ReadAllTextAsync(Path.Combine(report, "index.html"));
        var embedded = System.Text.RegularExpressions.Regex.Matches(html, @"data/attachments/[0-9a-f]+\.[a-z]+").Select(m => m.Value).Distinct().Count();
        Assert.That(embedded, Is.EqualTo(Directory.GetFiles(_run.AllureResults, "*-attachment.*").Length), "the single-file report carries every attachment");
    }
}
