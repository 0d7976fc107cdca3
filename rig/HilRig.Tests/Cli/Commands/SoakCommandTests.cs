using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using HilRig.Core.Procedures;
using HilRig.Core.Results;

namespace HilRig.Tests.Cli;

[TestFixture]
public partial class SoakCommandTests
{
    private static string RunId(string error) => RunLine().Match(error).Groups[1].Value;

    [GeneratedRegex("run ([0-9a-f-]{36})")]
    private static partial Regex RunLine();

    private static List<JsonElement> Rows(JsonDocument doc) => [.. doc.RootElement.GetProperty("rows").EnumerateArray()];

    private static string Str(JsonElement e, string name) => e.GetProperty(name).GetString()!;

    /// <summary>A generated bootloader image file of a simulated build, in a temp folder.</summary>
    private static string BootloaderFile(string build, params string[] options)
    {
        var path = Path.Combine(Path.GetTempPath(), "hilrig-tests", Guid.NewGuid().ToString("N"), $"{build}.bin");
        var (exit, _, error) = CliHarness.Run(["image", "generate", "--bootloader", build, "--out", path, .. options]);
        Assert.That(exit, Is.Zero, error);
        return path;
    }

    [Test]
    public void Same_seed_gives_identical_json_but_for_run_id_and_wall_clock_and_another_seed_differs()
    {
        string[] args = ["soak", "--cycles", "2", "--slots", "1-2", "--every-readback", "2", "--format", "json", "--config"];
        var first = CliHarness.Run([.. args, TestRigs.WriteConfig(TestRigs.DefaultCores(), seed: 42)]);
        var second = CliHarness.Run([.. args, TestRigs.WriteConfig(TestRigs.DefaultCores(), seed: 42)]);
        var other = CliHarness.Run([.. args, TestRigs.WriteConfig(TestRigs.DefaultCores(), seed: 43)]);
        Assert.That(first.Exit, Is.Zero, first.Error);

        static (JsonNode Header, string Body) Split(string output)
        {
            var node = JsonNode.Parse(output)!.AsObject();
            var run = node["run"]!;
            node.Remove("run");
            return (run, node.ToJsonString());
        }
        var (firstRun, firstRest) = Split(first.Output);
        var (secondRun, secondRest) = Split(second.Output);
        Assert.That(secondRest, Is.EqualTo(firstRest), "row for row the same");
        Assert.That(Str(JsonDocument.Parse(secondRun.ToJsonString()).RootElement, "id"), Is.Not.EqualTo(Str(JsonDocument.Parse(firstRun.ToJsonString()).RootElement, "id")));
        // the run header every JSON export starts with (screen's too); only its id, times and store differ between runs
        Assert.That(firstRun.AsObject().Select(p => p.Key), Is.EqualTo(new[] { "id", "kind", "status", "rigId", "seed", "bootloader", "startedAt", "endedAt", "store" }));
        foreach (var key in new[] { "kind", "status", "rigId", "seed", "bootloader" })
            Assert.That(secondRun[key]!.ToJsonString(), Is.EqualTo(firstRun[key]!.ToJsonString()), key);
        Assert.That(firstRun["kind"]!.GetValue<string>(), Is.EqualTo("soak"));
        Assert.That(Split(other.Output).Body, Is.Not.EqualTo(firstRest));

        // the CSV export carries no run header: byte for byte the same (one slot's cycle shows it: the rows' sameness
        // for a seed is the JSON's above)
        string[] csv = ["soak", "--cycles", "1", "--slots", "1", "--format", "csv", "--config"];
        var csvFirst = CliHarness.Run([.. csv, TestRigs.WriteConfig(TestRigs.DefaultCores(), seed: 42)]);
        var csvSecond = CliHarness.Run([.. csv, TestRigs.WriteConfig(TestRigs.DefaultCores(), seed: 42)]);
        var csvOther = CliHarness.Run([.. csv, TestRigs.WriteConfig(TestRigs.DefaultCores(), seed: 43)]);
        Assert.That(csvSecond.Output, Is.EqualTo(csvFirst.Output).And.Not.Empty);
        Assert.That(csvOther.Output, Is.Not.EqualTo(csvFirst.Output));

        using var doc = JsonDocument.Parse(first.Output);
        var rows = Rows(doc);
        // two slots x (two cycles x (ota, factory-reset) + a readback after cycle 2)
        Assert.That(rows, Has.Count.EqualTo(10));
        Assert.That(rows.Select(r => Str(r, "test")).Distinct(), Is.EquivalentTo(new[] { "ota", "factory-reset", "dfu-readback" }));
        Assert.That(rows.All(r => Str(r, "verdict") == "pass" && r.GetProperty("deviceTimeMs").GetDouble() > 0));
        var summary = doc.RootElement.GetProperty("summary");
        Assert.That(summary.GetProperty("cycles").GetInt64(), Is.EqualTo(4));
        Assert.That(summary.GetProperty("failures").GetInt32(), Is.Zero);
        // zero failures in 4 cycles: the Garwood upper bound is 3.689/4 per cycle
        Assert.That(summary.GetProperty("upper95").GetDouble(), Is.EqualTo(922.2).Within(1));
    }

