using System.Text.Json;
using HilRig.Composition;
using HilRig.Core.Config;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Tests.Cli;
using HilRig.Tests.Suites;

namespace HilRig.Tests.Hardware;

/// <summary>
/// The Pi backend's own code (device nodes under /dev, the Cores' ttys found through sysfs by USB path, the one
/// composition) over the simulator's chip models (<see cref="SimulatedPiDevices"/>, env HILRIG_PI_DEVICES=sim).
/// </summary>
[NonParallelizable]
public class PiOverSimTests
{
    private static readonly string BadFlashText = File.ReadAllText(RepoFiles.Path("examples/bad-flash-rig.yaml"));

    private static string AsPi(string configText) => configText.Replace("backend: sim", "backend: pi", StringComparison.Ordinal);

    private static List<SlotOutcome> Screen(RigSession session) =>
        [.. session.RunAsync(() => new Screening(session.Usb, session.Time).RunAsync(session.Slots)).GetAwaiter().GetResult().OrderBy(o => o.Slot)];

    private static string Describe(SlotOutcome o) =>
        $"slot {o.Slot} {o.DeviceId} {o.Verdict} {o.FailureMode} [{o.Signature}] {o.DeviceTime.TotalMilliseconds:0} ms LED: " +
        string.Join(", ", o.Evidence.Led?.Select(s => $"{s.Start:0.000}-{s.End:0.000} {s.State}") ?? ["none"]);

    [Test]
    public void The_same_screening_of_a_bad_flash_rig_gives_the_same_verdicts_and_LED_timelines_on_the_simulator_and_on_the_Pi_backend_over_simulated_devices()
    {
        var simConfig = RigConfigLoader.Parse(BadFlashText, "bad-flash-rig.yaml");
        var piConfig = RigConfigLoader.Parse(AsPi(BadFlashText), "bad-flash-rig.yaml");
        Assert.That(piConfig.Backend, Is.EqualTo(RigBackend.Pi));

        List<SlotOutcome> onSim, onPi;
        using (var sim = RigSession.Open(simConfig))
            onSim = Screen(sim);
        using (var pi = RigSession.Open(piConfig, new RigSessionOptions { PiDevices = new SimulatedPiDevices(piConfig) }))
        {
            Assert.That(pi.RunFacts.Backend, Is.EqualTo("pi"));
            Assert.That(pi.Led, Is.Not.Null, "the Pi observes LEDs");
            onPi = Screen(pi);
        }

        Assert.That(onPi.Select(Describe), Is.EqualTo(onSim.Select(Describe)));
        // and it is the bad-flash rig: stuck bits (3), sectors that do not erase (5) and a dead chip (7) fail, the neighbours pass
        Assert.That(onPi.Where(o => o.Verdict == Verdict.Fail).Select(o => o.Slot), Is.EqualTo(new[] { 3, 5, 7 }));
        Assert.That(onPi.Where(o => o.Verdict == Verdict.Pass).Select(o => o.Slot), Is.EqualTo(new[] { 1, 2, 4, 6, 8 }));
        Assert.That(onPi.Select(o => o.DeviceId), Is.EqualTo(simConfig.Sim.Cores.OrderBy(c => c.Slot).Select(c => c.DeviceId.ToLowerInvariant())),
            "device ids read over each Core's tty, found through the fake sysfs tree");
        Assert.That(onPi.SelectMany(o => o.Evidence.Led!).Select(s => s.State), Does.Contain("flashing yellow"));
        Assert.That(onPi.Select(o => o.Lot), Is.All.Null, "a real Core's lot comes from the inventory, not the simulator");
    }

