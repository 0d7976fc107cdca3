using HilRig.Core.Results;

namespace HilRig.Tests.Suites;

/// <summary>The suites on the default simulated rig, and on a rig named by the NUnit test parameter "rig", as child `dotnet test` runs.</summary>
[NonParallelizable]
[Category("Integration")] // starts real tools, servers or child processes
public class DefaultRigSuiteRunTests
{
    [Test]
    public async Task Default_rig_passes_every_Screening_and_Ota_case_and_leaves_Soak_unrun()
    {
        var folder = SuiteRun.NewFolder(File.ReadAllText(RepoFiles.Path("rig-config.yaml")));
        var run = await SuiteRun.RunAsync(folder, "Category=Screening|Category=Ota|Category=Soak");

        Assert.That(run.ExitCode, Is.Zero, run.Output);
        var screening = run.Cases.Where(c => c.Name.StartsWith("Core_passes_screening", StringComparison.Ordinal)).ToList();
        Assert.That(screening, Has.Count.EqualTo(8));
        Assert.That(screening.Select(c => c.Outcome), Is.All.EqualTo("Passed"));
        var ota = run.Cases.Where(c => c.Name.StartsWith("Ota_update", StringComparison.Ordinal)).ToList();
        Assert.That(ota, Has.Count.EqualTo(8));
        Assert.That(ota.Select(c => c.Outcome), Is.All.EqualTo("Passed"));
        Assert.That(run.Cases.Where(c => c.Name.StartsWith("Flash_survives", StringComparison.Ordinal)).Select(c => c.Outcome), Is.All.EqualTo("NotExecuted"),
            "Soak is explicit: a category filter that names it among others does not run it");
        Assert.That(AllureFormat.Problems(run.AllureResults), Is.Empty);

        var rows = ResultsStore.Open(run.StorePath).GetResults();
        Assert.That(rows.Count(r => r.Test == "screening"), Is.EqualTo(8));
        Assert.That(rows.Count(r => r.Test == "ota"), Is.EqualTo(8));
        Assert.That(rows, Has.Count.EqualTo(16));
    }

    [Test]
    public async Task A_rig_config_that_does_not_load_fails_every_case_listing_each_error()
    {
        var folder = SuiteRun.NewFolder(File.ReadAllText(RepoFiles.Path("rig-config.yaml")));
        var invalid = Path.Combine(folder, "invalid-rig.yaml");
        File.Copy(RepoFiles.Path("examples/invalid-rig.yaml"), invalid);
        // The test parameter wins over HILRIG_CONFIG (which names the folder's valid config).
        var run = await SuiteRun.RunAsync(folder, "Category=DfuReadback", runSettings: new Dictionary<string, string> { ["rig"] = invalid });

        Assert.That(run.ExitCode, Is.Not.Zero);
        Assert.That(run.Cases, Has.Count.EqualTo(1), run.Output);
        Assert.That(run.Cases[0].Outcome, Is.EqualTo("Failed"));
        Assert.That(run.Cases[0].Message, Does.Contain("the rig config could not be loaded"));
        Assert.That(run.Cases[0].Message, Does.Contain("invalid-rig.yaml:4:10: backend: simulator is not a backend; valid: sim, pi"));
        Assert.That(run.Cases[0].Message, Does.Contain("invalid-rig.yaml:30:15: sim.bootloader: BL15 is not a bootloader"));
        Assert.That(File.Exists(Path.Combine(folder, "results", "hilrig.db")), Is.False, "nothing is recorded for a rig that never opened");
        var allure = AllureFormat.Results(run.AllureResults);
        Assert.That(allure, Has.Count.EqualTo(1), "the report says why nothing ran");
        Assert.That(allure[0].GetProperty("status").GetString(), Is.EqualTo("broken"));
        Assert.That(allure[0].GetProperty("statusDetails").GetProperty("message").GetString(), Does.Contain("invalid-rig.yaml:30:15: sim.bootloader"));
        Assert.That(AllureFormat.Problems(run.AllureResults).Where(p => !p.Contains(".json missing", StringComparison.Ordinal) && !p.Contains("environment.properties", StringComparison.Ordinal)), Is.Empty);
    }

    [Test]
    public async Task Soak_runs_when_selected_on_its_own_with_back_to_back_cycles()
    {
        var folder = SuiteRun.NewFolder(File.ReadAllText(RepoFiles.Path("rig-config.yaml")));
        var run = await SuiteRun.RunAsync(folder, "Category=Soak", new Dictionary<string, string> { ["HILRIG_SOAK_CYCLES"] = "2" });

        Assert.That(run.ExitCode, Is.Zero, run.Output);
        Assert.That(run.Cases, Has.Count.EqualTo(8));
        Assert.That(run.Cases.Select(c => c.Outcome), Is.All.EqualTo("Passed"));
        var rows = ResultsStore.Open(run.StorePath).GetResults();
        Assert.That(rows.Select(r => (r.Test, r.Verdict.ToString())), Is.All.EqualTo(("soak", "Pass")));
        var steps = AllureFormat.Results(run.AllureResults).Select(r => r.GetProperty("steps").GetArrayLength());
        Assert.That(steps, Is.All.EqualTo(2), "one step per cycle");
    }
}
