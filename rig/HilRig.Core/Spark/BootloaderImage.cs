using System.Buffers.Binary;
using System.Globalization;

namespace HilRig.Core.Spark;

/// <summary>
/// What the host checks of a bootloader file before it flashes one (spark-core.md §2.2, §10): it fits pages 0-18 at
/// 0x08000000 (19 KiB; page 19 holds the system flags) and starts with a Cortex-M3 vector table: word 0 an initial
/// stack pointer in the Core's 20 KiB SRAM, word 1 a Thumb reset handler inside the image.
/// </summary>
public static class BootloaderImage
{
    /// <summary>Null if <paramref name="bytes"/> can go to 0x08000000, else one line naming <paramref name="source"/> and the problem.</summary>
    public static string? Validate(ReadOnlySpan<byte> bytes, string source)
    {
        var max = SparkMemoryMap.BootloaderMaxSize;
        if (bytes.Length == 0) return $"{source}: the file is empty; a Core bootloader image has 8..{max} bytes";
        if (bytes.Length > max)
            return string.Create(CultureInfo.InvariantCulture,
                $"{source}: {bytes.Length} bytes; a Core bootloader fits pages 0-18 at 0x08000000, at most {max} bytes (page 19 holds the system flags)");
        if (bytes.Length < 8) return $"{source}: {bytes.Length} bytes, too short for a vector table (at least 8)";
        var sp = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        var reset = BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]);
        if (sp <= SparkMemoryMap.SramBase || sp > SparkMemoryMap.SramTop || (sp & 3) != 0)
            return $"{source}: no valid vector table: word 0 (initial stack pointer) is 0x{sp:X8}, expected a word address in SRAM 0x{SparkMemoryMap.SramBase:X8}-0x{SparkMemoryMap.SramTop:X8}";
        var end = SparkMemoryMap.BootloaderAddress + (uint)bytes.Length;
        if ((reset & 1) == 0 || reset < SparkMemoryMap.BootloaderAddress || reset >= end)
            return $"{source}: no valid vector table: word 1 (reset handler) is 0x{reset:X8}, expected an odd (Thumb) address inside the image, 0x{SparkMemoryMap.BootloaderAddress:X8}-0x{end - 1:X8}";
        return null;
    }
}
