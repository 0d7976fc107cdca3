using HilRig.Cli;
using HilRig.Cli.Commands;
using HilRig.Core.Led;
using HilRig.Core.Results;

namespace HilRig.Tests.Cli;

/// <summary>`hilrig led watch|record|calibrate` on the simulated rig, as a user runs them.</summary>
public class LedRigCommandTests
{
    private string _config = "";
    private string _dir = "";

    [SetUp]
    public void WriteRig()
    {
        _config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        _dir = Path.GetDirectoryName(_config)!;
    }

    [TearDown]
    public void RemoveRig() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void A_recorded_boot_of_a_fresh_Core_is_a_trace_that_led_classify_reads_back_as_white_fade_then_flashing_blue()
    {
        var trace = Path.Combine(_dir, "boot.csv");
        var (exit, _, err) = CliHarness.Run("led", "record", "--config", _config, "--slot", "2", "--seconds", "10", "--out", trace, "--power-on");

        Assert.That(exit, Is.EqualTo(ExitCodes.Ok), err);
        Assert.That(err, Does.Contain("recorded").And.Contain("slot 2"));
        var read = TraceCsv.Read(trace);
        Assert.That(read.Samples, Has.Count.InRange(400, 420), "10 s at 24 ms");
        Assert.That(read.Calibration, Is.Not.Null, "the slot's calibration is the trace's # dark line");
        Assert.That(File.Exists(trace + ".partial"), Is.False);

        var (classified, table, classifyErr) = CliHarness.Run("led", "classify", trace);
        Assert.That(classified, Is.EqualTo(ExitCodes.Ok), classifyErr);
        // a Core fresh from the factory has no Wi-Fi credentials: the app's fade, then listening mode
        var json = System.Text.Json.JsonDocument.Parse(CliHarness.Run("led", "classify", trace, "--format", "json").Output);
        var states = json.RootElement.GetProperty("segments").EnumerateArray().Select(s => s.GetProperty("state").GetString()).ToList();
        Assert.That(table, Does.Contain("white fade").And.Contain("flashing blue"));
        Assert.That(states, Is.EqualTo(new[] { "white fade", "flashing blue" }), table);
        Assert.That(CliHarness.Run("led", "classify", trace).Output, Is.EqualTo(table), "the same segments every time");
    }

    [Test]
    public void An_idle_rig_records_its_powered_off_Cores_as_off()
    {
        var trace = Path.Combine(_dir, "idle.csv");
        var (exit, _, err) = CliHarness.Run("led", "record", "--config", _config, "--slot", "5", "--seconds", "3", "--out", trace);
        Assert.That(exit, Is.EqualTo(ExitCodes.Ok), err);
        var timeline = LedClassifier.Classify(TraceCsv.Read(trace));
        Assert.That(timeline.Segments.Select(s => s.State), Is.All.EqualTo(LedState.Dark), timeline.ToString());
    }

