using HilRig.Core.Usb;
using HilRig.Hardware.Usb;
using HilRig.Sim.Time;

namespace HilRig.Tests.Hardware;

[Category("Integration")] // starts real tools, servers or child processes
public class SocketUsbBusTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    [Test]
    public async Task Lists_the_Spark_Core_with_its_port_path_address_and_descriptors()
    {
        await using var served = new ServedBus(new FakeUsbBus(new FakeSparkDfuDevice()));
        using var bus = SocketUsbBus.Connect(served.SocketPath);

        var device = bus.GetDevices().Single();

        Assert.Multiple(() =>
        {
            Assert.That(device.Path, Is.EqualTo("1-1.3"));
            Assert.That(device.BusNumber, Is.EqualTo(1));
            Assert.That(device.Address, Is.EqualTo(7));
            Assert.That(device.Descriptor.VidPid, Is.EqualTo("1d50:607f"));
            Assert.That(device.Descriptor.BcdDevice, Is.EqualTo(0x0200));
            Assert.That(device.Descriptor.MaxPacketSize0, Is.EqualTo(64));
            Assert.That(device.GetRawConfigDescriptor(0), Is.EqualTo(FakeSparkDfuDevice.ConfigDescriptor));
        });
        var config = UsbConfiguration.Parse(device.GetRawConfigDescriptor(0));
        var alts = config.Interfaces.Single().AltSettings;
        Assert.That(alts.Select(a => a.AlternateSetting), Is.EqualTo(new byte[] { 0, 1 }));
        Assert.That(alts[1].Extra, Is.EqualTo(FakeSparkDfuDevice.FunctionalDescriptor), "the DfuSe functional descriptor follows the last alt setting");
        Assert.That(() => device.GetRawConfigDescriptor(1), Throws.TypeOf<UsbException>().With.Property(nameof(UsbException.Error)).EqualTo(UsbError.NotFound));
    }

    [Test]
    public async Task Reads_serial_and_alt_setting_names_through_string_descriptor_requests()
    {
        await using var served = new ServedBus(new FakeUsbBus(new FakeSparkDfuDevice()));
        using var bus = SocketUsbBus.Connect(served.SocketPath);
        using var handle = bus.GetDevices().Single().Open();

        Assert.That(await UsbStrings.ReadAsync(handle, 3), Is.EqualTo(FakeSparkDfuDevice.Serial));
        Assert.That(await UsbStrings.ReadAsync(handle, 4), Is.EqualTo(FakeSparkDfuDevice.InternalFlashName));
        Assert.That(await UsbStrings.ReadAsync(handle, 5), Is.EqualTo(FakeSparkDfuDevice.SpiFlashName));
    }

    [Test]
    public async Task Dfu_class_requests_travel_both_ways()
    {
        var core = new FakeSparkDfuDevice();
        await using var served = new ServedBus(new FakeUsbBus(core));
        using var bus = SocketUsbBus.Connect(served.SocketPath);
        using var handle = bus.GetDevices().Single().Open();
        handle.ClaimInterface(0);
        await handle.SetAltSettingAsync(0, 1);

        var status = new byte[6];
        var n = await handle.ControlTransferAsync(new UsbSetup(0xA1, 3, 0, 0, 6), status, Second);
        Assert.That((n, status[4], status[0]), Is.EqualTo((6, FakeSparkDfuDevice.DfuError, FakeSparkDfuDevice.ErrFirmware)));

        Assert.That(await handle.ControlTransferAsync(new UsbSetup(0x21, 4, 0, 0, 0), Memory<byte>.Empty, Second), Is.Zero);
        var state = new byte[1];
        await handle.ControlTransferAsync(new UsbSetup(0xA1, 5, 0, 0, 1), state, Second);
        Assert.That(state[0], Is.EqualTo(FakeSparkDfuDevice.DfuIdle));
        var block = Enumerable.Range(0, 1024).Select(i => (byte)i).ToArray();
        Assert.That(await handle.ControlTransferAsync(new UsbSetup(0x21, 1, 2, 0, 1024), block, Second), Is.EqualTo(1024));
        Assert.That(core.LastDownload, Is.Not.Null);
        Assert.That((core.LastDownload!.Value.BlockNumber, core.LastDownload.Value.Data), Is.EqualTo(((ushort)2, block)));
        Assert.That(core.Requests.Select(r => r.Request), Is.EqualTo(new byte[] { 3, 4, 5, 1 }));
    }

    [Test]
    public async Task Device_errors_arrive_as_the_same_usb_error()
    {
        await using var served = new ServedBus(new FakeUsbBus(new FakeSparkDfuDevice()));
        using var bus = SocketUsbBus.Connect(served.SocketPath);
        using var handle = bus.GetDevices().Single().Open();

        var stall = Assert.ThrowsAsync<UsbException>(() => handle.ControlTransferAsync(new UsbSetup(0x21, 0x77, 0, 0, 0), Memory<byte>.Empty, Second));
        Assert.That(stall!.Error, Is.EqualTo(UsbError.Pipe));
        Assert.That(stall.Message, Does.Contain("1-1.3"), "the error names the device path");

        var unclaimed = Assert.ThrowsAsync<UsbException>(() => handle.SetAltSettingAsync(0, 1));
        Assert.That(unclaimed!.Error, Is.EqualTo(UsbError.NotFound));
        Assert.That(() => handle.ClaimInterface(3), Throws.TypeOf<UsbException>().With.Property(nameof(UsbException.Error)).EqualTo(UsbError.NotFound));
    }

    [Test]
    public async Task Opening_a_device_that_left_the_bus_reports_no_device()
    {
        var fake = new FakeUsbBus(new FakeSparkDfuDevice());
        await using var served = new ServedBus(fake);
        using var bus = SocketUsbBus.Connect(served.SocketPath);
        var device = bus.GetDevices().Single();

        fake.Devices.Clear();

        var error = Assert.Throws<UsbException>(() => device.Open());
        Assert.That(error!.Error, Is.EqualTo(UsbError.NoDevice));
        Assert.That(bus.GetDevices(), Is.Empty);
    }

    [Test]
    public async Task Two_clients_have_independent_handles()
    {
        await using var served = new ServedBus(new FakeUsbBus(new FakeSparkDfuDevice()));
        using var first = SocketUsbBus.Connect(served.SocketPath);
        using var second = SocketUsbBus.Connect(served.SocketPath);
        var a = first.GetDevices().Single().Open();
        using var b = second.GetDevices().Single().Open();

        a.Dispose();

        Assert.That(await UsbStrings.ReadAsync(b, 3), Is.EqualTo(FakeSparkDfuDevice.Serial));
        Assert.That(served.Server.ConnectionCount, Is.EqualTo(2));
    }

    [Test]
    public async Task A_simulated_bus_is_only_touched_on_the_simulation_thread()
    {
        using var sim = new SimScheduler();
        var bus = new ThreadRecordingBus(new FakeUsbBus(new FakeSparkDfuDevice()), () => sim.IsOnSchedulerThread);
        await using var served = new ServedBus(bus, work => sim.RunAsync(work));
        using var client = SocketUsbBus.Connect(served.SocketPath);

        using var handle = client.GetDevices().Single().Open();
        await UsbStrings.ReadAsync(handle, 2);

        Assert.That(bus.Calls, Has.Count.GreaterThanOrEqualTo(4), "list, open and two string requests");
        Assert.That(bus.Calls, Is.All.True, "every bus call must run on the simulation thread");
    }

    [Test]
    public void Connecting_to_a_missing_socket_names_the_path()
    {
        var error = Assert.Throws<UsbException>(() => SocketUsbBus.Connect("/tmp/hilrig-no-such.sock"));
        Assert.That(error!.Message, Does.Contain("/tmp/hilrig-no-such.sock"));
    }

    private sealed class ThreadRecordingBus(IUsbBus inner, Func<bool> onSimThread) : IUsbBus
    {
        public List<bool> Calls { get; } = [];

        public IReadOnlyList<IUsbDevice> GetDevices()
        {
            Calls.Add(onSimThread());
            return [.. inner.GetDevices().Select(d => new Device(this, d))];
        }

        private sealed class Device(ThreadRecordingBus bus, IUsbDevice inner) : IUsbDevice
        {
            public byte BusNumber => inner.BusNumber;

            public byte Address => inner.Address;

            public IReadOnlyList<byte> PortNumbers => inner.PortNumbers;

            public UsbDeviceDescriptor Descriptor => inner.Descriptor;

            public byte[] GetRawConfigDescriptor(int index) => inner.GetRawConfigDescriptor(index);

            public IUsbDeviceHandle Open()
            {
                bus.Calls.Add(bus.Record());
                return new Handle(bus, this, inner.Open());
            }
        }

        private bool Record() => onSimThread();

        private sealed class Handle(ThreadRecordingBus bus, IUsbDevice device, IUsbDeviceHandle inner) : IUsbDeviceHandle
        {
            public IUsbDevice Device => device;

            public Task<int> ControlTransferAsync(UsbSetup setup, Memory<byte> data, TimeSpan timeout, CancellationToken cancellationToken = default)
            {
                bus.Calls.Add(bus.Record());
                return inner.ControlTransferAsync(setup, data, timeout, cancellationToken);
            }

            public void ClaimInterface(int interfaceNumber) => inner.ClaimInterface(interfaceNumber);

            public void ReleaseInterface(int interfaceNumber) => inner.ReleaseInterface(interfaceNumber);

            public Task SetAltSettingAsync(int interfaceNumber, int altSetting, CancellationToken cancellationToken = default) =>
                inner.SetAltSettingAsync(interfaceNumber, altSetting, cancellationToken);

            public Task ResetAsync(CancellationToken cancellationToken = default) => inner.ResetAsync(cancellationToken);

            public void Dispose()
            {
                bus.Calls.Add(bus.Record());
                inner.Dispose();
            }
        }
    }
}
