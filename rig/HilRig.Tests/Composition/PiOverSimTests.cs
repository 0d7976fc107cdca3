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
/// composition) over the simulator's chip models (<see cref="SimulatedPiDevices"/>, env HILRIG_PI_DEVICES=sim). USB goes
/// through the Pi's libusb binding loaded on the HilRig libusb shim, which the simulated bus is served to on a socket.
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
    [Category("Integration")] // the simulated bus served on a socket to the libusb shim
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
            Assert.That(pi.Usb, Is.InstanceOf<BridgedUsbBus>(), "USB through the Pi's libusb binding");
            Assert.That(((BridgedUsbBus)pi.Usb).LibUsb.Native.IsHilRigShim, Is.True, "loaded on the libusb shim, which serves the simulated bus");
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
    [Category("Integration")] // the simulated bus served on a socket to the libusb shim
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

    /// <summary>What `hilrig led calibrate`, `doctor`, `screen` and `soak` leave on a rig, on one backend.</summary>
    private sealed record RigDay(
        IReadOnlyList<string> Calibrations, string Doctor, int ScreenExit, IReadOnlyList<string> Screened,
        int SoakExit, IReadOnlyList<string> Rows, IReadOnlyList<string> Runs);

    private static RigDay RunRigDay(string configText, bool onPi)
    {
        var dir = Directory.CreateTempSubdirectory("hilrig-pi-sim-").FullName;
        var soakDir = Directory.CreateTempSubdirectory("hilrig-pi-sim-").FullName;
        try
        {
            var config = Path.Combine(dir, "rig-config.yaml");
            File.WriteAllText(config, configText);
            var run = onPi ? (Func<string[], (int, string, string)>)Hilrig : CliHarness.Run;

            var (calibrated, calibration, calibrateErr) = run(["led", "calibrate", "--config", config, "--format", "json"]);
            Assert.That(calibrated, Is.Zero, calibrateErr + calibration);
            var (doctor, doctorOut, doctorErr) = run(["doctor", "--config", config]);
            Assert.That(doctor, Is.Zero, doctorOut + doctorErr);
            var (screened, screenOut, _) = run(["screen", "--config", config, "--readback-only", "--format", "json"]);

            // the soak on a rig of its own with no stored calibrations: a Pi soaks with the stored ones, the simulator
            // always calibrates afresh, so only there do both start alike. A soak on the simulator leaves LEDs unwatched
            // unless asked (it saves CPU); a Pi always watches them.
            var soakConfig = Path.Combine(soakDir, "rig-config.yaml");
            File.WriteAllText(soakConfig, configText);
            var (soaked, _, soakErr) = run(["soak", "--config", soakConfig, "--cycles", "1", "--slots", "1-2", "--observe-leds", "true", "--format", "json"]);
            Assert.That(soakErr, Does.Not.Contain("libusb shim"), "the shim has nothing to complain about");

            var stores = new[] { (Dir: dir, Store: ResultsStore.Open(Path.Combine(dir, "results", "hilrig.db"))), (Dir: soakDir, Store: ResultsStore.Open(Path.Combine(soakDir, "results", "hilrig.db"))) };
            var rigId = RigConfigLoader.Load(config).RigId;
            return new RigDay(
                [.. stores[0].Store.GetCalibrations(rigId).OrderBy(c => c.Calibration.Slot).Select(c => JsonSerializer.Serialize(c.Calibration))],
                // the doctor's findings; where they differ is the backend's name, the folder and how the Pi names its I2C bus (its /dev node)
                string.Join(' ', doctorOut.Replace(dir, "{D}", StringComparison.Ordinal).Replace("(backend pi)", "(backend sim)", StringComparison.Ordinal)
                    .Replace("/dev/i2c-", "simulated i2c-", StringComparison.Ordinal).Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries)),
                screened,
                [.. JsonDocument.Parse(screenOut).RootElement.GetProperty("slots").EnumerateArray().Select(WithoutLot)],
                soaked,
                [.. stores.SelectMany(s => s.Store.GetResults().Select(r => (s.Dir, Row: r))).OrderBy(r => r.Row.Test).ThenBy(r => r.Row.Slot).ThenBy(r => r.Row.Cycle).ThenBy(r => r.Row.Attempt)
                    .Select(r => $"{r.Row.Test} slot {r.Row.Slot} {r.Row.DeviceId} cycle {r.Row.Cycle} attempt {r.Row.Attempt} {r.Row.Verdict} {r.Row.FailureMode} [{r.Row.Signature}] {r.Row.DeviceTime?.TotalMilliseconds:0.###} ms {Comparable(r.Row.EvidenceJson, r.Dir)}")],
                [.. stores.SelectMany(s => s.Store.GetResults().Select(r => r.RunId).Distinct().Select(id => s.Store.GetRun(id)!)).OrderBy(r => r.Kind).Select(r => $"{r.Kind} {r.Status} seed {r.Seed}")]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
            Directory.Delete(soakDir, recursive: true);
        }
    }

    /// <summary>
    /// Stored evidence as both backends must agree on it: backup files named under each run's own folder, and a USB
    /// error's own words left out (libusb describes a transfer its own way, "... (LIBUSB_ERROR_TIMEOUT)"; when and where
    /// it happened, the step, verdict and failure mode stay).
    /// </summary>
    private static string Comparable(string? evidence, string dir)
    {
        var text = (evidence ?? "").Replace(dir, "{D}", StringComparison.Ordinal);
        text = System.Text.RegularExpressions.Regex.Replace(text, "\"error\":\"(?:[^\"\\\\]|\\\\.)*\"", "\"error\":\"...\"");
        return System.Text.RegularExpressions.Regex.Replace(text, "control transfer .*?: operation timed out", "control transfer (...): operation timed out");
    }

    /// <summary>A screened slot as `hilrig screen` prints it; the lot is left out (the simulator knows its Cores' lots, a Pi only through the inventory).</summary>
    private static string WithoutLot(JsonElement slot) =>
        string.Join(", ", slot.EnumerateObject().Where(p => p.Name != "lot").Select(p => $"{p.Name}={p.Value.GetRawText()}"));

    [Test]
    [Category("Integration")] // serves the simulated bus on a socket to the libusb shim, eight CLI runs
    public void Led_calibrate_doctor_screen_and_soak_give_the_same_verdicts_LED_timelines_and_calibrations_on_backend_pi_over_simulated_devices_as_on_backend_sim()
    {
        var onSim = RunRigDay(BadFlashText, onPi: false);
        var onPi = RunRigDay(AsPi(BadFlashText), onPi: true);

        Assert.That(onPi.Calibrations, Has.Count.EqualTo(8), "stored per rig and slot");
        Assert.That(onPi.Calibrations, Is.EqualTo(onSim.Calibrations));
        Assert.That(onPi.Doctor, Does.Contain("0 failed"));
        Assert.That(onPi.Doctor, Is.EqualTo(onSim.Doctor));
        Assert.That(onPi.ScreenExit, Is.EqualTo(1), "bad Cores fail");
        Assert.That(onPi.Screened, Is.EqualTo(onSim.Screened));
        Assert.That(onPi.SoakExit, Is.Zero);
        Assert.That(onPi.Rows, Is.EqualTo(onSim.Rows), "stored rows: verdicts, failure modes, device times and evidence with its LED timelines");
        Assert.That(onPi.Rows.Where(r => r.StartsWith("dfu-readback", StringComparison.Ordinal)).ToList(), Has.Count.EqualTo(8).And.All.Contain("flashing yellow"));
        Assert.That(onPi.Rows.Where(r => !r.StartsWith("dfu-readback", StringComparison.Ordinal)), Has.Some.Contain("breathing cyan"), "the Pi soaks with its LEDs observed");
        Assert.That(onPi.Runs, Has.All.EndWith("seed "), "a real rig records no simulator seed");
        Assert.That(onSim.Runs, Has.None.EndWith("seed "));
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
