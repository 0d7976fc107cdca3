using HilRig.Core.Usb;
using HilRig.Core.Usb.Wire;

namespace HilRig.Hardware.Usb;

/// <summary>
/// <see cref="IUsbBus"/> on a real libusb-1.0 (or the HilRig shim, which speaks libusb's ABI), with its own
/// libusb context. Device wrappers are reused while libusb reports the same device; a device that has gone
/// is detached and refuses <see cref="IUsbDevice.Open"/> with NoDevice.
/// </summary>
public sealed unsafe class LibUsbBus : IUsbBus, IDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<nint, LibUsbDevice> _devices = [];
    private nint _context;

    public LibUsbBus(LibUsbNative native)
    {
        Native = native ?? throw new ArgumentNullException(nameof(native));
        nint ctx;
        Check(native.Init(&ctx), $"initialise libusb from '{native.LibraryPath}'");
        _context = ctx;
    }

    /// <summary>Loads libusb (explicit path, else HILRIG_LIBUSB_PATH, else the system library) and initialises a context.</summary>
    public static LibUsbBus Open(string? libraryPath = null) => new(LibUsbNative.Load(libraryPath));

    public LibUsbNative Native { get; }

    public IReadOnlyList<IUsbDevice> GetDevices()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_context == 0, this);
            nint* list;
            var count = (long)Native.GetDeviceList(_context, &list);
            Check((int)Math.Min(count, 0), "list USB devices");
            var seen = new List<IUsbDevice>((int)count);
            var current = new HashSet<nint>();
            try
            {
                for (var i = 0; i < count; i++)
                {
                    var dev = list[i];
                    current.Add(dev);
                    if (!_devices.TryGetValue(dev, out var wrapper))
                    {
                        wrapper = new LibUsbDevice(this, dev);
                        // our own reference keeps the libusb_device alive after the list is freed
                        Native.RefDevice(dev);
                        _devices[dev] = wrapper;
                    }
                    seen.Add(wrapper);
                }
            }
            finally
            {
                Native.FreeDeviceList(list, 1);
            }
            foreach (var gone in _devices.Keys.Where(k => !current.Contains(k)).ToList())
            {
                _devices[gone].Detach();
                _devices.Remove(gone);
                Native.UnrefDevice(gone);
            }
            return seen;
        }
    }

    internal void Check(int code, string what)
    {
        if (code < 0) throw new UsbException(ToError(code), $"{what} ({Native.DescribeError(code)})");
    }

    internal static UsbError ToError(int code) => Enum.IsDefined(typeof(UsbError), code) ? (UsbError)code : UsbError.Other;

    public void Dispose()
    {
        lock (_gate)
        {
            if (_context == 0) return;
            foreach (var (dev, wrapper) in _devices)
            {
                wrapper.Detach();
                Native.UnrefDevice(dev);
            }
            _devices.Clear();
            Native.Exit(_context);
            _context = 0;
        }
    }
}

internal sealed unsafe class LibUsbDevice : IUsbDevice, IUsbBosSource
{
    private readonly LibUsbBus _bus;
    private readonly byte[]?[] _configs;
    private readonly UsbException?[] _configErrors;
    private readonly Lock _gate = new();
    private nint _device;

