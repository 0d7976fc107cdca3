using System.Buffers.Binary;

namespace HilRig.Core.Usb;

/// <summary>wPortStatus and wPortChange of one hub port (protocols.md §3.1), read the way uhubctl reads them.</summary>
public readonly record struct HubPortStatus(ushort Status, ushort Change, bool SuperSpeedHub)
{
    /// <summary>USB2 hubs report port power in bit 8, USB3 hubs in bit 9.</summary>
    public bool Powered => (Status & (SuperSpeedHub ? 0x0200 : 0x0100)) != 0;

    public bool Connected => (Status & 0x0001) != 0;

    public bool Enabled => (Status & 0x0002) != 0;

    public override string ToString() => $"{Status:x4}{(Powered ? " power" : " off")}{(Connected ? " connect" : "")}";
}

/// <summary>
/// Per-port power switching through the hub class requests uhubctl sends (protocols.md §3): GetPortStatus, and
/// Set/ClearPortFeature(PORT_POWER). A hub is found by its port path ("1-1"), which does not change on re-enumeration.
/// </summary>
public sealed class HubPortPower : IDisposable
{
    public const byte PortPowerFeature = 8;
    public const byte HubClass = 9;
    private const byte GetStatus = 0;
    private const byte ClearFeature = 1;
    private const byte SetFeature = 3;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    private readonly IUsbDeviceHandle _handle;

    private HubPortPower(IUsbDevice hub, IUsbDeviceHandle handle)
    {
        Hub = hub;
        _handle = handle;
    }

    public IUsbDevice Hub { get; }

    public string HubPath => Hub.Path;

    /// <summary>Opens the hub at <paramref name="hubPath"/>; throws <see cref="UsbException"/> (NotFound) naming the path when none is there.</summary>
    public static HubPortPower Open(IUsbBus bus, string hubPath)
    {
        var devices = bus.GetDevices();
        var hub = devices.FirstOrDefault(d => d.Path == hubPath && d.Descriptor.DeviceClass == HubClass);
        if (hub is null)
        {
            var other = devices.FirstOrDefault(d => d.Path == hubPath);
            throw new UsbException(UsbError.NotFound, other is null
                ? $"no USB hub at {hubPath}"
                : $"the device at {hubPath} ({other.Descriptor.VidPid}) is not a hub");
        }
        return new HubPortPower(hub, hub.Open());
    }

    public async Task<HubPortStatus> GetPortStatusAsync(int port, CancellationToken cancellationToken = default)
    {
        var reply = new byte[4];
        var n = await _handle.ControlTransferAsync(new UsbSetup(0xA3, GetStatus, 0, (ushort)port, 4), reply, RequestTimeout, cancellationToken);
        if (n < 4) throw new UsbException(UsbError.Io, $"hub {HubPath} port {port}: GetPortStatus returned {n} of 4 bytes");
        return new HubPortStatus(BinaryPrimitives.ReadUInt16LittleEndian(reply), BinaryPrimitives.ReadUInt16LittleEndian(reply.AsSpan(2)), Hub.Descriptor.BcdUsb >= 0x0300);
    }

    /// <summary>SetPortFeature (on) or ClearPortFeature (off) PORT_POWER, bmRequestType 0x23, wIndex = port.</summary>
    public Task SetPortPowerAsync(int port, bool on, CancellationToken cancellationToken = default) =>
        _handle.ControlTransferAsync(new UsbSetup(0x23, on ? SetFeature : ClearFeature, PortPowerFeature, (ushort)port, 0), Memory<byte>.Empty, RequestTimeout, cancellationToken);

    public void Dispose() => _handle.Dispose();
}