    [TestCase("0", "--seconds: 0 is not a duration; valid: more than 0 and at most 3600")]
    [TestCase("3601", "--seconds: 3601 is not a duration; valid: more than 0 and at most 3600")]
    public void Seconds_out_of_bounds_exit_2_with_one_line_and_write_nothing(string seconds, string message)
    {
        var trace = Path.Combine(_dir, "never.csv");
        var (exit, _, err) = CliHarness.Run("led", "record", "--config", _config, "--slot", "1", "--seconds", seconds, "--out", trace);
        Assert.That(exit, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(err.Trim(), Is.EqualTo($"hilrig: {message}"));
        Assert.That(File.Exists(trace), Is.False);

        var watch = CliHarness.Run("led", "watch", "--config", _config, "--slot", "1", "--seconds", seconds);
        Assert.That(watch.Exit, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(watch.Error.Trim(), Is.EqualTo($"hilrig: {message}"));
    }

    [Test]
    public void A_slot_not_on_the_rig_exits_2_naming_the_valid_slots()
    {
        var (exit, _, err) = CliHarness.Run("led", "record", "--config", _config, "--slot", "9", "--seconds", "1", "--out", Path.Combine(_dir, "x.csv"));
        Assert.That(exit, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(err.Trim(), Is.EqualTo("hilrig: --slot: slot 9 is not on this rig; valid: 1,2,3,4,5,6,7,8"));
    }

    [Test]
    public void Watch_prints_a_line_per_change_when_redirected_and_stops_after_its_seconds()
    {
        var (exit, output, err) = CliHarness.Run("led", "watch", "--config", _config, "--slot", "3", "--seconds", "4", "--power-on");
        Assert.That(exit, Is.EqualTo(ExitCodes.Ok), err);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Is.Not.Empty);
        Assert.That(lines, Has.All.Match(@"^\s*\d+\.\d{3} s  slot 3: .+ \(confidence \d\.\d\d\)$"));
        var states = lines.Select(l => l[(l.IndexOf(": ", StringComparison.Ordinal) + 2)..l.LastIndexOf(" (", StringComparison.Ordinal)]).ToList();
        Assert.That(states.Zip(states.Skip(1)).Where(p => p.First == p.Second), Is.Empty, $"a line only when the state changes: {string.Join(", ", states)}");
        var times = lines.Select(l => double.Parse(l.Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.That(times, Is.Ordered);
        Assert.That(times[^1], Is.LessThanOrEqualTo(4.1));
        Assert.That(states, Does.Contain("white fade"), "the app's start-up fade");
        // a fresh Core has no Wi-Fi credentials: listening mode, and a blink's dark half is not a change
        Assert.That(states[^1], Is.EqualTo("flashing blue"), "a blink's dark half is not reported as a change");
    }

    [Test]
    public void Only_a_redirected_watch_with_seconds_runs_the_simulator_on_virtual_time()
    {
        // its lines carry device time, so nothing is lost by not waiting; one without --seconds runs until Ctrl-C and
        // must keep a real rig's pace (on virtual time it would spin through device hours)
        using var redirected = new StringWriter();
        Assert.That(LedRigCommands.WatchClock(redirected, 4), Is.EqualTo(LedRigCommands.RigSessionClock.Fast));
        Assert.That(LedRigCommands.WatchClock(redirected, null), Is.EqualTo(LedRigCommands.RigSessionClock.Live));
    }

    [Test]
    public void Calibrate_stores_every_slots_calibration_for_the_rig_and_the_next_record_uses_it()
    {
        var (exit, output, err) = CliHarness.Run("led", "calibrate", "--config", _config, "--format", "json");
        Assert.That(exit, Is.EqualTo(ExitCodes.Ok), err);
        Assert.That(output, Does.Contain("\"slot\": 8"));
        var store = ResultsStore.Open(Path.Combine(_dir, "results", "hilrig.db"));
        var stored = store.GetCalibrations("sim-rig-01");
        Assert.That(stored.Select(c => c.Calibration.Slot), Is.EqualTo(Enumerable.Range(1, 8)));

        var trace = Path.Combine(_dir, "after.csv");
        Assert.That(CliHarness.Run("led", "record", "--config", _config, "--slot", "4", "--seconds", "1", "--out", trace).Exit, Is.EqualTo(ExitCodes.Ok));
        var calibration = TraceCsv.Read(trace).Calibration!;
        Assert.That(calibration.DarkC, Is.EqualTo(stored[3].Calibration.DarkC).Within(1e-3), "the stored calibration is loaded, not redone");

        var one = CliHarness.Run("led", "calibrate", "--config", _config, "--slots", "2");
        Assert.That(one.Exit, Is.EqualTo(ExitCodes.Ok), one.Error);
        Assert.That(one.Output, Does.Contain("stored"));
        Assert.That(store.GetCalibrations("sim-rig-01").Single(c => c.Calibration.Slot == 2).CalibratedAt, Is.GreaterThanOrEqualTo(stored[1].CalibratedAt));
    }

    [Test]
    public void Screen_stores_each_slots_LED_timeline_in_its_evidence_json()
    {
        var (exit, _, err) = CliHarness.Run("screen", "--config", _config, "--slots", "1", "--format", "json");
        Assert.That(exit, Is.EqualTo(ExitCodes.Ok), err);
        var store = ResultsStore.Open(Path.Combine(_dir, "results", "hilrig.db"));
        using var evidence = System.Text.Json.JsonDocument.Parse(store.GetResults().Single(r => r.Test == "screen").EvidenceJson!);
        var led = evidence.RootElement.GetProperty("led").EnumerateArray().ToList();
        Assert.That(led.Select(s => s.GetProperty("state").GetString()), Does.Contain("flashing yellow"));
        Assert.That(led.Select(s => s.GetProperty("end").GetDouble()), Is.Ordered);
        Assert.That(led[0].GetProperty("start").GetDouble(), Is.Zero);
        Assert.That(led.Select(s => s.GetProperty("confidence").GetDouble()), Is.All.InRange(0.0, 1.0));
    }
}