    public LibUsbDevice(LibUsbBus bus, nint device)
    {
        _bus = bus;
        _device = device;
        var native = bus.Native;
        BusNumber = native.GetBusNumber(device);
        Address = native.GetDeviceAddress(device);
        var ports = stackalloc byte[8];
        var n = native.GetPortNumbers(device, ports, 8);
        PortNumbers = n > 0 ? new ReadOnlySpan<byte>(ports, n).ToArray() : [];
        LibUsbDeviceDescriptor d;
        bus.Check(native.GetDeviceDescriptor(device, &d), $"read the device descriptor of {Describe()}");
        Descriptor = new UsbDeviceDescriptor(d.BcdUsb, d.DeviceClass, d.DeviceSubClass, d.DeviceProtocol, d.MaxPacketSize0,
            d.VendorId, d.ProductId, d.BcdDevice, d.ManufacturerIndex, d.ProductIndex, d.SerialNumberIndex, d.NumConfigurations);
        _configs = new byte[d.NumConfigurations][];
        _configErrors = new UsbException[d.NumConfigurations];
        for (var i = 0; i < _configs.Length; i++)
        {
            LibUsbConfigDescriptor* config;
            var rc = native.GetConfigDescriptor(device, (byte)i, &config);
            if (rc < 0)
            {
                // one odd device on the bus must not break enumeration: its error surfaces when someone asks
                _configErrors[i] = new UsbException(LibUsbBus.ToError(rc), $"read configuration descriptor {i} of {Describe()} ({native.DescribeError(rc)})");
                continue;
            }
            try
            {
                _configs[i] = Serialise(config);
            }
            finally
            {
                native.FreeConfigDescriptor(config);
            }
        }
    }

    public byte BusNumber { get; }

    public byte Address { get; }

    public IReadOnlyList<byte> PortNumbers { get; }

    public UsbDeviceDescriptor Descriptor { get; }

    public string Path => UsbPath.Format(BusNumber, PortNumbers);

    public byte[] GetRawConfigDescriptor(int index)
    {
        if (index < 0 || index >= _configs.Length)
            throw new UsbException(UsbError.NotFound, $"configuration index {index} of {Describe()} (device has {_configs.Length})");
        if (_configErrors[index] is { } error) throw new UsbException(error.Error, error.Message);
        return (byte[])_configs[index]!.Clone();
    }

    public IUsbDeviceHandle Open()
    {
        nint handle;
        lock (_gate)
        {
            if (_device == 0) throw new UsbException(UsbError.NoDevice, $"open {Describe()}");
            _bus.Check(_bus.Native.Open(_device, &handle), $"open {Describe()}");
        }
        return new LibUsbDeviceHandle(_bus, this, handle);
    }

    /// <summary>Reads the BOS descriptor (libusb needs an open handle for it); null when the device has none.</summary>
    public byte[]? GetRawBosDescriptor()
    {
        using var handle = (LibUsbDeviceHandle)Open();
        var native = _bus.Native;
        LibUsbBosDescriptor* bos;
        var rc = native.GetBosDescriptor(handle.Raw, &bos);
        // NOT_FOUND: no BOS; PIPE: a USB 2.0 device that stalls the request
        if (rc is (int)UsbError.NotFound or (int)UsbError.Pipe) return null;
        _bus.Check(rc, $"read the BOS descriptor of {Describe()}");
        try
        {
            var b = new List<byte> { 5, UsbDescriptorType.Bos, (byte)bos->TotalLength, (byte)(bos->TotalLength >> 8), bos->NumDeviceCaps };
            var caps = (byte**)((byte*)bos + 8);
            for (var i = 0; i < bos->NumDeviceCaps; i++) b.AddRange(new ReadOnlySpan<byte>(caps[i], caps[i][0]));
            return [.. b];
        }
        finally
        {
            native.FreeBosDescriptor(bos);
        }
    }

    internal void Detach()
    {
        lock (_gate) _device = 0;
    }

    internal string Describe() => $"USB device {Path} (address {Address}, {Descriptor?.VidPid ?? "descriptor unread"})";

