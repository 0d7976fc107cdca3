namespace HilRig.Core.Usb;

/// <summary>libusb's error codes; the same numbers, so a libusb binding maps 1:1.</summary>
public enum UsbError
{
    Io = -1,
    InvalidParam = -2,
    Access = -3,
    NoDevice = -4,
    NotFound = -5,
    Busy = -6,
    Timeout = -7,
    Overflow = -8,
    Pipe = -9,
    Interrupted = -10,
    NoMem = -11,
    NotSupported = -12,
    Other = -99,
}

/// <summary>A USB transfer or device operation failed. This is a transport problem: procedures report it as a rig fault.</summary>
public sealed class UsbException : Exception
{
    public UsbException(UsbError error, string message) : base($"{message}: {Describe(error)}") => Error = error;

    public UsbException() : this(UsbError.Other, "USB error") { }

    public UsbException(string message) : this(UsbError.Other, message) { }

    public UsbException(string message, Exception inner) : base(message, inner) => Error = UsbError.Other;

    public UsbError Error { get; }

    public static string Describe(UsbError error) => error switch
    {
        UsbError.Io => "input/output error",
        UsbError.InvalidParam => "invalid parameter",
        UsbError.Access => "access denied (check udev rules / permissions)",
        UsbError.NoDevice => "no such device (it may have been disconnected)",
        UsbError.NotFound => "entity not found",
        UsbError.Busy => "resource busy",
        UsbError.Timeout => "operation timed out",
        UsbError.Overflow => "overflow",
        UsbError.Pipe => "pipe error (request stalled)",
        UsbError.Interrupted => "system call interrupted",
        UsbError.NoMem => "insufficient memory",
        UsbError.NotSupported => "operation not supported",
        _ => "other error",
    };
}

/// <summary>The 8-byte SETUP packet of a control transfer.</summary>
public readonly record struct UsbSetup(byte RequestType, byte Request, ushort Value, ushort Index, ushort Length)
{
    public bool IsDeviceToHost => (RequestType & 0x80) != 0;

    public int Type => (RequestType >> 5) & 0x3;

    public int Recipient => RequestType & 0x1F;

    public override string ToString() =>
        $"bmRequestType=0x{RequestType:X2} bRequest={Request} wValue=0x{Value:X4} wIndex={Index} wLength={Length}";
}

/// <summary>
/// The USB host boundary: the lowest level both a real libusb and the simulator's virtual bus offer.
/// Procedures see devices only through this.
/// </summary>
public interface IUsbBus
{
    /// <summary>A snapshot of the devices attached now (like libusb_get_device_list).</summary>
    IReadOnlyList<IUsbDevice> GetDevices();
}

public interface IUsbDevice
{
    byte BusNumber { get; }

    /// <summary>Changes on every re-enumeration; the port path does not.</summary>
    byte Address { get; }

    /// <summary>Port numbers from the root hub down (libusb_get_port_numbers); empty for a root hub.</summary>
    IReadOnlyList<byte> PortNumbers { get; }

    UsbDeviceDescriptor Descriptor { get; }

    /// <summary>The whole configuration descriptor as sent on the wire (wTotalLength bytes).</summary>
    byte[] GetRawConfigDescriptor(int index);

    /// <summary>The BOS descriptor (uhubctl reads its container id), or null when the device has none.</summary>
    byte[]? GetBosDescriptor() => null;

    IUsbDeviceHandle Open();

    /// <summary>The path written by dfu-util and uhubctl: "bus-p1.p2".</summary>
    string Path => UsbPath.Format(BusNumber, PortNumbers);
}

public interface IUsbDeviceHandle : IDisposable
{
    IUsbDevice Device { get; }

    /// <summary>
    /// A control transfer. Returns the bytes transferred (for IN, written into <paramref name="data"/>).
    /// Throws <see cref="UsbException"/> with Pipe for a stall, Timeout, NoDevice.
    /// </summary>
    Task<int> ControlTransferAsync(UsbSetup setup, Memory<byte> data, TimeSpan timeout, CancellationToken cancellationToken = default);

    void ClaimInterface(int interfaceNumber);

    void ReleaseInterface(int interfaceNumber);

    Task SetAltSettingAsync(int interfaceNumber, int altSetting, CancellationToken cancellationToken = default);

    Task ResetAsync(CancellationToken cancellationToken = default);
}

public static class UsbPath
{
    public static string Format(byte bus, IReadOnlyList<byte> ports) =>
        ports.Count == 0 ? bus.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"{bus}-{string.Join('.', ports)}";

    /// <summary>Parses "1-1.3" into bus 1, ports [1, 3]; false for anything else.</summary>
    public static bool TryParse(string text, out byte bus, out byte[] ports)
    {
        bus = 0;
        ports = [];
        if (string.IsNullOrWhiteSpace(text)) return false;
        var dash = text.IndexOf('-', StringComparison.Ordinal);
        var busText = dash < 0 ? text : text[..dash];
        if (!byte.TryParse(busText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out bus) || bus == 0) return false;
        if (dash < 0) return true;
        var parts = text[(dash + 1)..].Split('.');
        if (parts.Length is 0 or > 7) return false;
        var list = new byte[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!byte.TryParse(parts[i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out list[i]) || list[i] == 0) return false;
        }
        ports = list;
        return true;
    }
}