    [Test]
    public void Every_kth_cycle_ends_with_a_dfu_readback_row_carrying_its_bit_error_summary()
    {
        var result = CliHarness.Run("soak", "--cycles", "4", "--slots", "3", "--every-readback", "2", "--format", "json",
            "--config", TestRigs.WriteConfig(TestRigs.DefaultCores()));
        Assert.That(result.Exit, Is.Zero, result.Error);
        using var doc = JsonDocument.Parse(result.Output);
        var rows = Rows(doc);
        Assert.That(rows.Select(r => $"{r.GetProperty("cycle").GetInt32()} {Str(r, "test")}"), Is.EqualTo(new[]
        {
            "1 ota", "1 factory-reset", "2 ota", "2 factory-reset", "2 dfu-readback", "3 ota", "3 factory-reset", "4 ota", "4 factory-reset", "4 dfu-readback",
        }));
        foreach (var readback in rows.Where(r => Str(r, "test") == "dfu-readback"))
        {
            Assert.That(Str(readback, "verdict"), Is.EqualTo("pass"));
            Assert.That(Str(readback, "signature"), Is.EqualTo("no bit errors"));
            var bits = readback.GetProperty("bitErrors");
            Assert.That(bits.GetProperty("errorBits").GetInt64(), Is.Zero);
            // factory, backup and OTA slots, each read back erased and then as zeros
            Assert.That(bits.GetProperty("bytesCompared").GetInt64(), Is.EqualTo(3 * 128 * 1024 * 2));
        }
        Assert.That(rows.Where(r => Str(r, "test") != "dfu-readback").All(r => r.GetProperty("bitErrors").ValueKind == JsonValueKind.Null));
        Assert.That(doc.RootElement.GetProperty("summary").GetProperty("readbacks").GetProperty("run").GetInt32(), Is.EqualTo(2));
    }

