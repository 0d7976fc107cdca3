using System.Buffers.Binary;
using HilRig.Core.Usb;

namespace HilRig.Sim.Usb;

/// <summary>
/// A USB 2.0 hub with real per-port power switching (VBUS), answering the hub class requests of protocols.md §3:
/// GetHubDescriptor, GetHubStatus, GetPortStatus, Set/ClearPortFeature. Turning a port's power off removes
/// everything below it from the bus and tells listeners (the simulated Core loses its supply).
/// </summary>
public sealed class VirtualUsbHub : VirtualUsbFunction
{
    public const byte PortPowerFeature = 8;
    public const byte PortResetFeature = 4;
    public const byte PortEnableFeature = 1;

    private readonly VirtualUsbBus _bus;
    private readonly bool[] _power;
    private readonly bool[] _enabled;
    private readonly ushort[] _change;
    private readonly HashSet<int> _stuckPowered = [];

    public VirtualUsbHub(VirtualUsbBus bus, string path, int ports, ushort vendorId = 0x2109, ushort productId = 0x2817)
        : base(bus.Time)
    {
        if (ports is < 1 or > 14) throw new ArgumentOutOfRangeException(nameof(ports), ports, "a hub has 1-14 ports");
        _bus = bus;
        Path = path;
        PortCount = ports;
        _power = Enumerable.Repeat(true, ports + 1).ToArray();
        _enabled = Enumerable.Repeat(true, ports + 1).ToArray();
        _change = new ushort[ports + 1];
        DeviceDescriptor = new UsbDeviceDescriptor(0x0210, 9, 0, 1, 64, vendorId, productId, 0x0100, 1, 2, 3, 1);
        bus.Changed += OnBusChanged;
    }

