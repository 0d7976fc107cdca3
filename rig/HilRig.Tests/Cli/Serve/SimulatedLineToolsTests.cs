using System.Net.Http.Headers;
using System.Text.Json;
using HilRig.Cli.Serve;
using HilRig.Core.Led;

namespace HilRig.Tests.Hardware;

/// <summary>
/// The served simulated line as Python users reach it: Debian's pyserial on a slot's pty (listening-mode `i` and `w`,
/// the Core then online on the served cloud, and still provisioned after a power cycle and in a new process), and
/// Debian's pyusb through the libusb shim (the Cores in DFU, a region read with DfuSe requests, as dfu-util reads it).
/// </summary>
[NonParallelizable]
[Category("Integration")]
public class SimulatedLineToolsTests
{
    private const double Speed = 10;

    private const string IdentifyAndProvision = """
        import sys, serial
        tty, ssid, password = sys.argv[1], sys.argv[2], sys.argv[3]
        port = serial.Serial(tty, 9600, timeout=10)

        def expect(marker):
            got = port.read_until(marker)
            if not got.endswith(marker):
                sys.exit("expected %r, got %r" % (marker, got))
            return got

        port.write(b"i")
        print(expect(b"\r\n").decode().strip())
        port.write(b"w")
        expect(b"SSID: ")
        port.write(ssid.encode() + b"\r")
        expect(b"3=WPA2: ")
        port.write(b"3\r")
        expect(b"Password: ")
        port.write(password.encode() + b"\r")
        print(expect(b"Spark <3 you!\r\n").decode().splitlines()[-1].strip())
        """;

    private const string PyusbDfuse = """
        import struct, sys, time, usb.core, usb.backend.libusb1
        shim, command = sys.argv[1], sys.argv[2]
        backend = usb.backend.libusb1.get_backend(find_library=lambda name: shim)
        if backend is None:
            sys.exit("pyusb refused the shim as its libusb1 backend")
        cores = list(usb.core.find(find_all=True, idVendor=0x1d50, idProduct=0x607f, backend=backend))

        def path(d):
            return "%d-%s" % (d.bus, ".".join(str(p) for p in d.port_numbers))

        if command == "list":
            for d in cores:
                print("DFU %04x:%04x path=%s serial=%s" % (d.idVendor, d.idProduct, path(d), d.serial_number))
            sys.exit(0)

        where, address, length, out = sys.argv[3], int(sys.argv[4], 0), int(sys.argv[5], 0), sys.argv[6]
        dev = [d for d in cores if path(d) == where][0]
        dev.set_configuration()
        dev.set_interface_altsetting(interface=0, alternate_setting=1)
        DNLOAD, UPLOAD, GETSTATUS, CLRSTATUS, ABORT = 1, 2, 3, 4, 6
        OUT, IN = 0x21, 0xA1

        def status():
            s = dev.ctrl_transfer(IN, GETSTATUS, 0, 0, 6)
            time.sleep((s[1] | s[2] << 8 | s[3] << 16) / 1000.0)
            return s[0], s[4]

        # as dfu-util: a device in dfuERROR is cleared, any other state aborted to dfuIDLE
        st, state = status()
        if state == 10:
            dev.ctrl_transfer(OUT, CLRSTATUS, 0, 0, None)
        elif state != 2:
            dev.ctrl_transfer(OUT, ABORT, 0, 0, None)
        # DfuSe set address pointer: DNLOAD block 0 = 0x21 + address, executed by GETSTATUS
        dev.ctrl_transfer(OUT, DNLOAD, 0, 0, struct.pack("<BI", 0x21, address))
        st, state = status()
        st, state = status()
        if st != 0:
            sys.exit("set address pointer: status %d state %d" % (st, state))
        dev.ctrl_transfer(OUT, ABORT, 0, 0, None)
        data = bytearray()
        block = 2
        while len(data) < length:
            chunk = dev.ctrl_transfer(IN, UPLOAD, block, 0, min(1024, length - len(data)))
            if len(chunk) == 0:
                break
            data += bytes(chunk)
            block += 1
        dev.ctrl_transfer(OUT, ABORT, 0, 0, None)
        open(out, "wb").write(bytes(data))
        print("read %d bytes" % len(data))
        """;

