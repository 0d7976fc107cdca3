using System.Buffers.Binary;
using System.Text;

namespace HilRig.Core.Usb;

public static class UsbDescriptorType
{
    public const byte Device = 1;
    public const byte Configuration = 2;
    public const byte String = 3;
    public const byte Interface = 4;
    public const byte Endpoint = 5;
    public const byte Bos = 0x0F;
    public const byte DeviceCapability = 0x10;
    public const byte DfuFunctional = 0x21;
    public const byte Hub = 0x29;
    public const byte SuperSpeedHub = 0x2A;
}

public static class UsbRequest
{
    public const byte GetStatus = 0;
    public const byte ClearFeature = 1;
    public const byte SetFeature = 3;
    public const byte GetDescriptor = 6;
    public const byte GetConfiguration = 8;
}

/// <summary>The 18-byte device descriptor.</summary>
public sealed record UsbDeviceDescriptor(
    ushort BcdUsb,
    byte DeviceClass,
    byte DeviceSubClass,
    byte DeviceProtocol,
    byte MaxPacketSize0,
    ushort VendorId,
    ushort ProductId,
    ushort BcdDevice,
    byte ManufacturerIndex,
    byte ProductIndex,
    byte SerialNumberIndex,
    byte NumConfigurations)
{
    public const int Length = 18;

    public string VidPid => $"{VendorId:x4}:{ProductId:x4}";

    public byte[] ToBytes()
    {
        var b = new byte[Length];
        b[0] = Length;
        b[1] = UsbDescriptorType.Device;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(2), BcdUsb);
        b[4] = DeviceClass;
        b[5] = DeviceSubClass;
        b[6] = DeviceProtocol;
        b[7] = MaxPacketSize0;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(8), VendorId);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(10), ProductId);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(12), BcdDevice);
        b[14] = ManufacturerIndex;
        b[15] = ProductIndex;
        b[16] = SerialNumberIndex;
        b[17] = NumConfigurations;
        return b;
    }

    public static UsbDeviceDescriptor Parse(ReadOnlySpan<byte> b)
    {
        if (b.Length < Length || b[1] != UsbDescriptorType.Device)
            throw new FormatException($"not a device descriptor ({b.Length} bytes, type 0x{(b.Length > 1 ? b[1] : 0):X2})");
        return new UsbDeviceDescriptor(
            BinaryPrimitives.ReadUInt16LittleEndian(b[2..]), b[4], b[5], b[6], b[7],
            BinaryPrimitives.ReadUInt16LittleEndian(b[8..]), BinaryPrimitives.ReadUInt16LittleEndian(b[10..]),
            BinaryPrimitives.ReadUInt16LittleEndian(b[12..]), b[14], b[15], b[16], b[17]);
    }
}

public sealed record UsbEndpoint(byte Address, byte Attributes, ushort MaxPacketSize, byte Interval, byte[] Extra);

public sealed record UsbAltSetting(
    byte InterfaceNumber,
    byte AlternateSetting,
    byte InterfaceClass,
    byte InterfaceSubClass,
    byte InterfaceProtocol,
    byte InterfaceStringIndex,
    IReadOnlyList<UsbEndpoint> Endpoints,
    byte[] Extra);

public sealed record UsbInterface(byte Number, IReadOnlyList<UsbAltSetting> AltSettings);

