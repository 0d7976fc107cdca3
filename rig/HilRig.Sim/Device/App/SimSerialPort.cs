using System.Text;
using HilRig.Core.Serial;
using HilRig.Core.Usb;
using HilRig.Sim.Usb;

namespace HilRig.Sim.Device.App;

/// <summary>
/// The Core's USB serial port as an in-memory byte link: the host end is an <see cref="ISerialLink"/>, the device
/// end is what the firmware's credentials reader uses. Output costs 1 ms per character (the firmware's delay at
/// 9600 baud, spark-core.md §7). Closed when the Core leaves listening mode or loses power.
/// </summary>
public sealed class SimSerialPort(TimeProvider time)
{
    public static readonly TimeSpan PerCharacter = TimeSpan.FromMilliseconds(1);

    /// <summary>How often either end looks for bytes: one character time at 9600 baud.</summary>
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(1);

    private readonly TimeProvider _time = time;
    private readonly Queue<byte> _toDevice = new();
    private readonly Queue<byte> _toHost = new();

    public bool Open { get; private set; } = true;

    public ISerialLink OpenHost() => Open ? new HostLink(this) : throw new UsbException(UsbError.NoDevice, "the Core's serial port is gone");

    public void Close()
    {
        Open = false;
    }

    /// <summary>Raised on the simulation thread after the firmware queued bytes for the host (a pty pump drains them).</summary>
    public event Action? OutputReady;

    /// <summary>Host side without a link: takes what the firmware wrote so far, never waits.</summary>
    public int TakeOutput(Span<byte> buffer)
    {
        var n = 0;
        while (n < buffer.Length && _toHost.Count > 0) buffer[n++] = _toHost.Dequeue();
        return n;
    }

    /// <summary>Host side without a link: bytes typed by the host; dropped when the port is gone, as a closed ttyACM drops them.</summary>
    public void Input(ReadOnlySpan<byte> data)
    {
        if (!Open) return;
        foreach (var b in data) _toDevice.Enqueue(b);
    }

    /// <summary>Firmware side: the next byte the host sent (the credentials reader polls Serial.available).</summary>
    public async Task<byte> DeviceReadAsync(CancellationToken ct)
    {
        while (_toDevice.Count == 0)
        {
            if (!Open) throw new OperationCanceledException("serial port closed");
            await Task.Delay(Poll, _time, ct);
        }
        return _toDevice.Dequeue();
    }

    /// <summary>Firmware side: Serial.print with the 1 ms per character delay.</summary>
    public async Task DeviceWriteAsync(string text, CancellationToken ct)
    {
        foreach (var b in Encoding.ASCII.GetBytes(text))
        {
            await Task.Delay(PerCharacter, _time, ct);
            if (!Open) return;
            _toHost.Enqueue(b);
            OutputReady?.Invoke();
        }
    }

    private sealed class HostLink(SimSerialPort port) : ISerialLink
    {
        public Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
        {
            if (!port.Open) throw new UsbException(UsbError.NoDevice, "the Core's serial port is gone");
            foreach (var b in data.Span) port._toDevice.Enqueue(b);
            return Task.CompletedTask;
        }

        public async Task<int> ReadAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken = default)
        {
            var start = port._time.GetTimestamp();
            while (port._toHost.Count == 0 && port.Open && port._time.GetElapsedTime(start) < timeout)
                await Task.Delay(Poll, port._time, cancellationToken);
            var n = 0;
            while (n < buffer.Length && port._toHost.Count > 0) buffer.Span[n++] = port._toHost.Dequeue();
            return n;
        }

        public void Dispose()
        {
        }
    }
}

/// <summary>The app's CDC ACM function (spark-core.md §4.2: 1d50:607d), enumerated only while listening mode runs Serial.begin.</summary>
public sealed class SparkSerialFunction(TimeProvider time, string serialNumber) : VirtualUsbFunction(time)
{
    public override UsbDeviceDescriptor DeviceDescriptor { get; } =
        new(0x0200, 0x02, 0, 0, 64, Core.Spark.SparkUsb.VendorId, Core.Spark.SparkUsb.SerialProductId, 0x0200, 1, 2, 3, 1);

    public override byte[] GetConfigDescriptor(int index) =>
    [
        9, 2, 48, 0, 2, 1, 0, 0x80, 225,
        9, 4, 0, 0, 1, 0x02, 0x02, 0x01, 0,
        7, 5, 0x82, 0x03, 8, 0, 0xFF,
        9, 4, 1, 0, 2, 0x0A, 0, 0, 0,
        7, 5, 0x03, 0x02, 64, 0, 0,
        7, 5, 0x81, 0x02, 64, 0, 0,
    ];

    protected override string? GetString(int index) => index switch
    {
        1 => "Spark Devices     ",
        2 => "Spark Core with WiFi    ",
        3 => serialNumber,
        _ => null,
    };

    protected override ValueTask<ControlResponse> HandleRequestAsync(UsbSetup setup, Memory<byte> data, CancellationToken cancellationToken) =>
        // CDC class requests (SET_LINE_CODING, SET_CONTROL_LINE_STATE) are accepted; the byte stream is the SimSerialPort.
        ValueTask.FromResult((setup.RequestType & 0x60) == 0x20 ? ControlResponse.Ok() : ControlResponse.Stall);
}
