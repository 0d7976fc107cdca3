using System.Buffers.Binary;
using System.Net.Sockets;
using HilRig.Core.Usb;
using HilRig.Core.Usb.Wire;

namespace HilRig.Hardware.Usb;

/// <summary>
/// <see cref="IUsbBus"/> served by a <c>UsbSocketServer</c> (a simulator, possibly in another process) over the
/// protocol of rig/HilRig.UsbShim/PROTOCOL.md. One connection; requests are answered in order.
/// </summary>
public sealed class SocketUsbBus : IUsbBus, IDisposable
{
    public const string SocketPathVariable = "HILRIG_USB_SOCKET";

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly SemaphoreSlim _gate = new(1, 1);

    private SocketUsbBus(string socketPath, Socket socket)
    {
        SocketPath = socketPath;
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    public string SocketPath { get; }

    /// <summary>Connects to <paramref name="socketPath"/>, or to env HILRIG_USB_SOCKET when it is null.</summary>
    public static SocketUsbBus Connect(string? socketPath = null)
    {
        var path = socketPath ?? Environment.GetEnvironmentVariable(SocketPathVariable);
        if (string.IsNullOrWhiteSpace(path))
            throw new ArgumentException($"no USB socket given and {SocketPathVariable} is not set (expected the path printed by 'hilrig sim serve')", nameof(socketPath));
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new UsbException(UsbError.Io, $"connect to USB socket '{path}' ({ex.Message}; is 'hilrig sim serve' running?)");
        }
        return new SocketUsbBus(path, socket);
    }

    public IReadOnlyList<IUsbDevice> GetDevices()
    {
        var reply = Request([(byte)UsbWireOp.List], "list USB devices");
        using var r = new BinaryReader(new MemoryStream(reply, 4, reply.Length - 4));
        var count = BinaryPrimitives.ReadInt32LittleEndian(reply);
        var devices = new List<IUsbDevice>(count);
        for (var i = 0; i < count; i++) devices.Add(new SocketUsbDevice(this, UsbWire.ReadDevice(r)));
        return devices;
    }

    internal byte[] Request(byte[] payload, string what)
    {
        _gate.Wait();
        try
        {
            var frame = UsbWire.Frame(payload);
            _stream.Write(frame);
            var header = new byte[4];
            _stream.ReadExactly(header);
            var length = BinaryPrimitives.ReadUInt32LittleEndian(header);
            if (length < 4 || length > UsbWire.MaxFrame) throw new InvalidDataException($"USB socket '{SocketPath}': reply length {length} is not valid while trying to {what}");
            var reply = new byte[length];
            _stream.ReadExactly(reply);
            return CheckStatus(reply, what);
        }
        catch (Exception ex) when (ex is IOException or SocketException or EndOfStreamException)
        {
            throw new UsbException(UsbError.Io, $"{what}: USB socket '{SocketPath}' failed ({ex.Message})");
        }
        finally
        {
            _gate.Release();
        }
    }

    internal async Task<byte[]> RequestAsync(byte[] payload, string what, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            await UsbWire.WriteFrameAsync(_stream, payload, ct);
            var reply = await UsbWire.ReadFrameAsync(_stream, ct)
                ?? throw new UsbException(UsbError.NoDevice, $"{what}: USB socket '{SocketPath}' closed by the server");
            if (reply.Length < 4) throw new InvalidDataException($"USB socket '{SocketPath}': reply of {reply.Length} bytes has no status while trying to {what}");
            return CheckStatus(reply, what);
        }
        catch (Exception ex) when (ex is IOException or SocketException or EndOfStreamException)
        {
            throw new UsbException(UsbError.Io, $"{what}: USB socket '{SocketPath}' failed ({ex.Message})");
        }
        finally
        {
            _gate.Release();
        }
    }

    private static byte[] CheckStatus(byte[] reply, string what)
    {
        var status = BinaryPrimitives.ReadInt32LittleEndian(reply);
        if (status < 0) throw new UsbException(LibUsbBus.ToError(status), what);
        return reply;
    }

    public void Dispose()
    {
        _stream.Dispose();
        _socket.Dispose();
        _gate.Dispose();
    }
}

internal sealed class SocketUsbDevice(SocketUsbBus bus, UsbWireDevice wire) : IUsbDevice, IUsbBosSource
{
    public byte BusNumber => wire.BusNumber;

    public byte Address => wire.Address;

    public IReadOnlyList<byte> PortNumbers => wire.PortNumbers;

    public UsbDeviceDescriptor Descriptor { get; } = UsbDeviceDescriptor.Parse(wire.DeviceDescriptor);