    /// <summary>
    /// A device that enumerates below a port got there through the host's port reset, which enables the port (Linux's
    /// hub driver does it on every connect); a device that leaves disables it. Either way the connect-change bit is set.
    /// </summary>
    private void OnBusChanged(string path, bool present)
    {
        var prefix = ChildPrefix;
        if (!path.StartsWith(prefix, StringComparison.Ordinal)
            || !int.TryParse(path.AsSpan(prefix.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port))
            return;
        if (port < 1 || port > PortCount) return;
        _enabled[port] = present && _power[port];
        _change[port] |= 0x0001;
    }

    /// <summary>"1-1." for hub 1-1, "1-" for a root hub 1: the path of a device on one of its ports, without the port.</summary>
    private string ChildPrefix => UsbPath.TryParse(Path, out _, out var ports) && ports.Length == 0 ? $"{Path}-" : $"{Path}.";

    private string ChildPath(int port) => ChildPrefix + port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public string Path { get; }

    public int PortCount { get; }

    public override UsbDeviceDescriptor DeviceDescriptor { get; }

    /// <summary>Raised when a port's VBUS changes (port, powered).</summary>
    public event Action<int, bool>? PortPowerChanged;

    public bool IsPortPowered(int port) => port >= 1 && port <= PortCount && (_power[port] || _stuckPowered.Contains(port));

    /// <summary>Rig fault injection: the port reports power off but VBUS stays on (many hubs do this).</summary>
    public void SetVbusStuckOn(int port, bool stuck)
    {
        if (stuck) _stuckPowered.Add(port);
        else _stuckPowered.Remove(port);
    }

    /// <summary>Switches a port's power directly (what the hub does on Set/ClearPortFeature(PORT_POWER)).</summary>
    public void SetPortPower(int port, bool on)
    {
        if (port < 1 || port > PortCount) throw new ArgumentOutOfRangeException(nameof(port), port, $"hub {Path} has ports 1-{PortCount}");
        if (_power[port] == on) return;
        var vbusBefore = IsPortPowered(port);
        _power[port] = on;
        if (!on) _enabled[port] = false;
        _change[port] |= 0x0001;
        _bus.NotifyPortPower(Path, port);
        if (IsPortPowered(port) != vbusBefore) PortPowerChanged?.Invoke(port, IsPortPowered(port));
    }

    public override byte[] GetConfigDescriptor(int index)
    {
        // config (9) + interface class 9 (9) + interrupt IN status-change endpoint (7)
        var b = new byte[25];
        b[0] = 9; b[1] = UsbDescriptorType.Configuration;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(2), 25);
        b[4] = 1; b[5] = 1; b[6] = 0; b[7] = 0xE0; b[8] = 0;
        b[9] = 9; b[10] = UsbDescriptorType.Interface; b[11] = 0; b[12] = 0; b[13] = 1; b[14] = 9; b[15] = 0; b[16] = 0; b[17] = 0;
        b[18] = 7; b[19] = UsbDescriptorType.Endpoint; b[20] = 0x81; b[21] = 0x03;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(22), 1);
        b[24] = 0x0C;
        return b;
    }

    protected override string? GetString(int index) => index switch
    {
        1 => "HilRig",
        2 => "Virtual USB 2.0 Hub",
        3 => Path,
        _ => null,
    };

    protected override byte[]? GetClassDescriptor(byte type, byte index) => type == UsbDescriptorType.Hub ? HubDescriptor() : null;

    private byte[] HubDescriptor()
    {
        var maskBytes = (PortCount + 1 + 7) / 8;
        var b = new byte[7 + 2 * maskBytes];
        b[0] = (byte)b.Length;
        b[1] = UsbDescriptorType.Hub;
        b[2] = (byte)PortCount;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(3), 0x0009); // per-port power switching, per-port over-current
        b[5] = 50; // bPwrOn2PwrGood: 100 ms
        b[6] = 100;
        for (var i = 0; i < maskBytes; i++) b[7 + maskBytes + i] = 0xFF; // PortPwrCtrlMask, legacy all ones
        return b;
    }

    protected override ValueTask<ControlResponse> HandleRequestAsync(UsbSetup setup, Memory<byte> data, CancellationToken cancellationToken)
    {
        var span = data.Span;
        switch (setup.RequestType, setup.Request)
        {
            case (0xA0, UsbRequest.GetDescriptor) when (setup.Value >> 8) is UsbDescriptorType.Hub:
            {
                var d = HubDescriptor();
                var n = Math.Min(d.Length, span.Length);
                d.AsSpan(0, n).CopyTo(span);
                return ValueTask.FromResult(ControlResponse.Ok(n));
            }
            case (0xA0, UsbRequest.GetStatus):
                span[..Math.Min(4, span.Length)].Clear();
                return ValueTask.FromResult(ControlResponse.Ok(Math.Min(4, span.Length)));
            case (0xA3, UsbRequest.GetStatus):
            {
                var port = setup.Index;
                if (port < 1 || port > PortCount || span.Length < 4) return ValueTask.FromResult(ControlResponse.Stall);
                BinaryPrimitives.WriteUInt16LittleEndian(span, PortStatus(port));
                BinaryPrimitives.WriteUInt16LittleEndian(span[2..], _change[port]);
                return ValueTask.FromResult(ControlResponse.Ok(4));
            }
            case (0x23, UsbRequest.SetFeature or UsbRequest.ClearFeature):
                return ValueTask.FromResult(PortFeature(setup));
            case (0x20, UsbRequest.SetFeature or UsbRequest.ClearFeature):
                return ValueTask.FromResult(ControlResponse.Ok()); // hub features: C_HUB_LOCAL_POWER, C_HUB_OVER_CURRENT
            default:
                return ValueTask.FromResult(ControlResponse.Stall);
        }
    }

    private ushort PortStatus(int port)
    {
        ushort status = 0;
        if (_power[port]) status |= 0x0100;
        if (_bus.IsVisible(ChildPath(port)))
        {
            status |= 0x0001;
            if (_enabled[port]) status |= 0x0002;
        }
        return status;
    }

    private ControlResponse PortFeature(UsbSetup setup)
    {
        var port = setup.Index & 0xFF;
        if (port < 1 || port > PortCount) return ControlResponse.Stall;
        var set = setup.Request == UsbRequest.SetFeature;
        switch (setup.Value)
        {
            case PortPowerFeature:
                SetPortPower(port, set);
                return ControlResponse.Ok();
            case PortEnableFeature:
                _enabled[port] = set && _power[port];
                return ControlResponse.Ok();
            case PortResetFeature:
                _enabled[port] = _power[port];
                _change[port] |= 0x0010;
                return ControlResponse.Ok();
            case 2: // suspend
            case 22: // indicator
            case 21: // test
                return ControlResponse.Ok();
            case >= 16 and <= 20: // C_PORT_* change bits
                if (!set) _change[port] &= (ushort)~(1 << (setup.Value - 16));
                return ControlResponse.Ok();
            default:
                return ControlResponse.Stall;
        }
    }
}