    [Test]
    public void A_Core_in_listening_mode_has_a_ttyACM_under_its_USB_path_in_sysfs_which_goes_when_it_is_powered_off()
    {
        var config = RigConfigLoader.Parse(AsPi(TestRigs.DefaultConfigText), "rig-config.yaml");
        var devices = new SimulatedPiDevices(config);
        using var session = RigSession.Open(config, new RigSessionOptions { PiDevices = devices, ObserveLeds = false });
        var slot = session.Slot(4);
        var ttyDir = Path.Combine(devices.Root, "sys", "bus", "usb", "devices", slot.UsbPath + ":1.0", "tty");
        Assert.That(Directory.Exists(ttyDir), Is.False, "powered off: no serial port");
        var id = session.RunAsync(async () =>
        {
            // a fresh Core has no Wi-Fi credentials: it boots into listening mode, its CDC port enumerates
            slot.Control.SetPower(true);
            await Task.Delay(TimeSpan.FromSeconds(5), session.Time);
            return await slot.Identity.ReadDeviceIdAsync();
        }).GetAwaiter().GetResult();
        Assert.That(Directory.GetDirectories(ttyDir).Select(Path.GetFileName), Is.EqualTo(new[] { "ttyACM0" }));
        Assert.That(File.Exists(Path.Combine(devices.Root, "dev", "ttyACM0")), Is.True);
        Assert.That(id, Is.EqualTo(config.Sim.CoreFor(4).DeviceId.ToLowerInvariant()));
        session.RunAsync(async () =>
        {
            slot.Control.SetPower(false);
            await Task.Delay(TimeSpan.FromSeconds(1), session.Time);
        }).GetAwaiter().GetResult();
        Assert.That(Directory.Exists(ttyDir), Is.False, "the port went with the power");
    }

    /// <summary>`hilrig` as a user runs it on a Pi rig, with HILRIG_PI_DEVICES=sim standing in for the hardware.</summary>
    private static (int Exit, string Output, string Error) Hilrig(params string[] args)
    {
        var before = Environment.GetEnvironmentVariable(SimulatedPiDevices.Variable);
        Environment.SetEnvironmentVariable(SimulatedPiDevices.Variable, "sim");
        try
        {
            return CliHarness.Run(args);
        }
        finally
        {
            Environment.SetEnvironmentVariable(SimulatedPiDevices.Variable, before);
        }
    }

    [Test]
    public void Led_calibrate_doctor_screen_and_soak_run_on_backend_pi_over_simulated_devices_with_LED_evidence()
    {
        var dir = Directory.CreateTempSubdirectory("hilrig-pi-sim-").FullName;
        var config = Path.Combine(dir, "rig-config.yaml");
        File.WriteAllText(config, AsPi(BadFlashText));
        var expected = RigConfigLoader.Load(config).Sim.Cores.OrderBy(c => c.Slot).ToList();

        var (calibrated, calibration, calibrateErr) = Hilrig("led", "calibrate", "--config", config, "--format", "json");
        Assert.That(calibrated, Is.Zero, calibrateErr + calibration);
        var store = ResultsStore.Open(Path.Combine(dir, "results", "hilrig.db"));
        Assert.That(store.GetCalibrations("sim-rig-bad-flash").Select(c => c.Calibration.Slot), Is.EquivalentTo(Enumerable.Range(1, 8)), "stored per rig and slot");

        var (doctor, doctorOut, doctorErr) = Hilrig("doctor", "--config", config);
        Assert.That(doctor, Is.Zero, doctorOut + doctorErr);
        Assert.That(doctorOut, Does.Contain("0 failed"));

        var (screened, screenOut, screenErr) = Hilrig("screen", "--config", config, "--readback-only", "--format", "json");
        Assert.That(screened, Is.EqualTo(1), "bad Cores fail: " + screenErr);
        var verdicts = JsonDocument.Parse(screenOut).RootElement.GetProperty("slots").EnumerateArray()
            .ToDictionary(e => e.GetProperty("slot").GetInt32(), e => (Id: e.GetProperty("deviceId").GetString(), Verdict: e.GetProperty("verdict").GetString()));
        foreach (var core in expected)
        {
            Assert.That(verdicts[core.Slot].Id, Is.EqualTo(core.DeviceId.ToLowerInvariant()));
            Assert.That(verdicts[core.Slot].Verdict, Is.EqualTo(core.Slot is 3 or 5 or 7 ? "fail" : "pass"), $"slot {core.Slot}");
        }
        var rows = store.GetResults();
        Assert.That(rows.Count(r => r.Test == "dfu-readback"), Is.EqualTo(8));
        Assert.That(rows.Select(r => r.EvidenceJson ?? ""), Has.All.Contain("flashing yellow"), "each stored row keeps its LED timeline");
        var run = store.GetRun(rows[0].RunId)!;
        Assert.That(run.Seed, Is.Null, "a real rig records no simulator seed");

        var (soaked, soakOut, soakErr) = Hilrig("soak", "--config", config, "--cycles", "1", "--slots", "1-2", "--format", "json");
        Assert.That(soaked, Is.Zero, soakErr + soakOut);
        var soakRows = store.GetResults().Where(r => r.Test != "dfu-readback").ToList();
        Assert.That(soakRows.Select(r => r.Test), Is.SupersetOf(new[] { "ota", "factory-reset" }), soakOut);
        Assert.That(soakRows.Select(r => r.EvidenceJson ?? ""), Has.Some.Contain("breathing cyan"), "the Pi soaks with its LEDs observed");
        Directory.Delete(dir, recursive: true);
    }

