using System.Buffers.Binary;
using System.Text;
using HilRig.Core.Spark;
using HilRig.Sim.Device.Bootloader;

namespace HilRig.Sim.Device.Firmware;

/// <summary>
/// Plausible Spark Core bootloader images (spark-core.md §2.2, §10): at 0x08000000, at most 19 KiB (pages 0-18), an
/// STM32F103 vector table with SP 0x20005000 and Thumb handlers inside the image, a Thumb-looking body, and a build
/// stamp "HILRIG-BOOTLOADER BL14" (or the candidate with its defects). The simulator cannot run ARM code, so a Core
/// reads the stamp on each reset to pick its behaviour; length and CRC-32 in the reserved vector words 7 and 8 (as
/// <see cref="AppIntegrity"/> does for apps) make a half-written or foreign image a garbage bootloader: the Core bricks.
/// </summary>
public static class SparkBootloaderImage
{
    public const string StampPrefix = "HILRIG-BOOTLOADER ";

    /// <summary>The 2014 build's size (BL14 `build/bootloader.bin`).</summary>
    public const int DefaultSize = 13720;

    /// <summary>Word 1 of the real 2014 build.</summary>
    private const uint Bl14ResetHandler = 0x0800010D;

    /// <summary>Vector table of the STM32F10x medium density: 16 core vectors + 43 IRQs, plus the BootRAM word.</summary>
    private const int VectorCount = 76;

    private static readonly int[] ReservedVectors = [7, 8, 9, 10, 13];

    /// <summary>An image of <paramref name="build"/>; same build and seed, same bytes.</summary>
    public static byte[] Generate(BootloaderBuild build, int seed = 1, int size = DefaultSize)
    {
        ArgumentNullException.ThrowIfNull(build);
        var stamp = Encoding.ASCII.GetBytes($"{StampPrefix}{build.Describe()}\0");
        var vectorBytes = VectorCount * 4;
        if (size < vectorBytes + 64 + stamp.Length || size > SparkMemoryMap.BootloaderMaxSize)
            throw new ArgumentOutOfRangeException(nameof(size), size, $"bootloader image size {size} is outside {vectorBytes + 64 + stamp.Length}..{SparkMemoryMap.BootloaderMaxSize} bytes");
        size = (size + 3) & ~3;
        var random = new Random(seed ^ 0x424C3134);
        var image = new byte[size];
        var rodataStart = vectorBytes + ((size - vectorBytes) * 7 / 8 & ~3);
        for (var offset = vectorBytes; offset + 1 < rodataStart; offset += 2)
            BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(offset), (ushort)(random.Next(4) == 0 ? 0xB500 | random.Next(256) : random.Next(0x10000)));
        random.NextBytes(image.AsSpan(rodataStart));
        stamp.CopyTo(image.AsSpan(rodataStart));

        BinaryPrimitives.WriteUInt32LittleEndian(image, SparkMemoryMap.SramTop);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(4), Bl14ResetHandler);
        for (var v = 2; v < VectorCount; v++)
        {
            var handler = ReservedVectors.Contains(v) ? 0u : SparkMemoryMap.BootloaderAddress + (uint)(random.Next(vectorBytes / 2, rodataStart / 2) * 2) + 1;
            BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(v * 4), handler);
        }
        return AppIntegrity.Stamp(image);
    }

    /// <summary>
    /// The build in a Core's bootloader pages, or null when they hold no intact image of ours (erased, half-written,
    /// foreign, garbage): then the CPU runs garbage from reset.
    /// </summary>
    public static BootloaderBuild? Read(ReadOnlySpan<byte> pages)
    {
        if (pages.Length < VectorCount * 4) return null;
        var sp = BinaryPrimitives.ReadUInt32LittleEndian(pages);
        var reset = BinaryPrimitives.ReadUInt32LittleEndian(pages[4..]);
        if (!AppImage.PassesStackPointerCheck(sp) || (reset & 1) == 0 || reset < SparkMemoryMap.BootloaderAddress
            || reset >= SparkMemoryMap.BootloaderAddress + SparkMemoryMap.BootloaderMaxSize)
            return null;
        if (AppIntegrity.Check(pages) != AppIntegrityResult.Intact) return null;
        var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(pages[(7 * 4)..]);
        var image = pages[..length];
        var prefix = Encoding.ASCII.GetBytes(StampPrefix);
        var at = image.IndexOf(prefix);
        if (at < 0) return null;
        var rest = image[(at + prefix.Length)..];
        var end = rest.IndexOf((byte)0);
        return end <= 0 ? null : BootloaderBuild.Parse(Encoding.ASCII.GetString(rest[..end]));
    }
}
