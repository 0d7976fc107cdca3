using System.Buffers.Binary;

namespace HilRig.Core.Usb;

/// <summary>A downstream port as GetPortStatus reports it (USB 2.0 wPortStatus / wPortChange, protocols.md §3.1).</summary>
public readonly record struct HubPortStatus(ushort Status, ushort Change)
{
    public bool Connected => (Status & 0x0001) != 0;

    public bool Enabled => (Status & 0x0002) != 0;

    public bool Powered => (Status & 0x0100) != 0;

    public override string ToString() =>
        $"{Status:x4} {(Powered ? "power" : "off")}{(Enabled ? " enable" : "")}{(Connected ? " connect" : "")}";
}

/// <summary>
/// VBUS switching through USB hub class requests over the USB boundary (what uhubctl does with -S):
/// SetPortFeature / ClearPortFeature(PORT_POWER) and GetPortStatus, on the hub found by its port path.
/// </summary>
public sealed class HubPortPower(IUsbBus bus)
{
    public const byte HubClass = 9;
    public const ushort PortPowerFeature = 8;

    private const byte ClassOtherOut = 0x23;
    private const byte ClassOtherIn = 0xA3;

    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The hub at <paramref name="hubPath"/>; a UsbException (NotFound) when nothing hub-like is there.</summary>
    public IUsbDevice FindHub(string hubPath)
    {
        var device = bus.GetDevices().FirstOrDefault(d => d.Path == hubPath);
        if (device is null)
            throw new UsbException(UsbError.NotFound, $"no USB hub at {hubPath}");
        if (device.Descriptor.DeviceClass != HubClass)
            throw new UsbException(UsbError.NotFound, $"{device.Descriptor.VidPid} at {hubPath} is not a hub (class {device.Descriptor.DeviceClass})");
        return device;
    }

    public async Task SetPowerAsync(string hubPath, int port, bool on, CancellationToken ct = default)
    {
        CheckPort(port);
        using var handle = FindHub(hubPath).Open();
        var request = on ? UsbRequest.SetFeature : UsbRequest.ClearFeature;
        await handle.ControlTransferAsync(new UsbSetup(ClassOtherOut, request, PortPowerFeature, (ushort)port, 0), Memory<byte>.Empty, RequestTimeout, ct);
    }

    public async Task<HubPortStatus> GetStatusAsync(string hubPath, int port, CancellationToken ct = default)
    {
        CheckPort(port);
        using var handle = FindHub(hubPath).Open();
        var data = new byte[4];
        var n = await handle.ControlTransferAsync(new UsbSetup(ClassOtherIn, UsbRequest.GetStatus, 0, (ushort)port, 4), data, RequestTimeout, ct);
        if (n < 4) throw new UsbException(UsbError.Io, $"hub {hubPath} port {port}: GetPortStatus returned {n} of 4 bytes");
        return new HubPortStatus(BinaryPrimitives.ReadUInt16LittleEndian(data), BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(2)));
    }

    private static void CheckPort(int port)
    {
        if (port is < 1 or > 14) throw new ArgumentOutOfRangeException(nameof(port), port, "hub ports are 1-14");
    }
}
