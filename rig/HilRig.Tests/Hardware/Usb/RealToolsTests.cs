using HilRig.Core.Spark;
using HilRig.Core.Dfu;
using HilRig.Core.Procedures;
using HilRig.Hardware.Usb;
using HilRig.Sim.Device;
using HilRig.Sim.Device.Dfu;
using HilRig.Sim.Device.Firmware;

namespace HilRig.Tests.Hardware;

/// <summary>
/// The unmodified Debian dfu-util and uhubctl against the whole simulated rig (VirtualCore, SparkDfuDevice,
/// VirtualUsbHub) served in real time through the libusb shim: the reference host and hub tool decide whether the
/// simulated Core behaves like a Core.
/// </summary>
[NonParallelizable]
[Category("Integration")] // starts real tools, servers or child processes
public class RealToolsTests
{
    // Entering DFU (4.3 s of button choreography) takes under half a second; the tools' own poll sleeps stay
    // wall-clock, so the device only ever answers sooner than they ask. Not faster: in real time a stall of the
    // test process longer than (10 s - 4 s) / speed while MODE is held would read as a 10 s factory-reset hold.
    private const double Speed = 10;

    private const uint ImageAddress = 0x20000;

    [Test]
    public async Task Dfu_util_lists_the_Core_in_DFU_with_both_alt_settings_and_its_serial()
    {
        var dfuUtil = ExternalTool.Require("dfu-util");
        await using var rig = await ServedRig.StartForToolsAsync(TestRigs.DefaultCores(), Speed, 3);
        var core = rig.Core(3);
        var address = await rig.OnSimAsync(() => rig.Session.Usb.GetDevices().Single(d => d.Path == "1-1.3").Address);

        var run = await rig.RunAsync(dfuUtil, "-l");

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        // dfu-util prepends every alt it finds, so a real Core lists alt 1 first; the serial is the bootloader's
        // Get_SerialNum of the device id.
        var serial = SparkDfuDevice.SerialFromDeviceId(core.DeviceId);
        var found = run.StdOut.Split('\n').Where(l => l.StartsWith("Found ", StringComparison.Ordinal)).ToList();
        Assert.That(found, Is.EqualTo(new[]
        {
            $"Found DFU: [1d50:607f] ver=0200, devnum={address}, cfg=1, intf=0, path=\"1-1.3\", alt=1, name=\"@SPI Flash : SST25x/0x00000000/512*04Kg\", serial=\"{serial}\"",
            $"Found DFU: [1d50:607f] ver=0200, devnum={address}, cfg=1, intf=0, path=\"1-1.3\", alt=0, name=\"@Internal Flash  /0x08000000/20*001Ka,108*001Kg\", serial=\"{serial}\"",
        }), run.ToString());
    }

    [Test]
    public async Task The_seed_commands_read_back_what_they_wrote_on_a_healthy_Core_and_not_on_a_stuck_bit_Core_and_screening_agrees()
    {
        var dfuUtil = ExternalTool.Require("dfu-util");
        await using var rig = await ServedRig.StartForToolsAsync(TestRigs.DefaultCores((3, "{ stuckBits: 200 }")), Speed);
        var image = SparkAppImageGenerator.Generate(seed: 7, name: "pattern", size: 32 * 1024);
        var imagePath = rig.File("image.bin");
        await File.WriteAllBytesAsync(imagePath, image);

        var healthy = await SeedCommandsAsync(rig, dfuUtil, slot: 1, imagePath, image.Length);
        var stuck = await SeedCommandsAsync(rig, dfuUtil, slot: 3, imagePath, image.Length);

        Assert.That(healthy, Is.EqualTo(image), "healthy Core: the upload is the image");
        // Erased cells read 1 and programming only clears bits: a cell stuck at either value shows in the upload.
        var expected = (byte[])image.Clone();
        foreach (var cell in rig.Core(3).Chip.StuckCells.Where(c => c.Address >= ImageAddress && c.Address < ImageAddress + image.Length))
        {
            var mask = (byte)(1 << cell.Bit);
            var i = (int)(cell.Address - ImageAddress);
            expected[i] = cell.StuckAtOne ? (byte)(expected[i] | mask) : (byte)(expected[i] & ~mask);
        }
        Assert.That(expected, Is.Not.EqualTo(image), "precondition: some stuck cell disagrees with the image");
        Assert.That(stuck, Is.Not.EqualTo(image), "stuck-bit Core: the upload differs");
        Assert.That(stuck, Is.EqualTo(expected), "stuck-bit Core: the upload differs exactly at the stuck cells");

        var outcomes = await rig.Session.RunAsync(() => new Screening(rig.Session.Usb, rig.Session.Time).RunAsync(rig.Session.Select("1,3")));
        var bySlot = outcomes.ToDictionary(o => o.Slot);
        Assert.That(bySlot[1].Verdict, Is.EqualTo(Verdict.Pass), bySlot[1].Signature);
        Assert.That(bySlot[3].Verdict, Is.EqualTo(Verdict.Fail), bySlot[3].Signature);
        Assert.That(bySlot[3].FailureMode, Is.EqualTo(FailureModes.BadExternalFlash));
    }