    /// <summary>
    /// Rebuilds the wire bytes from libusb's parsed form: header, extra, then per alt setting its header, extra and
    /// endpoints each with their extra. libusb keeps every byte it skips as "extra", so this is the original.
    /// </summary>
    private static byte[] Serialise(LibUsbConfigDescriptor* c)
    {
        var b = new List<byte>(c->TotalLength)
        {
            9, UsbDescriptorType.Configuration, (byte)c->TotalLength, (byte)(c->TotalLength >> 8),
            c->NumInterfaces, c->ConfigurationValue, c->ConfigurationStringIndex, c->Attributes, c->MaxPower,
        };
        Append(b, c->Extra, c->ExtraLength);
        for (var i = 0; i < c->NumInterfaces; i++)
        {
            var itf = &c->Interfaces[i];
            for (var a = 0; a < itf->NumAltSettings; a++)
            {
                var alt = &itf->AltSettings[a];
                b.AddRange([9, UsbDescriptorType.Interface, alt->InterfaceNumber, alt->AlternateSetting, alt->NumEndpoints,
                    alt->InterfaceClass, alt->InterfaceSubClass, alt->InterfaceProtocol, alt->InterfaceStringIndex]);
                Append(b, alt->Extra, alt->ExtraLength);
                for (var e = 0; e < alt->NumEndpoints; e++)
                {
                    var ep = &alt->Endpoints[e];
                    b.AddRange([ep->Length, UsbDescriptorType.Endpoint, ep->EndpointAddress, ep->Attributes,
                        (byte)ep->MaxPacketSize, (byte)(ep->MaxPacketSize >> 8), ep->Interval]);
                    // audio endpoints are 9 bytes long: bRefresh and bSynchAddress follow
                    if (ep->Length >= 9) b.AddRange([ep->Refresh, ep->SynchAddress]);
                    Append(b, ep->Extra, ep->ExtraLength);
                }
            }
        }
        return [.. b];
    }

    private static void Append(List<byte> b, byte* extra, int length)
    {
        if (extra is not null && length > 0) b.AddRange(new ReadOnlySpan<byte>(extra, length));
    }
}

internal sealed unsafe class LibUsbDeviceHandle(LibUsbBus bus, LibUsbDevice device, nint handle) : IUsbDeviceHandle
{
    private nint _handle = handle;

    public IUsbDevice Device => device;

    public Task<int> ControlTransferAsync(UsbSetup setup, Memory<byte> data, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (data.Length < setup.Length)
            throw new ArgumentException($"control transfer buffer holds {data.Length} bytes, wLength is {setup.Length}", nameof(data));
        var timeoutMs = timeout == Timeout.InfiniteTimeSpan ? 0u : (uint)Math.Clamp(Math.Ceiling(timeout.TotalMilliseconds), 1, uint.MaxValue);
        int n;
        // libusb_control_transfer is synchronous: the transfer is over when it returns.
        using (var pin = data.Pin())
        {
            n = bus.Native.ControlTransfer(Live(), setup.RequestType, setup.Request, setup.Value, setup.Index, (byte*)pin.Pointer, setup.Length, timeoutMs);
        }
        bus.Check(n, $"control transfer {setup} on {device.Describe()}");
        return Task.FromResult(n);
    }

    public void ClaimInterface(int interfaceNumber) =>
        bus.Check(bus.Native.ClaimInterface(Live(), interfaceNumber), $"claim interface {interfaceNumber} of {device.Describe()}");

    public void ReleaseInterface(int interfaceNumber) =>
        bus.Check(bus.Native.ReleaseInterface(Live(), interfaceNumber), $"release interface {interfaceNumber} of {device.Describe()}");

    public Task SetAltSettingAsync(int interfaceNumber, int altSetting, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        bus.Check(bus.Native.SetInterfaceAltSetting(Live(), interfaceNumber, altSetting),
            $"select alt setting {altSetting} of interface {interfaceNumber} on {device.Describe()}");
        return Task.CompletedTask;
    }

    public Task ResetAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        bus.Check(bus.Native.ResetDevice(Live()), $"reset {device.Describe()}");
        return Task.CompletedTask;
    }

    internal nint Raw => Live();

    private nint Live()
    {
        ObjectDisposedException.ThrowIf(_handle == 0, this);
        return _handle;
    }

    public void Dispose()
    {
        var h = Interlocked.Exchange(ref _handle, 0);
        if (h != 0) bus.Native.Close(h);
    }
}
