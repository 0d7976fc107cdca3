using HilRig.Core.Usb;
using HilRig.Hardware.Usb;

namespace HilRig.Tests.Hardware;

[Category("Integration")] // starts real tools, servers or child processes
public class LibUsbBusTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    /// <summary>The Spark Core application's CDC serial configuration: class-specific descriptors as interface extra, three endpoints.</summary>
    private static readonly byte[] CdcConfig =
    [
        9, 2, 67, 0, 2, 1, 0, 0x80, 0xE1,
        9, 4, 0, 0, 1, 0x02, 0x02, 0x01, 0,
        5, 0x24, 0x00, 0x10, 0x01,
        5, 0x24, 0x01, 0x00, 0x01,
        4, 0x24, 0x02, 0x02,
        5, 0x24, 0x06, 0x00, 0x01,
        7, 5, 0x82, 0x03, 8, 0, 0xFF,
        9, 4, 1, 0, 2, 0x0A, 0x00, 0x00, 0,
        7, 5, 0x03, 0x02, 64, 0, 0,
        7, 5, 0x81, 0x02, 64, 0, 0,
    ];

    [Test]
    public void The_system_libusb_initialises_and_enumerates()
    {
        var native = LibUsbNative.Load(LibUsbNative.DefaultLibraryName);
        using var bus = new LibUsbBus(native);

        var devices = bus.GetDevices();

        Assert.That(native.IsHilRigShim, Is.False, "the default library must be the real libusb");
        Assert.That(native.Version, Does.StartWith("1.0."));
        Assert.That(devices.Select(d => d.Path), Is.All.Match(@"^\d+(-\d+(\.\d+)*)?$"), "every device has a bus-port path");
    }

    [Test]
    public void A_missing_library_path_is_named_in_the_error()
    {
        var error = Assert.Throws<DllNotFoundException>(() => LibUsbNative.Load("/nonexistent/libusb-1.0.so.0"));
        Assert.That(error!.Message, Does.Contain("/nonexistent/libusb-1.0.so.0").And.Contain(LibUsbNative.LibraryPathVariable));
    }

    [Test]
    public void Library_choice_explicit_beats_configured_beats_environment()
    {
        var before = Environment.GetEnvironmentVariable(LibUsbNative.LibraryPathVariable);
        try
        {
            Environment.SetEnvironmentVariable(LibUsbNative.LibraryPathVariable, "/from/env/libusb-1.0.so.0");
            Assert.That(LibUsbNative.ResolvePath(), Is.EqualTo("/from/env/libusb-1.0.so.0"));
            LibUsbNative.SetDefaultLibraryPath("/configured/libusb-1.0.so.0");
            Assert.That(LibUsbNative.ResolvePath(), Is.EqualTo("/configured/libusb-1.0.so.0"));
            Assert.That(LibUsbNative.ResolvePath("/explicit/libusb-1.0.so.0"), Is.EqualTo("/explicit/libusb-1.0.so.0"));
            LibUsbNative.SetDefaultLibraryPath(null);
            Environment.SetEnvironmentVariable(LibUsbNative.LibraryPathVariable, null);
            Assert.That(LibUsbNative.ResolvePath(), Is.EqualTo(LibUsbNative.DefaultLibraryName));
        }
        finally
        {
            LibUsbNative.SetDefaultLibraryPath(null);
            Environment.SetEnvironmentVariable(LibUsbNative.LibraryPathVariable, before);
        }
    }

    [Test]
    public async Task Through_the_shim_libusb_lists_the_Spark_Core_with_its_exact_descriptors()
    {
        var cdc = new DescriptorOnlyDevice(2, 12, [4], new UsbDeviceDescriptor(0x0200, 2, 0, 0, 64, 0x1d50, 0x607d, 0x0200, 1, 2, 3, 1), CdcConfig);
        await using var served = new ServedBus(new FakeUsbBus(new FakeSparkDfuDevice(), cdc));
        using var bus = OpenThroughShim(served);

        var devices = bus.GetDevices();

        Assert.That(bus.Native.IsHilRigShim, Is.True);
        Assert.That(devices.Select(d => (d.Path, d.Address, d.Descriptor.VidPid)),
            Is.EqualTo(new[] { ("1-1.3", (byte)7, "1d50:607f"), ("2-4", (byte)12, "1d50:607d") }));
        Assert.That(devices[0].Descriptor, Is.EqualTo(new FakeSparkDfuDevice().Descriptor));
        // libusb parses the bytes into structs and we serialise them back: nothing may be lost or moved
        Assert.That(devices[0].GetRawConfigDescriptor(0), Is.EqualTo(FakeSparkDfuDevice.ConfigDescriptor));
        Assert.That(devices[1].GetRawConfigDescriptor(0), Is.EqualTo(CdcConfig));
    }

    [Test]
    public async Task Through_the_shim_transfers_reach_the_device_and_errors_keep_their_meaning()
    {
        var core = new FakeSparkDfuDevice();
        await using var served = new ServedBus(new FakeUsbBus(core));
        using var bus = OpenThroughShim(served);
        using var handle = bus.GetDevices().Single().Open();

        Assert.That(await UsbStrings.ReadAsync(handle, 5), Is.EqualTo(FakeSparkDfuDevice.SpiFlashName));
        var unclaimed = Assert.ThrowsAsync<UsbException>(() => handle.SetAltSettingAsync(0, 1));
        Assert.That(unclaimed!.Error, Is.EqualTo(UsbError.NotFound));
        Assert.That(unclaimed.Message, Does.Contain("1-1.3").And.Contain("LIBUSB_ERROR_NOT_FOUND"));

        handle.ClaimInterface(0);
        await handle.SetAltSettingAsync(0, 1);
        var status = new byte[6];
        Assert.That(await handle.ControlTransferAsync(new UsbSetup(0xA1, 3, 0, 0, 6), status, Second), Is.EqualTo(6));
        Assert.That(status[4], Is.EqualTo(FakeSparkDfuDevice.DfuError));

        byte[] setAddress = [0x21, 0x00, 0x00, 0x00, 0x08];
        Assert.That(await handle.ControlTransferAsync(new UsbSetup(0x21, 1, 0, 0, 5), setAddress, Second), Is.EqualTo(5));
        Assert.That(core.LastDownload?.Data, Is.EqualTo(setAddress), "OUT data reaches the device unchanged");

        var stall = Assert.ThrowsAsync<UsbException>(() => handle.ControlTransferAsync(new UsbSetup(0x21, 0x77, 0, 0, 0), Memory<byte>.Empty, Second));
        Assert.That(stall!.Error, Is.EqualTo(UsbError.Pipe));
        handle.ReleaseInterface(0);
    }

    [Test]
    public async Task A_device_gone_from_the_bus_cannot_be_opened()
    {
        var fake = new FakeUsbBus(new FakeSparkDfuDevice());
        await using var served = new ServedBus(fake);
        using var bus = OpenThroughShim(served);
        var device = bus.GetDevices().Single();

        fake.Devices.Clear();

        Assert.That(bus.GetDevices(), Is.Empty);
        var error = Assert.Throws<UsbException>(() => device.Open());
        Assert.That(error!.Error, Is.EqualTo(UsbError.NoDevice));
    }

    private static LibUsbBus OpenThroughShim(ServedBus served)
    {
        NativeEnvironment.Set(SocketUsbBus.SocketPathVariable, served.SocketPath);
        return LibUsbBus.Open(Shim.LibraryPath);
    }
}

/// <summary>A device that only has descriptors (enumeration tests); opening it is refused like a busy device.</summary>
internal sealed class DescriptorOnlyDevice(byte bus, byte address, byte[] ports, UsbDeviceDescriptor descriptor, byte[] config) : IUsbDevice
{
    public byte BusNumber => bus;

    public byte Address => address;

    public IReadOnlyList<byte> PortNumbers => ports;

    public UsbDeviceDescriptor Descriptor => descriptor;

    public byte[] GetRawConfigDescriptor(int index) => (byte[])config.Clone();

    public IUsbDeviceHandle Open() => throw new UsbException(UsbError.Busy, $"open {UsbPath.Format(bus, ports)}");
}
