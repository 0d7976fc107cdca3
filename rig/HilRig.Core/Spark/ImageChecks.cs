using System.Buffers.Binary;
using System.Globalization;
using HilRig.Core.Checksums;

namespace HilRig.Core.Spark;

/// <summary>
/// What an image must be before the rig writes or sends it (spark-core.md §10): it fits its region, its vector table is
/// a Spark app's (SP inside SRAM, Thumb handlers inside the app area), and a .dfu suffix, when there is one, matches
/// its CRC. A garbage file is then bad input, never a verdict on the Core it would have bricked.
/// </summary>
public static class ImageChecks
{
    /// <summary>bcdDevice, idProduct, idVendor, bcdDFU, "UFD", bLength, dwCRC (DFU 1.1 appendix B).</summary>
    public const int DfuSuffixLength = 16;

    /// <summary>Cortex-M3 core vectors the app must provide: SP, Reset, NMI, HardFault.</summary>
    private const int CheckedVectors = 4;

    /// <summary>Null when <paramref name="bytes"/> is an app image that may go to the app area or an image slot; else one line naming <paramref name="source"/>.</summary>
    public static string? ValidateApp(ReadOnlySpan<byte> bytes, string source)
    {
        if (AppImage.ValidateSize(bytes, source) is { } size) return size;
        if (bytes.Length < CheckedVectors * 4)
            return $"{source}: {bytes.Length} bytes is too short for a vector table (at least {CheckedVectors * 4})";
        var sp = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        if (!AppImage.PassesStackPointerCheck(sp) || sp <= SparkMemoryMap.SramBase || sp > SparkMemoryMap.SramTop)
            return Invariant($"{source}: word 0 (initial stack pointer) is 0x{sp:X8}; a Spark app's lies in SRAM 0x{SparkMemoryMap.SramBase + 1:X8}..0x{SparkMemoryMap.SramTop:X8} (usually 0x{SparkMemoryMap.SramTop:X8}): not an app image");
        string[] names = ["", "reset handler", "NMI handler", "HardFault handler"];
        var end = SparkMemoryMap.AppAddress + (uint)bytes.Length;
        for (var v = 1; v < CheckedVectors; v++)
        {
            var handler = BinaryPrimitives.ReadUInt32LittleEndian(bytes[(v * 4)..]);
            if ((handler & 1) == 0 || handler < SparkMemoryMap.AppAddress || handler >= end)
                return Invariant($"{source}: vector {v} ({names[v]}) is 0x{handler:X8}; a Spark app's is an odd (Thumb) address inside the image at 0x{SparkMemoryMap.AppAddress:X8}..0x{end - 1:X8}: not an app image");
        }
        return null;
    }

    /// <summary>True when the file ends in a DFU suffix ("UFD" signature, bLength 16).</summary>
    public static bool HasDfuSuffix(ReadOnlySpan<byte> file) =>
        file.Length >= DfuSuffixLength && file[^6] == 'D' && file[^7] == 'F' && file[^8] == 'U' && file[^5] == DfuSuffixLength;

    /// <summary>Null when the suffix's CRC matches the file (CRC-32 without the final inversion, as dfu-suffix writes it), else one line.</summary>
    public static string? ValidateDfuSuffix(ReadOnlySpan<byte> file, string source)
    {
        var stored = BinaryPrimitives.ReadUInt32LittleEndian(file[^4..]);
        var computed = Crc32.Update(0xFFFFFFFF, file[..^4]);
        return stored == computed ? null
            : Invariant($"{source}: the .dfu suffix's CRC is 0x{stored:X8} but the file's is 0x{computed:X8}: the file is damaged (rebuild it, or write the raw .bin)");
    }

    /// <summary>
    /// Checks a file for `dfu download` at <paramref name="alt"/>/<paramref name="address"/> and returns the bytes to
    /// write (a valid .dfu suffix stripped), or the one-line reason it must not be written.
    /// </summary>
    public static (byte[]? Data, string? Error) ForDownload(byte[] file, int alt, uint address, string source)
    {
        var data = file;
        if (HasDfuSuffix(file))
        {
            if (ValidateDfuSuffix(file, source) is { } crc) return (null, crc);
            data = file[..^DfuSuffixLength];
        }
        var image = alt == 0 ? address == SparkMemoryMap.AppAddress
            : alt == 1 && SparkMemoryMap.ImageRegions.Any(r => r.Start == address);
        if (alt == 1 && SparkMemoryMap.ImageRegions.FirstOrDefault(r => r.Contains(address)) is { } region && address + (long)data.Length > region.End)
            return (null, Invariant($"{source}: {data.Length} bytes at 0x{address:X6} run past the end of the {region.Name} region (0x{region.Start:X6}..0x{region.End - 1:X6}); valid: at most {region.End - address} bytes there"));
        if (alt == 0 && address >= SparkMemoryMap.AppAddress && address + (long)data.Length > SparkMemoryMap.AppEndExclusive)
            return (null, Invariant($"{source}: {data.Length} bytes at 0x{address:X8} run past the end of the app area (0x{SparkMemoryMap.AppEndExclusive - 1:X8}); valid: at most {SparkMemoryMap.AppEndExclusive - address} bytes there"));
        if (image && ValidateApp(data, source) is { } bad) return (null, bad);
        return (data, null);
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