    /// <summary>The seed thread's two commands, verbatim apart from file names; then the slot is powered off so only one Core is ever in DFU.</summary>
    private static async Task<byte[]> SeedCommandsAsync(ServedRig rig, string dfuUtil, int slot, string imagePath, int size)
    {
        await rig.EnterDfuAsync(slot);
        var backPath = rig.File($"back-{slot}.bin");
        var download = await rig.RunAsync(dfuUtil, "-d", "1d50:607f", "-a", "1", "-s", "0x00020000", "-v", "-D", imagePath);
        Assert.That(download.ExitCode, Is.Zero, download.ToString());
        Assert.That(download.StdOut, Does.Contain("File downloaded successfully"), download.ToString());
        var upload = await rig.RunAsync(dfuUtil, "-d", "1d50:607f", "-a", "1", "-s", $"0x00020000:{size}", "-v", "-U", backPath);
        Assert.That(upload.ExitCode, Is.Zero, upload.ToString());
        await rig.OnSimAsync(() =>
        {
            rig.Slot(slot).Control.SetPower(false);
            return true;
        });
        return await File.ReadAllBytesAsync(backPath);
    }

    [Test]
    public async Task Dfu_util_sees_the_poll_timeouts_of_the_medium_the_address_pointer_was_on()
    {
        var dfuUtil = ExternalTool.Require("dfu-util");
        await using var rig = await ServedRig.StartForToolsAsync(TestRigs.DefaultCores(), Speed, 1);
        var path = rig.File("two-sectors.bin");
        await File.WriteAllBytesAsync(path, SparkAppImageGenerator.Generate(seed: 3, size: 8192));

        var run = await rig.RunAsync(dfuUtil, "-d", "1d50:607f", "-a", "1", "-s", "0x00020000", "-v", "-v", "-D", path);

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        // dfu-util -v -v prints the poll timeouts of its DfuSe commands (2 erases, 8 Set Address). The timeout comes
        // from the pointer before the command (spark-core.md §4.1): internal flash (50 ms) on entering DFU, then the
        // SPI flash (erase 20, write 30) once the first erase moved the pointer there.
        var busyPolls = (run.StdOut + run.StdErr).Split('\n').Select(l => l.Trim())
            .Where(l => l.StartsWith("Poll timeout ", StringComparison.Ordinal) && l != "Poll timeout 0 ms").ToList();
        Assert.That(busyPolls, Is.EqualTo(new[] { "Poll timeout 50 ms", "Poll timeout 20 ms" }.Concat(Enumerable.Repeat("Poll timeout 30 ms", 8))), run.ToString());
    }

    [Test]
    public async Task A_hung_SPI_erase_shows_in_dfu_util_as_the_failed_status_read_after_the_erase()
    {
        var dfuUtil = ExternalTool.Require("dfu-util");
        await using var rig = await ServedRig.StartForToolsAsync(TestRigs.DefaultCores((1, "{ dead: true }")), Speed, 1);
        var path = rig.File("sector.bin");
        await File.WriteAllBytesAsync(path, SparkAppImageGenerator.Generate(seed: 3, size: 4096));

        var run = await rig.RunAsync(dfuUtil, "-d", "1d50:607f", "-a", "1", "-s", "0x00020000", "-D", path);

        // The Spark driver waits forever on BUSY inside the USB interrupt: the Core NAKs, the host's transfer times out.
        Assert.That(run.ExitCode, Is.EqualTo(74), run.ToString());
        Assert.That(run.StdErr, Does.Contain("Error during special command \"ERASE_PAGE\" get_status"), run.ToString());
        Assert.That(await rig.OnSimAsync(() => rig.Core(1).State), Is.EqualTo(CoreState.Dfu), "the Core still sits in DFU (hung), as on a real rig");
    }

