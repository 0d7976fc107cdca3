using System.Buffers.Binary;

namespace HilRig.Core.Usb.Wire;

/// <summary>Requests of the USB-over-socket protocol (rig/HilRig.UsbShim/PROTOCOL.md). The numbers are on the wire.</summary>
public enum UsbWireOp : byte
{
    List = 1,
    Open = 2,
    Close = 3,
    Claim = 4,
    Release = 5,
    SetAlt = 6,
    Reset = 7,
    Control = 8,
    GetConfiguration = 9,
}

/// <summary>One device as LIST reports it.</summary>
public sealed record UsbWireDevice(
    byte BusNumber,
    byte Address,
    byte[] PortNumbers,
    byte[] DeviceDescriptor,
    IReadOnlyList<byte[]> ConfigDescriptors,
    byte[]? BosDescriptor);

/// <summary>
/// Framing and encoding of the USB-over-socket protocol: every frame is a little-endian u32 payload length and
/// the payload. A request payload starts with the op byte; a reply payload starts with an i32 status (a count or
/// 0 on success, a negative libusb error number on failure).
/// </summary>
public static class UsbWire
{
    /// <summary>Largest payload either side accepts; a control transfer carries at most 64 KiB.</summary>
    public const int MaxFrame = 1 << 20;

    public const int SetupLength = 8;

    public static async Task<byte[]?> ReadFrameAsync(Stream stream, CancellationToken ct)
    {
        var header = new byte[4];
        var got = await stream.ReadAtLeastAsync(header, 4, throwOnEndOfStream: false, ct);
        if (got == 0) return null;
        if (got < 4) throw new InvalidDataException($"connection closed inside a frame header ({got} of 4 bytes)");
        var length = BinaryPrimitives.ReadUInt32LittleEndian(header);
        if (length > MaxFrame) throw new InvalidDataException($"frame length {length} exceeds the limit of {MaxFrame} bytes");
        var payload = new byte[length];
        await stream.ReadExactlyAsync(payload, ct);
        return payload;
    }

    public static async Task WriteFrameAsync(Stream stream, ReadOnlyMemory<byte> payload, CancellationToken ct)
    {
        var frame = Frame(payload.Span);
        await stream.WriteAsync(frame, ct);
        await stream.FlushAsync(ct);
    }

    public static byte[] Frame(ReadOnlySpan<byte> payload)
    {
        var frame = new byte[4 + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)payload.Length);
        payload.CopyTo(frame.AsSpan(4));
        return frame;
    }

    public static byte[] EncodeSetup(UsbSetup setup)
    {
        var b = new byte[SetupLength];
        b[0] = setup.RequestType;
        b[1] = setup.Request;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(2), setup.Value);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(4), setup.Index);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(6), setup.Length);
        return b;
    }

    public static UsbSetup DecodeSetup(ReadOnlySpan<byte> b) => new(
        b[0], b[1], BinaryPrimitives.ReadUInt16LittleEndian(b[2..]), BinaryPrimitives.ReadUInt16LittleEndian(b[4..]),
        BinaryPrimitives.ReadUInt16LittleEndian(b[6..]));

    public static void WriteDevice(BinaryWriter w, UsbWireDevice d)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(d);
        if (d.DeviceDescriptor.Length != UsbDeviceDescriptor.Length)
            throw new ArgumentException($"device {d.BusNumber}/{d.Address}: device descriptor is {d.DeviceDescriptor.Length} bytes, must be 18", nameof(d));
        w.Write(d.BusNumber);
        w.Write(d.Address);
        w.Write((byte)d.PortNumbers.Length);
        w.Write(d.PortNumbers);
        w.Write(d.DeviceDescriptor);
        w.Write((byte)d.ConfigDescriptors.Count);
        foreach (var c in d.ConfigDescriptors)
        {
            w.Write(checked((ushort)c.Length));
            w.Write(c);
        }
        var bos = d.BosDescriptor ?? [];
        w.Write(checked((ushort)bos.Length));
        w.Write(bos);
    }

    public static UsbWireDevice ReadDevice(BinaryReader r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var bus = r.ReadByte();
        var address = r.ReadByte();
        var ports = ReadExactly(r, r.ReadByte());
        var descriptor = ReadExactly(r, UsbDeviceDescriptor.Length);
        var configCount = r.ReadByte();
        var configs = new List<byte[]>(configCount);
        for (var i = 0; i < configCount; i++) configs.Add(ReadExactly(r, r.ReadUInt16()));
        var bos = ReadExactly(r, r.ReadUInt16());
        return new UsbWireDevice(bus, address, ports, descriptor, configs, bos.Length == 0 ? null : bos);
    }

    private static byte[] ReadExactly(BinaryReader r, int count)
    {
        var b = r.ReadBytes(count);
        if (b.Length != count) throw new InvalidDataException($"LIST reply truncated: wanted {count} bytes, got {b.Length}");
        return b;
    }

    /// <summary>Maps a failure while serving a request to the libusb error number sent back.</summary>
    public static int ErrorCode(Exception error) => error switch
    {
        UsbException u => (int)u.Error,
        OperationCanceledException or TimeoutException => (int)UsbError.Timeout,
        ArgumentException => (int)UsbError.InvalidParam,
        NotSupportedException => (int)UsbError.NotSupported,
        _ => (int)UsbError.Other,
    };
}

/// <summary>A device that can report its BOS descriptor without a control transfer (hubs pair USB2/USB3 halves by its container id).</summary>
public interface IUsbBosSource
{
    /// <summary>The whole BOS descriptor (wTotalLength bytes), or null when the device has none.</summary>
    byte[]? GetRawBosDescriptor();
}
