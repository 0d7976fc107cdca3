using System.Buffers.Binary;
using System.Globalization;

namespace HilRig.Core.Spark;

/// <summary>
/// A Core's device id: the 12 STM32 UID bytes in memory order, printed as 24 lowercase hex digits
/// (spark-core.md section 7), and the DFU serial string the bootloader derives from it (section 4.1).
/// </summary>
public static class SparkIdentity
{
    public const int UidLength = 12;
    public const int DeviceIdLength = UidLength * 2;

    /// <summary>Null when <paramref name="deviceId"/> is a valid device id, else a one-line reason.</summary>
    public static string? Validate(string? deviceId)
    {
        if (deviceId is null) return "device id is missing (expected 24 hex digits, e.g. 55ff6a065075555344121787)";
        if (deviceId.Length != DeviceIdLength)
            return $"device id '{deviceId}' has {deviceId.Length} characters; expected 24 hex digits, e.g. 55ff6a065075555344121787";
        foreach (var c in deviceId)
        {
            if (!Uri.IsHexDigit(c))
                return $"device id '{deviceId}' contains '{c}'; only hex digits 0-9 a-f are valid";
        }
        return null;
    }

    /// <summary>Lower-cases a valid id; throws <see cref="FormatException"/> with the reason otherwise.</summary>
    public static string Normalize(string deviceId)
    {
        var error = Validate(deviceId);
        if (error is not null) throw new FormatException(error);
        return deviceId.ToLowerInvariant();
    }

    public static byte[] ToUidBytes(string deviceId) => Convert.FromHexString(Normalize(deviceId));

    public static string FromUidBytes(ReadOnlySpan<byte> uid)
    {
        if (uid.Length != UidLength)
            throw new ArgumentException($"a UID has {UidLength} bytes, got {uid.Length}", nameof(uid));
        return Convert.ToHexStringLower(uid);
    }

    /// <summary>The DFU serial string: hex8(w0 + w2) + hex4(w1 >> 16), words little-endian from the UID.</summary>
    public static string DfuSerial(string deviceId)
    {
        var uid = ToUidBytes(deviceId);
        var w0 = BinaryPrimitives.ReadUInt32LittleEndian(uid.AsSpan(0, 4));
        var w1 = BinaryPrimitives.ReadUInt32LittleEndian(uid.AsSpan(4, 4));
        var w2 = BinaryPrimitives.ReadUInt32LittleEndian(uid.AsSpan(8, 4));
        unchecked
        {
            return (w0 + w2).ToString("X8", CultureInfo.InvariantCulture) + (w1 >> 16).ToString("X4", CultureInfo.InvariantCulture);
        }
    }

    /// <summary>A plausible device id from a seed (STM32 UIDs of Cores start with 0x5x 0xff).</summary>
    public static string Generate(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var uid = new byte[UidLength];
        random.NextBytes(uid);
        uid[0] = (byte)(0x50 | (uid[0] & 0x0F));
        uid[1] = 0xFF;
        return FromUidBytes(uid);
    }
}
