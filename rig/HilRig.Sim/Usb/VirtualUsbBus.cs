using HilRig.Core.Usb;

namespace HilRig.Sim.Usb;

/// <summary>
/// A simulated USB bus: devices connected at port paths ("1-1.3"), hubs with per-port power in between.
/// A device is visible only while it is connected and every hub port above it is powered. Addresses change on
/// every (re)connection, paths do not. Control transfers cost device time on the bus's clock.
/// </summary>
public sealed class VirtualUsbBus : IUsbBus
{
    private readonly object _gate = new();
    private readonly Dictionary<string, Attachment> _attached = new(StringComparer.Ordinal);
    private byte _nextAddress = 1;

    public VirtualUsbBus(TimeProvider time, byte busNumber = 1, UsbTimingModel? timing = null)
    {
        Time = time;
        BusNumber = busNumber;
        Timing = timing ?? UsbTimingModel.FullSpeed;
    }

    public TimeProvider Time { get; }

    public byte BusNumber { get; }

    public UsbTimingModel Timing { get; }

    /// <summary>Faults injected on purpose into control transfers to Cores in DFU (null: none).</summary>
    public Faults.FaultInjector? Faults { get; set; }

    /// <summary>Slots whose pogo pins or cable are worn (<c>sim.wornSlots</c>): their DFU transfers fail at <c>sim.faults.wornContact</c>.</summary>
    public IReadOnlySet<int> WornSlots { get; set; } = new HashSet<int>();

    /// <summary>The supply of the Core at a USB path sags (<c>sim.faults.brownOut</c>): it resets as after a power cut.</summary>
    public Action<string>? BrownOut { get; set; }

    /// <summary>The slot a device path belongs to, for the fault ledger.</summary>
    public Func<string, int?> SlotOf { get; set; } = _ => null;

    /// <summary>
    /// A glitch on the cable: the device at <paramref name="path"/> drops off the bus and, after <paramref name="gap"/>,
    /// enumerates again (new address, bus reset: a DfuSe device is back in dfuIDLE), unless something else took the port meanwhile.
    /// </summary>
    internal void Glitch(string path, TimeSpan gap)
    {
        var function = FunctionAt(path);
        if (function is null) return;
        Disconnect(path);
        _ = ReconnectAsync();

        async Task ReconnectAsync()
        {
            await Task.Delay(gap, Time);
            if (FunctionAt(path) is not null) return;
            function.OnBusReset();
            Connect(path, function);
        }
    }

    /// <summary>Raised after a device appears or disappears (path, present).</summary>
    public event Action<string, bool>? Changed;

    /// <summary>Connects <paramref name="function"/> at <paramref name="ports"/> (D+ pull-up on). Replaces whatever was there.</summary>
    public void Connect(IReadOnlyList<byte> ports, VirtualUsbFunction function)
    {
        var path = UsbPath.Format(BusNumber, ports);
        lock (_gate)
        {
            _attached[path] = new Attachment(path, [.. ports], function, NextAddress());
        }
        Changed?.Invoke(path, IsVisible(path));
    }

    public void Connect(string path, VirtualUsbFunction function) => Connect(ParsePath(path), function);

    /// <summary>Disconnects whatever is at the path (D+ pull-up off, cable pulled, power lost).</summary>
    public void Disconnect(string path)
    {
        bool removed;
        lock (_gate) { removed = _attached.Remove(path); }
        if (removed) Changed?.Invoke(path, false);
    }

    public VirtualUsbFunction? FunctionAt(string path)
    {
        lock (_gate) { return _attached.TryGetValue(path, out var a) ? a.Function : null; }
    }

    /// <summary>True when a device is connected at the path and every hub port above it is powered.</summary>
    public bool IsVisible(string path)
    {
        lock (_gate) { return _attached.TryGetValue(path, out var a) && PoweredLocked(a); }
    }

    public IReadOnlyList<IUsbDevice> GetDevices()
    {
        lock (_gate)
        {
            return _attached.Values
                .Where(PoweredLocked)
                .OrderBy(a => a.Ports.Length).ThenBy(a => a.Path, StringComparer.Ordinal)
                .Select(a => (IUsbDevice)new DeviceView(this, a))
                .ToList();
        }
    }

    /// <summary>Called by a hub when a downstream port's power changes, so listeners re-check visibility.</summary>
    internal void NotifyPortPower(string hubPath, int port)
    {
        var prefix = $"{hubPath}{(hubPath.Contains('-', StringComparison.Ordinal) ? "." : "-")}{port}";
        List<string> affected;
        lock (_gate)
        {
            affected = _attached.Keys.Where(p => p == prefix || p.StartsWith(prefix + ".", StringComparison.Ordinal)).ToList();
            // A device that loses VBUS re-enumerates with a new address when power returns.
            foreach (var p in affected)
                _attached[p] = _attached[p] with { Address = NextAddress() };
        }
        foreach (var p in affected) Changed?.Invoke(p, IsVisible(p));
    }

    internal bool IsCurrent(Attachment a)
    {
        lock (_gate) { return _attached.TryGetValue(a.Path, out var now) && ReferenceEquals(now.Function, a.Function) && now.Address == a.Address && PoweredLocked(now); }
    }

    private bool PoweredLocked(Attachment a)
    {
        // Walk up: every hub between the root and the device must have the port towards it powered.
        for (var depth = 1; depth < a.Ports.Length; depth++)
        {
            var hubPath = UsbPath.Format(BusNumber, a.Ports[..depth]);
            if (!_attached.TryGetValue(hubPath, out var hub) || hub.Function is not VirtualUsbHub h) return false;
            if (!h.IsPortPowered(a.Ports[depth])) return false;
            if (!PoweredLocked(hub)) return false;
        }
        return true;
    }

    private byte NextAddress()
    {
        var address = _nextAddress;
        _nextAddress = (byte)(_nextAddress >= 127 ? 1 : _nextAddress + 1);
        return address;
    }

    private byte[] ParsePath(string path)
    {
        if (!UsbPath.TryParse(path, out var bus, out var ports) || ports.Length == 0)
            throw new ArgumentException($"'{path}' is not a USB port path like {BusNumber}-1.3", nameof(path));
        if (bus != BusNumber)
            throw new ArgumentException($"'{path}' is on bus {bus}, this virtual bus is {BusNumber}", nameof(path));
        return ports;
    }

    internal sealed record Attachment(string Path, byte[] Ports, VirtualUsbFunction Function, byte Address);

    private sealed class DeviceView(VirtualUsbBus bus, Attachment attachment) : IUsbDevice
    {
        public byte BusNumber => bus.BusNumber;

        public byte Address => attachment.Address;

        public IReadOnlyList<byte> PortNumbers => attachment.Ports;

        public UsbDeviceDescriptor Descriptor => attachment.Function.DeviceDescriptor;

        public byte[] GetRawConfigDescriptor(int index) => attachment.Function.GetConfigDescriptor(index);

        public byte[]? GetBosDescriptor() => attachment.Function.GetBosDescriptor();

        public IUsbDeviceHandle Open()
        {
            if (!bus.IsCurrent(attachment)) throw new UsbException(UsbError.NoDevice, $"open {attachment.Path}");
            return new VirtualUsbDeviceHandle(bus, attachment, this);
        }
    }
}
