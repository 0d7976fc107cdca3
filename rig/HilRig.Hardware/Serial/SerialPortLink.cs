using System.IO.Ports;
using HilRig.Core.Serial;
using HilRig.Core.Usb;

namespace HilRig.Hardware.Serial;

/// <summary>
/// The Core's CDC ACM port (1d50:607d) through System.IO.Ports at 9600 8N1 (listening mode's settings). A port that
/// vanishes (the Core lost power or left listening mode) surfaces as <see cref="UsbError.NoDevice"/>.
/// </summary>
public sealed class SerialPortLink : ISerialLink
{
    /// <summary>One character time at 9600 baud: how often a read looks for bytes.</summary>
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(1);

    private readonly SerialPort _port;
    private readonly TimeProvider _time;

    public SerialPortLink(string device, TimeProvider time)
    {
        _time = time;
        _port = new SerialPort(device, 9600, Parity.None, 8, StopBits.One) { ReadTimeout = 0, WriteTimeout = 1000 };
        try
        {
            _port.Open();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _port.Dispose();
            throw new UsbException(UsbError.NoDevice, $"{device}: {e.Message}");
        }
    }

    public string Device => _port.PortName;

    public Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        try
        {
            _port.Write(data.ToArray(), 0, data.Length);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            throw new UsbException(UsbError.NoDevice, $"{_port.PortName}: the Core's serial port is gone ({e.Message})");
        }
        return Task.CompletedTask;
    }

    public async Task<int> ReadAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var start = _time.GetTimestamp();
        try
        {
            while (true)
            {
                if (_port.BytesToRead > 0)
                {
                    try
                    {
                        var chunk = new byte[Math.Min(buffer.Length, _port.BytesToRead)];
                        var n = _port.Read(chunk, 0, chunk.Length);
                        chunk.AsSpan(0, n).CopyTo(buffer.Span);
                        return n;
                    }
                    catch (TimeoutException)
                    {
                        // System.IO.Ports on Linux counted bytes its own reader then had not handed over (seen once in
                        // CI on a pty): nothing to read yet, so poll on until the caller's timeout
                    }
                }
                if (_time.GetElapsedTime(start) >= timeout) return 0;
                await Task.Delay(Poll, _time, cancellationToken);
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            throw new UsbException(UsbError.NoDevice, $"{_port.PortName}: the Core's serial port is gone ({e.Message})");
        }
    }

    public void Dispose() => _port.Dispose();
}

/// <summary>
/// Finds a slot's CDC tty from its USB port path through sysfs: the CDC data lives on interface 0
/// (`&lt;sysfs&gt;/bus/usb/devices/&lt;path&gt;:1.0/tty/ttyACM*`). The root is a parameter so tests can fake the tree.
/// </summary>
public static class SysfsSerialPorts
{
    public const string DefaultSysfsRoot = "/sys";

    /// <summary>The /dev node of the tty under the slot's USB path, or null while the Core has no serial port.</summary>
    public static string? FindTty(string sysfsRoot, string usbPath, string devRoot = "/dev")
    {
        var ttyDir = Path.Combine(sysfsRoot, "bus", "usb", "devices", usbPath + ":1.0", "tty");
        if (!Directory.Exists(ttyDir)) return null;
        var name = Directory.GetDirectories(ttyDir).Select(Path.GetFileName).Where(n => n is not null && n.StartsWith("tty", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).FirstOrDefault();
        return name is null ? null : Path.Combine(devRoot, name);
    }
}

/// <summary>
/// A slot's serial access on the Pi: each open looks the tty up again, so a port that vanished on power-off and came
/// back under another ttyACM number is found again (the reconnect).
/// </summary>
public sealed class SysfsSlotSerial(string usbPath, TimeProvider time, string sysfsRoot = SysfsSerialPorts.DefaultSysfsRoot, string devRoot = "/dev",
    Func<string, TimeProvider, ISerialLink>? openPort = null) : ISlotSerial
{
    public ISerialLink? TryOpen()
    {
        var tty = SysfsSerialPorts.FindTty(sysfsRoot, usbPath, devRoot);
        if (tty is null) return null;
        try
        {
            return openPort is null ? new SerialPortLink(tty, time) : openPort(tty, time);
        }
        catch (UsbException)
        {
            return null; // vanished between the lookup and the open: no port right now
        }
    }
}