    [Test]
    public async Task Dfu_util_leave_flashes_the_app_and_the_Core_boots_it()
    {
        var dfuUtil = ExternalTool.Require("dfu-util");
        await using var rig = await ServedRig.StartForToolsAsync(TestRigs.DefaultCores(), Speed, 2);
        var core = rig.Core(2);
        Assert.That(await rig.OnSimAsync(() => core.State), Is.EqualTo(CoreState.Dfu));
        var app = SparkAppImageGenerator.Generate(seed: 11, name: "seed-app", version: "3.1.4", size: 24_000);
        var appPath = rig.File("app.bin");
        await File.WriteAllBytesAsync(appPath, app);

        var run = await rig.RunAsync(dfuUtil, "-d", "1d50:607f", "-a", "0", "-s", "0x08005000:leave", "-D", appPath);

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Assert.That(run.StdOut, Does.Contain("Submitting leave request"), run.ToString());
        var booted = await rig.WaitUntilAsync(() => core.State == CoreState.App, TimeSpan.FromSeconds(5));
        Assert.That(booted, Is.True, $"the Core did not boot an app; it is {core.State}: {string.Join(" | ", core.History)}");
        Assert.That(await rig.OnSimAsync(() => core.RunningApp), Is.EqualTo("seed-app 3.1.4"));
        Assert.That(await rig.OnSimAsync(() => rig.Session.Usb.GetDevices().Any(d => d.Path == "1-1.2")), Is.False, "the DFU device left the bus");
    }

    [Test]
    public async Task Uhubctl_switches_the_Cores_hub_port_off_on_and_cycles_it()
    {
        var uhubctl = ExternalTool.Require("uhubctl");
        await using var rig = await ServedRig.StartForToolsAsync(TestRigs.DefaultCores(), Speed, 1, 2);
        var core = rig.Core(2);
        bool OnBus(string path) => rig.Session.Usb.GetDevices().Any(d => d.Path == path);

        var off = await rig.RunAsync(uhubctl, "-S", "-l", "1-1", "-p", "2", "-a", "off");

        Assert.That(off.ExitCode, Is.Zero, off.ToString());
        Assert.That(off.StdOut.Split('\n'), Does.Contain($"  Port 2: 0103 power enable connect [1d50:607f Spark Devices CORE DFU {core.DfuSerial}]"), off.ToString());
        Assert.That(off.StdOut.Split('\n'), Does.Contain("  Port 2: 0000 off"), off.ToString());
        var afterOff = await rig.OnSimAsync(() => (core.State, core.Led.Current, OnBus("1-1.2"), OnBus("1-1.1")));
        Assert.That(afterOff, Is.EqualTo((CoreState.Off, LedProgram.Off, false, true)), "slot 2 dark and gone; slot 1 on the next port untouched");

        var on = await rig.RunAsync(uhubctl, "-S", "-l", "1-1", "-p", "2", "-a", "on");

        Assert.That(on.ExitCode, Is.Zero, on.ToString());
        // The new status is read a moment after power-up: the Core may already have connected by then (0101/0103).
        var newStatus = on.StdOut.Split('\n').SkipWhile(l => !l.StartsWith("New status", StringComparison.Ordinal)).ToList();
        Assert.That(newStatus, Has.Some.Match(@"^  Port 2: 01[0-9a-f]{2} power\b"), on.ToString());
        // Flags 0x5000 (a DFU session entered by buttons leaves them): power-up boots the app.
        Assert.That(await rig.WaitUntilAsync(() => core.State == CoreState.App, TimeSpan.FromSeconds(5)), Is.True, string.Join(" | ", core.History));
        Assert.That(await rig.OnSimAsync(() => core.Led.Current.Pattern), Is.Not.EqualTo(Core.Led.LedPattern.Off));

        var powerOffsBefore = await rig.OnSimAsync(() => core.History.Count(h => h.EndsWith("power off", StringComparison.Ordinal)));
        var cycle = await rig.RunAsync(uhubctl, "-S", "-l", "1-1", "-p", "2", "-a", "cycle", "-d", "0.5");

        Assert.That(cycle.ExitCode, Is.Zero, cycle.ToString());
        Assert.That(cycle.StdOut, Does.Contain("Sent power off request").And.Contain("Sent power on request"), cycle.ToString());
        var powerOffs = await rig.OnSimAsync(() => core.History.Count(h => h.EndsWith("power off", StringComparison.Ordinal)));
        Assert.That(powerOffs, Is.EqualTo(powerOffsBefore + 1), string.Join(" | ", core.History));
        Assert.That(await rig.WaitUntilAsync(() => core.State == CoreState.App, TimeSpan.FromSeconds(5)), Is.True, string.Join(" | ", core.History));
    }