    [Test]
    public void An_unknown_HILRIG_PI_DEVICES_value_is_one_line_naming_the_valid_ones_and_exit_2()
    {
        var dir = Directory.CreateTempSubdirectory("hilrig-pi-sim-").FullName;
        var config = Path.Combine(dir, "rig-config.yaml");
        File.WriteAllText(config, AsPi(BadFlashText));
        var before = Environment.GetEnvironmentVariable(SimulatedPiDevices.Variable);
        Environment.SetEnvironmentVariable(SimulatedPiDevices.Variable, "fake");
        try
        {
            var (exit, output, error) = CliHarness.Run("doctor", "--config", config);
            Assert.That(exit, Is.EqualTo(2));
            Assert.That(error.TrimEnd(), Is.EqualTo("hilrig: HILRIG_PI_DEVICES=fake: valid: sim (the config's own sim: section) or sim:<rig-config.yaml> (another config's sim: section); unset for the real devices"));
            Assert.That(output, Is.Empty);
        }
        finally
        {
            Environment.SetEnvironmentVariable(SimulatedPiDevices.Variable, before);
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    [Category("Integration")]
    public async Task The_NUnit_suites_run_on_backend_pi_over_simulated_devices_with_the_same_verdicts()
    {
        var folder = SuiteRun.NewFolder(AsPi(BadFlashText));
        var run = await SuiteRun.RunAsync(folder, "Category=DfuReadback", new Dictionary<string, string> { [SimulatedPiDevices.Variable] = "sim" });
        var cases = run.Cases.Where(c => c.Name.StartsWith("External_flash_reads_back", StringComparison.Ordinal)).ToList();
        Assert.That(cases, Has.Count.EqualTo(8), run.Output);
        foreach (var c in cases)
        {
            var slot = int.Parse(c.Name.Split("(slot ")[1].Split(',')[0], System.Globalization.CultureInfo.InvariantCulture);
            Assert.That(c.Outcome, Is.EqualTo(slot is 3 or 5 or 7 ? "Failed" : "Passed"), $"{c.Name}: {c.Message}");
            if (c.Outcome == "Failed") Assert.That(c.Message, Does.Contain("LED timeline:").And.Contain("flashing yellow"));
        }
        var rows = ResultsStore.Open(run.StorePath).GetResults();
        Assert.That(rows, Has.Count.EqualTo(8));
        Assert.That(ResultsStore.Open(run.StorePath).GetRun(rows[0].RunId)!.Seed, Is.Null, "the Pi records no simulator seed");
    }
}