    [Test]
    public async Task Pyserial_reads_the_device_id_over_the_slot_pty_and_Wi_Fi_provisioning_brings_the_Core_online_to_stay()
    {
        DebianPython.Require("serial", "python3-serial");
        var folder = Directory.CreateTempSubdirectory("hilrig-line-");
        var state = Path.Combine(folder.FullName, "sim-state");
        var links = Path.Combine(folder.FullName, "slot{slot}.tty");
        SimServeOptions Options(SimServeOptions o) => o with { SerialLinks = links, CloudPort = 0, StateDirectory = state };
        string id;

        await using (var rig = ServedRig.Start(TestRigs.DefaultCores(), Speed, Options))
        {
            using var control = await ControlClient.ConnectAsync(rig.Host.Control.SocketPath);
            var core = rig.Core(2);
            id = core.DeviceId;
            Assert.That(new FileInfo(Path.Combine(folder.FullName, "slot2.tty")).LinkTarget, Does.StartWith("/dev/pts/"));
            Assert.That(await control.SendAsync("power 2 on"), Is.EqualTo("ok slot 2 power on"));
            Assert.That(await rig.WaitUntilAsync(() => core.SerialPort is { Open: true }, TimeSpan.FromSeconds(5)), Is.True, "a fresh Core goes to listening mode");

            var run = await DebianPython.RunScriptAsync(IdentifyAndProvision, Path.Combine(folder.FullName, "slot2.tty"), "LineWiFi", "s3cret");

            Assert.That(run.ExitCode, Is.Zero, run.ToString());
            Assert.That(run.StdOut, Does.StartWith($"Your core id is {id}\n"), run.ToString());
            Assert.That(run.StdOut, Does.Contain("Spark <3 you!"), run.ToString());
            Assert.That(await ConnectedOnCloudAsync(rig, id), Is.True, "the served cloud lists the provisioned Core as connected\n" + string.Join(" | ", core.History));

            // the CC3000 keeps its profiles without power: no listening mode after a power cycle, online by itself
            Assert.That(await control.SendAsync("power 2 cycle"), Is.EqualTo("ok slot 2 power on"));
            Assert.That(await rig.WaitUntilAsync(() => core.Led.Current.Pattern == LedPattern.Breathing && core.Led.Current.Rgb == 0x00FFFF, TimeSpan.FromSeconds(10)), Is.True, string.Join(" | ", core.History));
            Assert.That(await ConnectedOnCloudAsync(rig, id), Is.True);
            var history = await rig.OnSimAsync(() => core.History.ToList());
            Assert.That(history.Count(h => h.EndsWith("app: listening mode", StringComparison.Ordinal)), Is.EqualTo(1), string.Join(" | ", history));
        }

        // a new process on the same saved state: the Core still has its Wi-Fi and comes online by itself
        await using (var rig = ServedRig.Start(TestRigs.DefaultCores(), Speed, Options))
        {
            using var control = await ControlClient.ConnectAsync(rig.Host.Control.SocketPath);
            Assert.That(await ConnectedOnCloudAsync(rig, id, TimeSpan.FromSeconds(1)), Is.False, "not online before it is powered");
            Assert.That(await control.SendAsync("power 2 on"), Is.EqualTo("ok slot 2 power on"));
            Assert.That(await ConnectedOnCloudAsync(rig, id), Is.True, string.Join(" | ", rig.Core(2).History));
            Assert.That(rig.Core(2).History, Has.None.EndsWith("app: listening mode"));
        }
    }

    [Test]
    public async Task Pyusb_through_the_shim_lists_the_Cores_in_DFU_and_reads_a_region_byte_for_byte_as_dfu_util()
    {
        DebianPython.Require("usb.core", "python3-usb");
        var dfuUtil = ExternalTool.Require("dfu-util");
        var shim = Shim.LibraryPath;
        // slot 5's chip has stuck bits in the factory region: what is read is the chip's, not the image's
        await using var rig = ServedRig.Start(TestRigs.DefaultCores((5, "{ stuckBits: 40 }")), Speed);
        await rig.EnterDfuAsync(3);
        await rig.EnterDfuAsync(5);
        var env = new Dictionary<string, string> { ["HILRIG_USB_SOCKET"] = rig.UsbSocket };

        var list = await DebianPython.RunScriptAsync(PyusbDfuse, env, shim, "list");

        Assert.That(list.ExitCode, Is.Zero, list.ToString());
        Assert.That(list.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries), Is.EquivalentTo(new[]
        {
            $"DFU 1d50:607f path={rig.Slot(3).UsbPath} serial={rig.Core(3).DfuSerial}",
            $"DFU 1d50:607f path={rig.Slot(5).UsbPath} serial={rig.Core(5).DfuSerial}",
        }), list.ToString());

        const int length = 16 * 1024;
        var pyPath = rig.File("pyusb.bin");
        var upload = await DebianPython.RunScriptAsync(PyusbDfuse, env, shim, "upload", rig.Slot(5).UsbPath, "0x20000", length.ToString(System.Globalization.CultureInfo.InvariantCulture), pyPath);
        Assert.That(upload.ExitCode, Is.Zero, upload.ToString());
        var dfuPath = rig.File("dfu-util.bin");
        var dfu = await rig.RunAsync(dfuUtil, "-d", "1d50:607f", "-p", rig.Slot(5).UsbPath, "-a", "1", "-s", $"0x00020000:{length}", "-U", dfuPath);
        Assert.That(dfu.ExitCode, Is.Zero, dfu.ToString());

        var byPyusb = await File.ReadAllBytesAsync(pyPath);
        var byDfuUtil = await File.ReadAllBytesAsync(dfuPath);
        Assert.That(byPyusb, Has.Length.EqualTo(length));
        Assert.That(byPyusb, Is.EqualTo(byDfuUtil), "pyusb and dfu-util read the same bytes");
        Assert.That(byPyusb.Any(b => b != 0xFF), Is.True, "the factory image is there, not erased flash");
    }

    /// <summary>Polls the served cloud's GET /v1/devices (wall clock) until the Core is listed connected.</summary>
    private static async Task<bool> ConnectedOnCloudAsync(ServedRig rig, string id, TimeSpan? within = null)
    {
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", rig.Host.CloudToken);
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(15));
        while (DateTime.UtcNow < deadline)
        {
            using var doc = JsonDocument.Parse(await http.GetStringAsync(new Uri(rig.Host.Cloud!.Url, "v1/devices")));
            if (doc.RootElement.EnumerateArray().Any(d => d.GetProperty("id").GetString() == id && d.GetProperty("connected").GetBoolean())) return true;
            await Task.Delay(200);
        }
        return false;
    }
}