    [Test]
    public void Candidate_fails_slow_Cores_that_BL14_soaks_cleanly_recovers_them_over_DFU_and_is_shown_worse_with_its_p_value()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores((1, "{ slow: 3 }"), (2, "{ slow: 3 }"), (3, "{ slow: 3 }"), (4, "{ slow: 3 }")), seed: 5);
        var baseline = CliHarness.Run("soak", "--cycles", "2", "--slots", "1-4", "--bootloader", "BL14", "--config", config);
        Assert.That(baseline.Exit, Is.Zero, baseline.Error);
        Assert.That(baseline.Output, Does.Contain("BL14: 0 failure(s) in 8 cycles"));

        var candidate = CliHarness.Run("soak", "--cycles", "2", "--slots", "1-4", "--bootloader", "candidate", "--baseline", RunId(baseline.Error),
            "--format", "json", "--config", config);
        Assert.That(candidate.Exit, Is.EqualTo(1), candidate.Error);
        using var doc = JsonDocument.Parse(candidate.Output);
        var summary = doc.RootElement.GetProperty("summary");
        Assert.That(Str(summary, "bootloader"), Is.EqualTo("candidate"));
        // every factory reset of a slow Core ends in DFU: the Core is recovered over DFU and soaks on
        var failed = summary.GetProperty("failed").EnumerateArray().ToList();
        Assert.That(failed, Has.Count.EqualTo(8));
        Assert.That(failed.All(f => Str(f, "test") == "factory-reset" && Str(f, "failureMode") == "stuck-in-dfu" && f.GetProperty("cyclesToFailure").GetInt32() == 1));
        Assert.That(failed.Select(f => f.GetProperty("cycle").GetInt32()).Distinct(), Is.EquivalentTo(new[] { 1, 2 }));
        var recoveries = Rows(doc).Where(r => Str(r, "test") == "recovery").ToList();
        Assert.That(recoveries, Has.Count.EqualTo(8));
        Assert.That(recoveries.Select(r => Str(r, "verdict")), Is.All.EqualTo("pass"));
        Assert.That(recoveries.Select(r => Str(r, "signature")), Is.All.Contains("factory image intact"));
        Assert.That(summary.GetProperty("slots").EnumerateArray().Select(s => s.GetProperty("outReason").ValueKind), Is.All.EqualTo(JsonValueKind.Null));
        Assert.That(summary.GetProperty("cycles").GetInt64(), Is.EqualTo(8));
        Assert.That(summary.GetProperty("failures").GetInt32(), Is.EqualTo(8));

        var comparison = summary.GetProperty("baseline");
        Assert.That(Str(comparison, "bootloader"), Is.EqualTo("BL14"));
        Assert.That(comparison.GetProperty("candidateIsWorse").GetBoolean(), Is.True);
        // conditional exact test: all 8 of 8+0 failures falling in the candidate's 8 of 16 cycles: (8/16)^8
        Assert.That(comparison.GetProperty("pValue").GetDouble(), Is.EqualTo(Math.Pow(0.5, 8)).Within(1e-6));
    }

    [Test]
    public void A_Core_whose_factory_slot_does_not_keep_an_image_is_not_recovered_and_leaves_the_run_with_its_cycles_to_failure()
    {
        var result = CliHarness.Run("soak", "--cycles", "3", "--slots", "1", "--format", "json",
            "--config", TestRigs.WriteConfig(TestRigs.DefaultCores((1, "{ stuckBits: 50 }"))));
        Assert.That(result.Exit, Is.EqualTo(1), result.Error);
        using var doc = JsonDocument.Parse(result.Output);
        var rows = Rows(doc);
        Assert.That(rows.Select(r => $"{r.GetProperty("cycle").GetInt32()} {Str(r, "test")} {Str(r, "verdict")}"),
            Is.EqualTo(new[] { "1 ota fail", "1 recovery fail" }), "nothing after the Core left the run");
        Assert.That(rows[0].GetProperty("cyclesToFailure").GetInt32(), Is.EqualTo(1));
        Assert.That(Str(rows[0], "failureMode"), Is.EqualTo("stuck-in-dfu"));
        Assert.That(Str(rows[1], "failureMode"), Is.EqualTo("unrecoverable"));
        Assert.That(Str(rows[1], "signature"), Does.Contain("factory slot at 0x020000 does not read back as written"));
        var slot = doc.RootElement.GetProperty("summary").GetProperty("slots")[0];
        Assert.That(slot.GetProperty("outAtCycle").GetInt32(), Is.EqualTo(1));
        Assert.That(Str(slot, "outReason"), Does.StartWith("not recovered"));
    }

    [Test]
    public void A_bootloader_file_is_flashed_and_read_back_on_unlocked_Cores_and_a_protected_one_is_refused_as_a_rig_fault()
    {
        var file = BootloaderFile("candidate");
        // config: BL14, which a slow Core passes; the file's candidate fails it. Slot 3 kept its factory protection.
        var config = TestRigs.WriteConfig(
            TestRigs.DefaultCores((1, "{ slow: 3 }"), (3, "healthy, bootloaderProtected: true")), simLines: "bootloaderProtected: false");
        var result = CliHarness.Run("soak", "--cycles", "1", "--slots", "1-3", "--bootloader", file, "--format", "json", "--config", config);
        Assert.That(result.Exit, Is.EqualTo(3), result.Error);
        using var doc = JsonDocument.Parse(result.Output);
        var bySlot = Rows(doc).GroupBy(r => r.GetProperty("slot").GetInt32())
            .ToDictionary(g => g.Key, g => g.Select(r => $"{Str(r, "test")} {Str(r, "verdict")}").ToList());
        Assert.That(bySlot[1], Is.EqualTo(new[] { "bootloader-flash pass", "ota pass", "factory-reset fail", "recovery pass" }), "the candidate from the file runs");
        Assert.That(bySlot[2], Is.EqualTo(new[] { "bootloader-flash pass", "ota pass", "factory-reset pass" }));
        Assert.That(bySlot[3], Is.EqualTo(new[] { "bootloader-flash rig-fault" }));
        var flashed = Rows(doc).First(r => r.GetProperty("slot").GetInt32() == 1);
        Assert.That(Str(flashed, "signature"), Does.Contain("bootloader written at 0x08000000, read back"));
        var refused = Rows(doc).Single(r => r.GetProperty("slot").GetInt32() == 3);
        Assert.That(Str(refused, "failureMode"), Is.EqualTo("bootloader-protected"));
        Assert.That(Str(refused, "signature"), Does.Contain("write-protected by the Core's option bytes").And.Contain("nothing was changed"));
        Assert.That(Str(doc.RootElement.GetProperty("summary"), "bootloader"), Does.Match("^candidate\\.bin@[0-9a-f]{8}$"));
    }

    [Test]
    public void A_bootloader_image_that_does_not_run_bricks_the_Core_which_cannot_be_recovered_over_DFU()
    {
        var file = BootloaderFile("BL14");
        var bytes = File.ReadAllBytes(file);
        // valid vector table, but not a build the simulator knows (no length/CRC stamp): the CPU runs garbage
        Array.Clear(bytes, 7 * 4, 8);
        File.WriteAllBytes(file, bytes);
        var result = CliHarness.Run("soak", "--cycles", "2", "--slots", "2", "--bootloader", file, "--format", "json",
            "--config", TestRigs.WriteConfig(TestRigs.DefaultCores(), simLines: "bootloaderProtected: false"));
        Assert.That(result.Exit, Is.EqualTo(1), result.Error);
        using var doc = JsonDocument.Parse(result.Output);
        var rows = Rows(doc);
        Assert.That(rows.Select(r => $"{Str(r, "test")} {Str(r, "verdict")} {Str(r, "failureMode")}"),
            Is.EqualTo(new[] { "bootloader-flash fail bricked", "recovery fail unrecoverable" }));
        Assert.That(Str(rows[1], "signature"), Does.Contain("no DFU after a power cycle"));
        Assert.That(doc.RootElement.GetProperty("summary").GetProperty("slots")[0].GetProperty("outAtCycle").GetInt32(), Is.Zero);
    }

    [TestCase("big", "bytes; a Core bootloader fits pages 0-18 at 0x08000000, at most 19456 bytes")]
    [TestCase("no-vectors", "no valid vector table: word 0 (initial stack pointer) is 0x")]
    [TestCase("handler-outside", "no valid vector table: word 1 (reset handler) is 0x08005111")]
    [TestCase("empty", "the file is empty")]
    public void Wrong_bootloader_files_are_refused_before_anything_is_flashed(string kind, string message)
    {
        var good = File.ReadAllBytes(BootloaderFile("BL14"));
        var bytes = kind switch
        {
            "big" => [.. good, .. new byte[20 * 1024 - good.Length]],
            "no-vectors" => Enumerable.Repeat((byte)0x5A, 4096).ToArray(),
            "handler-outside" => [.. good[..4], 0x11, 0x51, 0x00, 0x08, .. good[8..]],
            _ => Array.Empty<byte>(),
        };
        var path = Path.Combine(Path.GetTempPath(), "hilrig-tests", Guid.NewGuid().ToString("N") + ".bin");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores(), simLines: "bootloaderProtected: false");

        var (exit, output, error) = CliHarness.Run("soak", "--cycles", "1", "--bootloader", path, "--config", config);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(error, Does.Contain($"--bootloader {path}: ").And.Contain(message).And.Contain("nothing was flashed"));
        Assert.That(output, Is.Empty);
        Assert.That(Directory.Exists(Path.Combine(Path.GetDirectoryName(config)!, "results")), Is.False, "no store, no run: the rig was not touched");
    }

    [Test]
    public void Rows_are_stored_per_cycle_step_and_a_baseline_run_is_compared()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores(), seed: 7);
        var baseline = CliHarness.Run("soak", "--cycles", "1", "--slots", "1", "--bootloader", "BL13", "--every-readback", "1", "--config", config);
        Assert.That(baseline.Exit, Is.Zero, baseline.Error);
        var runId = RunId(baseline.Error);

        var store = ResultsStore.Open(Path.Combine(Path.GetDirectoryName(config)!, "results", "hilrig.db"));
        var run = store.GetRun(Guid.Parse(runId));
        Assert.That(run, Is.Not.Null, "the store path the test expects");
        Assert.That(run!.Kind, Is.EqualTo("soak"));
        Assert.That(run.Bootloader, Is.EqualTo("BL13"));
        var results = store.GetResults(run.Id);
        Assert.That(results.Select(r => (r.Test, r.Cycle)), Is.EquivalentTo(new[] { ("ota", (int?)1), ("factory-reset", (int?)1), ("dfu-readback", (int?)1) }));

        var candidate = CliHarness.Run("soak", "--cycles", "1", "--slots", "1", "--bootloader", "BL14", "--baseline", runId, "--config", config);
        Assert.That(candidate.Exit, Is.Zero, candidate.Error);
        Assert.That(candidate.Output, Does.Contain("BL14: 0 failure(s) in 1 cycles"));
        Assert.That(candidate.Output, Does.Match("vs baseline BL13 \\(0 in 1 cycles\\): p = [0-9.]+: not shown worse"));
    }

    [Test]
    public void Progress_goes_to_the_error_stream_as_lines_and_every_row_is_in_the_store_when_the_run_ends()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores((3, "{ slow: 3 }")), seed: 11, bootloader: "candidate");
        var (exit, output, error) = CliHarness.Run("soak", "--cycles", "2", "--slots", "2-3", "--format", "json", "--config", config);
        Assert.That(exit, Is.EqualTo(1), error);
        using var doc = JsonDocument.Parse(output);
        Assert.That(error, Does.Contain("slot 3: cycle 1/2 factory-reset: fail"), "a failure is told as it happens");
        Assert.That(error, Does.Contain("slot 2: done at cycle 2/2: 0 failure(s)"));
        Assert.That(error, Does.Contain("slot 3: done at cycle 2/2: 2 failure(s), 2 recovery(ies)"));
        Assert.That(error, Does.Match(@"soak: 100 % of 4 slot-cycles, 2 failure\(s\); [0-9:]+ elapsed"));

        var store = ResultsStore.Open(Path.Combine(Path.GetDirectoryName(config)!, "results", "hilrig.db"));
        var stored = store.GetResults(Guid.Parse(RunId(error)));
        Assert.That(stored.Select(r => (r.Slot, r.Test, r.Cycle, r.Verdict.ToString())),
            Is.EquivalentTo(Rows(doc).Select(r => (r.GetProperty("slot").GetInt32(), Str(r, "test"), (int?)r.GetProperty("cycle").GetInt32(), VerdictNames.Parse(Str(r, "verdict")).ToString()))));
        var lots = TestRigs.Load(TestRigs.DefaultCores()).Sim.Cores.Where(c => c.Slot is 2 or 3).Select(c => c.Lot).Distinct();
        Assert.That(store.LotSummary().Select(l => l.Lot), Is.EquivalentTo(lots), "devices are stored with their chip lots");
    }

    [Test]
    public void An_OTA_the_Core_does_not_take_fails_as_soon_as_the_Core_is_back_on_its_old_app()
    {
        // a chip with bad sectors in the OTA area: the cloud says success, the bootloader does not run the new image
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores((5, "{ badSectors: 2 }")));
        var (exit, output, error) = CliHarness.Run("soak", "--cycles", "1", "--slots", "5", "--format", "json", "--config", config);
        Assert.That(exit, Is.EqualTo(1), error);
        using var doc = JsonDocument.Parse(output);
        var ota = Rows(doc).Single(r => Str(r, "test") == "ota");
        Assert.That((Str(ota, "verdict"), Str(ota, "failureMode")), Is.EqualTo(("fail", "ota-failed")));
        Assert.That(Str(ota, "signature"), Does.Contain("came back online still running its old app"));
        Assert.That(ota.GetProperty("deviceTimeMs").GetDouble(), Is.LessThan(Ota.Timeout.TotalMilliseconds / 2), "judged once the Core is back, not at the OTA timeout");
    }

    [Test]
    [Category("Integration")] // a child hilrig process stopped by SIGTERM
    public async Task Sigterm_stops_a_soak_keeping_the_rows_it_judged_and_marking_the_run_aborted()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(TestContext.CurrentContext.TestDirectory, "hilrig.dll"), "soak", "--cycles", "100000", "--slots", "1-2", "--config", config })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = new List<string>();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) lock (stderr) stderr.Add(e.Data);
        };
        process.BeginErrorReadLine();
        // rows are stored as steps end: wait for a few, then stop the soak as systemd would
        var db = Path.Combine(Path.GetDirectoryName(config)!, "results", "hilrig.db");
        using (var wait = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            while (StoredRows(db) < 4)
                await Task.Delay(TimeSpan.FromMilliseconds(100), TimeProvider.System, wait.Token);
        }
        Assert.That(PosixSignals.Terminate(process.Id), Is.Zero, "SIGTERM sent");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);

        string error;
        lock (stderr) error = string.Join("\n", stderr);
        Assert.That(process.ExitCode, Is.EqualTo(130), error);
        Assert.That(await stdout, Is.Empty, "no summary of a soak that did not finish");
        Assert.That(CliHarness.Unwrapped(error), Does.Match(@"soak stopped: [0-9]+ row\(s\) kept in run [0-9a-f-]{36} \(aborted\)"));
        Assert.That(error, Does.Contain("slot 1: stopped at cycle"));
        var store = ResultsStore.Open(db);
        var run = store.GetRun(Guid.Parse(RunId(error)))!;
        Assert.That(run.Status, Is.EqualTo(RunStatus.Aborted));
        var kept = int.Parse(Regex.Match(error, "soak stopped: ([0-9]+) row").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(store.GetResults(run.Id), Has.Count.EqualTo(kept).And.Count.GreaterThanOrEqualTo(4));
    }

    /// <summary>Rows in a store another process is creating and writing; 0 until its schema is in place.</summary>
    private static int StoredRows(string db)
    {
        if (!File.Exists(db)) return 0;
        try
        {
            using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db};Mode=ReadOnly");
            connection.Open();
            using var count = connection.CreateCommand();
            count.CommandText = "SELECT COUNT(*) FROM results";
            return Convert.ToInt32(count.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Microsoft.Data.Sqlite.SqliteException)
        {
            return 0;
        }
    }

    [Test]
    public void With_observe_leds_each_stored_step_keeps_the_LED_timeline_the_sensor_saw()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        var (exit, _, error) = CliHarness.Run("soak", "--cycles", "1", "--slots", "1", "--observe-leds", "--config", config);
        Assert.That(exit, Is.Zero, error);
        var store = ResultsStore.Open(Path.Combine(Path.GetDirectoryName(config)!, "results", "hilrig.db"));
        var ota = store.GetResults(Guid.Parse(RunId(error))).Single(r => r.Test == "ota");
        var timeline = EvidenceJson.Read(ota.EvidenceJson)!.Led!;
        Assert.That(timeline.Select(s => s.State), Does.Contain("fast flashing magenta").And.Contain("breathing cyan"), "the bootloader's apply, then the new app on the cloud");
        Assert.That(timeline[0].Start, Is.Zero);
        Assert.That(timeline.Select(s => s.End), Is.Ordered);

        var (plainExit, _, plainError) = CliHarness.Run("soak", "--cycles", "1", "--slots", "1", "--config", config);
        Assert.That(plainExit, Is.Zero, plainError);
        var plain = store.GetResults(Guid.Parse(RunId(plainError))).Single(r => r.Test == "ota");
        Assert.That(EvidenceJson.Read(plain.EvidenceJson)?.Led, Is.Null,
            "the simulator soaks without LED sampling by default");
    }

    [Test]
    public void Bench_soak_prints_device_time_against_wall_time()
    {
        var (exit, output, error) = CliHarness.Run("bench", "soak", "--cycles", "1", "--slots", "1-2", "--config", TestRigs.WriteConfig(TestRigs.DefaultCores()));
        Assert.That(exit, Is.Zero, error);
        Assert.That(output, Does.Contain("soak bench: 1 cycles x 2 slots, BL14"));
        Assert.That(output, Does.Contain("rows 4, cycles judged 2, failures 0"));
        Assert.That(output, Does.Match(@"device/wall\s+[0-9]+x"));
        Assert.That(output, Does.Match(@"device time\s+[0-9.]+ h summed over slots \([1-9][0-9.]* s per cycle\)"));
    }

    [TestCase("--cycles", "0", "--cycles 0: valid: 1..100000")]
    [TestCase("--every-readback", "0", "--every-readback 0: valid: 1..100000")]
    [TestCase("--bootloader", "BL99", "--bootloader BL99: valid: BL13, BL14, candidate or a bootloader image file (no such file)")]
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