    [Test]
    public async Task Uhubctl_shows_a_Core_that_came_back_in_DFU_after_power_on_as_connected_on_an_enabled_port()
    {
        var uhubctl = ExternalTool.Require("uhubctl");
        await using var rig = await ServedRig.StartForToolsAsync(TestRigs.DefaultCores(), Speed, 2);
        var core = rig.Core(2);
        Assert.That((await rig.RunAsync(uhubctl, "-S", "-l", "1-1", "-p", "2", "-a", "off")).ExitCode, Is.Zero);

        // MODE held while the hub port powers the Core up: the bootloader goes to DFU (spark-core.md §3.3).
        await rig.OnSimAsync(() =>
        {
            rig.Slot(2).Control.SetMode(true);
            return true;
        });
        Assert.That((await rig.RunAsync(uhubctl, "-S", "-l", "1-1", "-p", "2", "-a", "on")).ExitCode, Is.Zero);
        await rig.Session.RunAsync(async () =>
        {
            await Task.Delay(Core.Slots.Choreography.DfuHold, rig.Session.Time);
            rig.Slot(2).Control.SetMode(false);
        });
        Assert.That(await rig.WaitUntilAsync(() => core.State == CoreState.Dfu, TimeSpan.FromSeconds(2)), Is.True, string.Join(" | ", core.History));

        var status = await rig.RunAsync(uhubctl, "-S", "-l", "1-1", "-p", "2");

        Assert.That(status.StdOut.Split('\n'), Does.Contain($"  Port 2: 0103 power enable connect [1d50:607f Spark Devices CORE DFU {core.DfuSerial}]"), status.ToString());
    }

    [TestCase("healthy", Verdict.Pass, null)]
    [TestCase("{ stuckBits: 12 }", Verdict.Fail, FailureModes.BadExternalFlash)]
    public async Task Our_libusb_binding_runs_the_DFU_readback_through_the_shim(string flash, Verdict verdict, string? failureMode)
    {
        await using var rig = await ServedRig.StartForToolsAsync(TestRigs.DefaultCores((2, flash)), Speed, 2);
        var core = rig.Core(2);
        NativeEnvironment.Set(SocketUsbBus.SocketPathVariable, rig.UsbSocket);
        using var bus = LibUsbBus.Open(Shim.LibraryPath);
        Assert.That(bus.Native.IsHilRigShim, Is.True);

        // A normal thread with the wall clock: the shim blocks while the server runs each request on the simulation thread.
        using var dfu = await DfuSeHost.OpenAsync(bus, "1-1.2", TimeProvider.System);
        var result = await new DfuReadback(TimeProvider.System).RunAsync(dfu, core.DeviceId);

        Assert.That(dfu.Serial, Is.EqualTo(core.DfuSerial));
        Assert.That(result.Verdict, Is.EqualTo(verdict), result.Signature);
        Assert.That(result.FailureMode, Is.EqualTo(failureMode), result.Signature);
        Assert.That(result.Regions.All(r => r.RestoreVerified), Is.True, result.Signature);
        Assert.That(dfu.Stats.BytesUploaded, Is.GreaterThanOrEqualTo(3 * 128 * 1024), dfu.Stats.ToString());
    }
}
