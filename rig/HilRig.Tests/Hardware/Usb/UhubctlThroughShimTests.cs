using HilRig.Core.Usb.Wire;
using HilRig.Hardware.Usb;

namespace HilRig.Tests.Hardware;

[Category("Integration")] // starts real tools, servers or child processes
public class UhubctlThroughShimTests
{
    private static readonly byte[] ContainerId = [0x5c, 0xf3, 0xee, 0x30, 0xd5, 0x07, 0x49, 0x25, 0xb0, 0x01, 0x80, 0x2d, 0x79, 0x43, 0x4c, 0x30];

    [Test]
    public async Task Uhubctl_shows_the_hub_ports_and_the_Spark_Core_on_its_port()
    {
        var uhubctl = ExternalTool.Require("uhubctl");
        _ = Shim.LibraryPath;
        var hub = new FakeHub(1, 2, [1], superSpeed: false, containerId: null);
        hub.PortStatus[2] = 0x0103;
        await using var served = new ServedBus(new FakeUsbBus(hub, new FakeSparkDfuDevice()));

        var run = await ExternalToolRun.ThroughShimAsync(uhubctl, served.SocketPath, "-S", "-l", "1-1");

        TestContext.Out.WriteLine(run.ToString());
        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        var lines = run.StdOut.Split('\n');
        Assert.That(lines, Does.Contain("Current status for hub 1-1 [2109:2817 VIA Labs, Inc. USB2.0 Hub, USB 2.10, 4 ports, ppps]"), run.ToString());
        Assert.That(lines, Does.Contain($"  Port 3: 0103 power enable connect [1d50:607f Spark Devices CORE DFU {FakeSparkDfuDevice.Serial}]"), run.ToString());
        Assert.That(lines, Does.Contain("  Port 1: 0100 power"), run.ToString());
    }

    [Test]
    public async Task Uhubctl_switches_a_port_off_with_a_clear_port_feature_request()
    {
        var uhubctl = ExternalTool.Require("uhubctl");
        _ = Shim.LibraryPath;
        var hub = new FakeHub(1, 2, [1], superSpeed: false, containerId: null);
        hub.PortStatus[2] = 0x0103;
        await using var served = new ServedBus(new FakeUsbBus(hub, new FakeSparkDfuDevice()));

        var run = await ExternalToolRun.ThroughShimAsync(uhubctl, served.SocketPath, "-S", "-l", "1-1", "-p", "3", "-a", "off");

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Assert.That(run.StdOut, Does.Contain("Sent power off request"), run.ToString());
        Assert.That(run.StdOut.Split('\n'), Does.Contain("  Port 3: 0000 off"), run.ToString());
        Assert.That(hub.PortStatus, Is.EqualTo(new ushort[] { 0x0100, 0x0100, 0, 0x0100 }));
    }

    [TestCase(true, TestName = "Uhubctl_pairs_USB2_and_USB3_hubs_with_the_same_container_id")]
    [TestCase(false, TestName = "Uhubctl_does_not_pair_hubs_with_different_container_ids")]
    public async Task Uhubctl_pairs_hub_halves_by_the_container_id_from_the_BOS_descriptor(bool sameContainer)
    {
        var uhubctl = ExternalTool.Require("uhubctl");
        _ = Shim.LibraryPath;
        byte[] otherId = [.. ContainerId[..15], 0x31];
        var usb2 = new FakeHub(1, 2, [1], superSpeed: false, containerId: ContainerId);
        var usb3 = new FakeHub(2, 2, [1], superSpeed: true, containerId: sameContainer ? ContainerId : otherId);
        await using var served = new ServedBus(new FakeUsbBus(usb2, usb3));

        var run = await ExternalToolRun.ThroughShimAsync(uhubctl, served.SocketPath, "-S", "-l", "1-1");

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Assert.That(run.StdOut, Does.Contain("Current status for hub 1-1 ["), run.ToString());
        if (sameContainer)
            Assert.That(run.StdOut, Does.Contain("Current status for hub 2-1 [2109:0817 VIA Labs, Inc. USB3.0 Hub, USB 3.00, 4 ports, ppps]"), run.ToString());
        else
            Assert.That(run.StdOut, Does.Not.Contain("hub 2-1"), run.ToString());
    }

    [Test]
    public async Task Libusb_through_the_shim_reads_the_BOS_descriptor_byte_for_byte()
    {
        var hub = new FakeHub(2, 2, [1], superSpeed: true, containerId: ContainerId);
        await using var served = new ServedBus(new FakeUsbBus(hub, new FakeSparkDfuDevice()));
        NativeEnvironment.Set(SocketUsbBus.SocketPathVariable, served.SocketPath);
        using var bus = LibUsbBus.Open(Shim.LibraryPath);

        var devices = bus.GetDevices();

        Assert.That(((IUsbBosSource)devices[0]).GetRawBosDescriptor(), Is.EqualTo(hub.GetRawBosDescriptor()));
        Assert.That(((IUsbBosSource)devices[1]).GetRawBosDescriptor(), Is.Null, "the Spark Core has no BOS");
    }

    [Test]
    public async Task The_socket_bus_carries_the_BOS_descriptor()
    {
        var hub = new FakeHub(2, 2, [1], superSpeed: true, containerId: ContainerId);
        await using var served = new ServedBus(new FakeUsbBus(hub, new FakeSparkDfuDevice()));
        using var bus = SocketUsbBus.Connect(served.SocketPath);

        var devices = bus.GetDevices();

        Assert.That(((IUsbBosSource)devices[0]).GetRawBosDescriptor(), Is.EqualTo(hub.GetRawBosDescriptor()));
        Assert.That(((IUsbBosSource)devices[1]).GetRawBosDescriptor(), Is.Null, "a device without BOS reports none");
    }
}