public sealed record UsbConfiguration(
    ushort TotalLength,
    byte ConfigurationValue,
    byte ConfigurationStringIndex,
    byte Attributes,
    byte MaxPower,
    IReadOnlyList<UsbInterface> Interfaces,
    byte[] Extra)
{
    /// <summary>
    /// Parses a whole configuration descriptor the way libusb does: "extra" holds the bytes after a descriptor up
    /// to the next interface/endpoint/config/device descriptor; consecutive interface descriptors with the same
    /// number become alt settings of one interface.
    /// </summary>
    public static UsbConfiguration Parse(ReadOnlySpan<byte> raw)
    {
        if (raw.Length < 9 || raw[1] != UsbDescriptorType.Configuration)
            throw new FormatException("not a configuration descriptor");
        var total = BinaryPrimitives.ReadUInt16LittleEndian(raw[2..]);
        if (total > raw.Length) throw new FormatException($"configuration descriptor truncated: wTotalLength {total}, got {raw.Length}");
        var data = raw[..total];
        var pos = (int)data[0];
        var configExtra = TakeExtra(data, ref pos);

        var interfaces = new List<(byte Number, List<UsbAltSetting> Alts)>();
        while (pos + 2 <= data.Length)
        {
            var len = data[pos];
            if (len < 2 || pos + len > data.Length) throw new FormatException($"bad descriptor length {len} at offset {pos}");
            var type = data[pos + 1];
            if (type != UsbDescriptorType.Interface)
            {
                pos += len; // stray descriptor between interfaces
                continue;
            }
            if (len < 9) throw new FormatException($"short interface descriptor at offset {pos}");
            var d = data.Slice(pos, len);
            pos += len;
            var ifExtra = TakeExtra(data, ref pos);
            var endpoints = new List<UsbEndpoint>();
            for (var e = 0; e < d[4] && pos + 7 <= data.Length && data[pos + 1] == UsbDescriptorType.Endpoint; e++)
            {
                var ed = data.Slice(pos, data[pos]);
                pos += ed.Length;
                endpoints.Add(new UsbEndpoint(ed[2], ed[3], BinaryPrimitives.ReadUInt16LittleEndian(ed[4..]), ed[6], TakeExtra(data, ref pos)));
            }
            var alt = new UsbAltSetting(d[2], d[3], d[5], d[6], d[7], d[8], endpoints, ifExtra);
            if (interfaces.Count > 0 && interfaces[^1].Number == alt.InterfaceNumber)
                interfaces[^1].Alts.Add(alt);
            else
                interfaces.Add((alt.InterfaceNumber, [alt]));
        }
        return new UsbConfiguration(total, data[5], data[6], data[7], data[8],
            interfaces.Select(i => new UsbInterface(i.Number, i.Alts)).ToList(), configExtra);
    }

    private static byte[] TakeExtra(ReadOnlySpan<byte> data, ref int pos)
    {
        var start = pos;
        while (pos + 2 <= data.Length)
        {
            var type = data[pos + 1];
            if (type is UsbDescriptorType.Interface or UsbDescriptorType.Endpoint or UsbDescriptorType.Configuration or UsbDescriptorType.Device) break;
            if (data[pos] < 2) break;
            pos += data[pos];
        }
        pos = Math.Min(pos, data.Length);
        return data[start..pos].ToArray();
    }
}

public static class UsbStrings
{
    /// <summary>Encodes a string descriptor (bLength, type 3, UTF-16LE).</summary>
    public static byte[] Encode(string text)
    {
        var body = Encoding.Unicode.GetBytes(text);
        if (body.Length + 2 > 255) throw new ArgumentException("string descriptor longer than 255 bytes", nameof(text));
        var b = new byte[body.Length + 2];
        b[0] = (byte)b.Length;
        b[1] = UsbDescriptorType.String;
        body.CopyTo(b, 2);
        return b;
    }

    public static string Decode(ReadOnlySpan<byte> descriptor)
    {
        if (descriptor.Length < 2 || descriptor[1] != UsbDescriptorType.String) throw new FormatException("not a string descriptor");
        var len = Math.Min(descriptor[0], descriptor.Length) & ~1;
        return Encoding.Unicode.GetString(descriptor[2..len]);
    }

    /// <summary>Reads string descriptor <paramref name="index"/> with the device's first language, as libusb_get_string_descriptor does.</summary>
    public static async Task<string> ReadAsync(IUsbDeviceHandle handle, byte index, CancellationToken ct = default)
    {
        if (index == 0) throw new ArgumentOutOfRangeException(nameof(index), "string index 0 holds the language ids");
        var langs = new byte[255];
        var n = await handle.ControlTransferAsync(new UsbSetup(0x80, UsbRequest.GetDescriptor, (ushort)(UsbDescriptorType.String << 8), 0, 255), langs, TimeSpan.FromSeconds(1), ct);
        if (n < 4) throw new UsbException(UsbError.Io, $"device returned no language id ({n} bytes)");
        var lang = BinaryPrimitives.ReadUInt16LittleEndian(langs.AsSpan(2));
        var buf = new byte[255];
        n = await handle.ControlTransferAsync(new UsbSetup(0x80, UsbRequest.GetDescriptor, (ushort)((UsbDescriptorType.String << 8) | index), lang, 255), buf, TimeSpan.FromSeconds(1), ct);
        return Decode(buf.AsSpan(0, n));
    }
}
