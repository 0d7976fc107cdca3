using System.Text.Json;
using HilRig.Core.Results;

namespace HilRig.Tests.Cli;

[TestFixture]
public class SoakCommandTests
{
    [Test]
    public void Same_seed_gives_byte_identical_json_and_another_seed_differs()
    {
        var first = CliHarness.Run("soak", "--cycles", "2", "--slots", "1-2", "--format", "json", "--config", TestRigs.WriteConfig(TestRigs.DefaultCores(), seed: 42));
        var second = CliHarness.Run("soak", "--cycles", "2", "--slots", "1-2", "--format", "json", "--config", TestRigs.WriteConfig(TestRigs.DefaultCores(), seed: 42));
        var other = CliHarness.Run("soak", "--cycles", "2", "--slots", "1-2", "--format", "json", "--config", TestRigs.WriteConfig(TestRigs.DefaultCores(), seed: 43));
        Assert.That(first.Exit, Is.Zero, first.Error);
        Assert.That(second.Output, Is.EqualTo(first.Output));
        Assert.That(other.Output, Is.Not.EqualTo(first.Output));

        using var doc = JsonDocument.Parse(first.Output);
        var rows = doc.RootElement.GetProperty("rows").EnumerateArray().ToList();
        // two slots x two cycles x (ota, factory-reset)
        Assert.That(rows, Has.Count.EqualTo(8));
        Assert.That(rows.Select(r => r.GetProperty("test").GetString()).Distinct(), Is.EquivalentTo(new[] { "ota", "factory-reset" }));
        Assert.That(rows.All(r => r.GetProperty("verdict").GetString() == "pass" && r.GetProperty("deviceTimeMs").GetDouble() > 0));
        var summary = doc.RootElement.GetProperty("summary");
        Assert.That(summary.GetProperty("cycles").GetInt64(), Is.EqualTo(4));
        Assert.That(summary.GetProperty("failures").GetInt32(), Is.Zero);
        // zero failures in 4 cycles: the Garwood upper bound is 3.689/4 per cycle
        Assert.That(summary.GetProperty("upper95").GetDouble(), Is.EqualTo(922.2).Within(1));
    }

    [Test]
    public void Rows_are_stored_per_cycle_step_and_a_baseline_run_is_compared()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores(), seed: 7);
        var baseline = CliHarness.Run("soak", "--cycles", "1", "--slots", "1", "--bootloader", "BL13", "--config", config);
        Assert.That(baseline.Exit, Is.Zero, baseline.Error);
        var runId = System.Text.RegularExpressions.Regex.Match(baseline.Error, "run ([0-9a-f-]{36})").Groups[1].Value;

        var store = ResultsStore.Open(Path.Combine(Path.GetDirectoryName(config)!, "results", "hilrig.db"));
        var run = store.GetRun(Guid.Parse(runId));
        Assert.That(run, Is.Not.Null, "the store path the test expects");
        Assert.That(run!.Kind, Is.EqualTo("soak"));
        Assert.That(run.Bootloader, Is.EqualTo("BL13"));
        var results = store.GetResults(run.Id);
        Assert.That(results.Select(r => (r.Test, r.Cycle)), Is.EquivalentTo(new[] { ("ota", (int?)1), ("factory-reset", (int?)1) }));

        var candidate = CliHarness.Run("soak", "--cycles", "1", "--slots", "1", "--bootloader", "BL14", "--baseline", runId, "--config", config);
        Assert.That(candidate.Exit, Is.Zero, candidate.Error);
        Assert.That(candidate.Output, Does.Contain("BL14: 0 failure(s) in 1 cycles"));
        Assert.That(candidate.Output, Does.Match("vs baseline BL13 \\(0 in 1 cycles\\): p = [0-9.]+: not shown worse"));
    }

    [Test]
    public void Candidate_bootloader_fails_slow_chips_that_BL14_soaks_cleanly_and_is_shown_worse()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores((1, "{ slow: 3 }"), (2, "{ slow: 3 }"), (3, "{ slow: 3 }"), (4, "{ slow: 3 }")), seed: 5);
        var baseline = CliHarness.Run("soak", "--cycles", "3", "--slots", "1-4", "--bootloader", "BL14", "--config", config);
        Assert.That(baseline.Exit, Is.Zero, baseline.Error);
        Assert.That(baseline.Output, Does.Contain("BL14: 0 failure(s) in 12 cycles"));
        var runId = System.Text.RegularExpressions.Regex.Match(baseline.Error, "run ([0-9a-f-]{36})").Groups[1].Value;

        var candidate = CliHarness.Run("soak", "--cycles", "3", "--slots", "1-4", "--bootloader", "candidate", "--baseline", runId, "--format", "json", "--config", config);
        Assert.That(candidate.Exit, Is.EqualTo(1), candidate.Error);
        using var doc = JsonDocument.Parse(candidate.Output);
        var summary = doc.RootElement.GetProperty("summary");
        var failed = summary.GetProperty("failed").EnumerateArray().ToList();
        // every slow Core fails its first factory reset under the candidate and leaves the run
        Assert.That(failed, Has.Count.EqualTo(4));
        Assert.That(failed.All(f => f.GetProperty("cyclesToFailure").GetInt32() == 1 && f.GetProperty("test").GetString() == "factory-reset"));
        var comparison = summary.GetProperty("baseline");
        Assert.That(comparison.GetProperty("candidateIsWorse").GetBoolean(), Is.True);
        // conditional exact test: 4 of 4+0 failures falling in 4 of 16 cycles: (4/16)^4
        Assert.That(comparison.GetProperty("pValue").GetDouble(), Is.EqualTo(Math.Pow(4.0 / 16, 4)).Within(1e-4));
    }

    [TestCase("--cycles", "0", "--cycles 0: valid: 1..100000")]
    [TestCase("--bootloader", "BL99", "--bootloader BL99: valid: BL13, BL14")]
    [TestCase("--baseline", "yesterday", "--baseline yesterday: valid: a run id")]
    public void Bad_input_is_one_line_and_exit_2(string option, string value, string message)
    {
        var args = new List<string> { "soak", "--cycles", "1", "--config", TestRigs.WriteConfig(TestRigs.DefaultCores()) };
        var at = args.IndexOf(option);
        if (at >= 0) args[at + 1] = value;
        else args.AddRange([option, value]);
        var (exit, output, error) = CliHarness.Run([.. args]);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error, Does.Contain(message));
        Assert.That(output, Is.Empty);
    }
}