    public string Path => UsbPath.Format(BusNumber, PortNumbers);

    public byte[] GetRawConfigDescriptor(int index)
    {
        if (index < 0 || index >= wire.ConfigDescriptors.Count)
            throw new UsbException(UsbError.NotFound, $"configuration index {index} of {Describe()} (device has {wire.ConfigDescriptors.Count})");
        return (byte[])wire.ConfigDescriptors[index].Clone();
    }

    public byte[]? GetRawBosDescriptor() => wire.BosDescriptor is null ? null : (byte[])wire.BosDescriptor.Clone();

    public IUsbDeviceHandle Open()
    {
        var reply = bus.Request([(byte)UsbWireOp.Open, BusNumber, Address], $"open {Describe()}");
        if (reply.Length < 8) throw new InvalidDataException($"USB socket '{bus.SocketPath}': OPEN reply without a handle id");
        return new SocketUsbDeviceHandle(bus, this, BinaryPrimitives.ReadUInt32LittleEndian(reply.AsSpan(4)));
    }

    internal string Describe() => $"USB device {Path} (address {Address}, {Descriptor.VidPid})";
}

internal sealed class SocketUsbDeviceHandle(SocketUsbBus bus, SocketUsbDevice device, uint id) : IUsbDeviceHandle
{
    private bool _closed;

    public IUsbDevice Device => device;

    public async Task<int> ControlTransferAsync(UsbSetup setup, Memory<byte> data, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (data.Length < setup.Length)
            throw new ArgumentException($"control transfer buffer holds {data.Length} bytes, wLength is {setup.Length}", nameof(data));
        var timeoutMs = timeout == Timeout.InfiniteTimeSpan ? 0u : (uint)Math.Clamp(Math.Ceiling(timeout.TotalMilliseconds), 1, uint.MaxValue);
        var outLength = setup.IsDeviceToHost ? 0 : setup.Length;
        var request = new byte[1 + 4 + UsbWire.SetupLength + 4 + outLength];
        request[0] = (byte)UsbWireOp.Control;
        BinaryPrimitives.WriteUInt32LittleEndian(request.AsSpan(1), Id());
        UsbWire.EncodeSetup(setup).CopyTo(request, 5);
        BinaryPrimitives.WriteUInt32LittleEndian(request.AsSpan(13), timeoutMs);
        data.Span[..outLength].CopyTo(request.AsSpan(17));
        var reply = await bus.RequestAsync(request, $"control transfer {setup} on {device.Describe()}", cancellationToken);
        var n = BinaryPrimitives.ReadInt32LittleEndian(reply);
        if (n > setup.Length) throw new UsbException(UsbError.Overflow, $"control transfer {setup} on {device.Describe()} returned {n} bytes");
        if (setup.IsDeviceToHost)
        {
            if (reply.Length - 4 < n) throw new InvalidDataException($"USB socket '{bus.SocketPath}': CONTROL reply announced {n} bytes, carried {reply.Length - 4}");
            reply.AsSpan(4, n).CopyTo(data.Span);
        }
        return n;
    }

    public void ClaimInterface(int interfaceNumber) =>
        bus.Request(WithId(UsbWireOp.Claim, (byte)interfaceNumber), $"claim interface {interfaceNumber} of {device.Describe()}");

    public void ReleaseInterface(int interfaceNumber) =>
        bus.Request(WithId(UsbWireOp.Release, (byte)interfaceNumber), $"release interface {interfaceNumber} of {device.Describe()}");

    public Task SetAltSettingAsync(int interfaceNumber, int altSetting, CancellationToken cancellationToken = default) =>
        bus.RequestAsync(WithId(UsbWireOp.SetAlt, (byte)interfaceNumber, (byte)altSetting),
            $"select alt setting {altSetting} of interface {interfaceNumber} on {device.Describe()}", cancellationToken);

    public Task ResetAsync(CancellationToken cancellationToken = default) =>
        bus.RequestAsync(WithId(UsbWireOp.Reset), $"reset {device.Describe()}", cancellationToken);

    private byte[] WithId(UsbWireOp op, params ReadOnlySpan<byte> args)
    {
        var b = new byte[5 + args.Length];
        b[0] = (byte)op;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(1), Id());
        args.CopyTo(b.AsSpan(5));
        return b;
    }

    private uint Id()
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        return id;
    }

    public void Dispose()
    {
        if (_closed) return;
        try
        {
            bus.Request(WithId(UsbWireOp.Close), $"close {device.Describe()}");
        }
        catch (UsbException)
        {
            // the server dropped the handle already (connection lost or device gone)
        }
        _closed = true;
    }
}
