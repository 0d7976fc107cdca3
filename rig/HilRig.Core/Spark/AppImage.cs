using System.Buffers.Binary;

namespace HilRig.Core.Spark;

/// <summary>
/// What a Spark application image looks like to the bootloader and to a human (spark-core.md section 10):
/// word 0 = initial stack pointer, word 1 = reset handler.
/// </summary>
public sealed class AppImage
{
    private readonly byte[] _bytes;

    public AppImage(ReadOnlySpan<byte> bytes)
    {
        _bytes = bytes.ToArray();
    }

    public int Length => _bytes.Length;

    public ReadOnlySpan<byte> Bytes => _bytes;

    /// <summary>Word 0; 0xFFFFFFFF (erased) when the image is shorter than a word.</summary>
    public uint InitialStackPointer => Word(0);

    public uint ResetHandler => Word(1);

    /// <summary>The only check the bootloader makes before jumping: a plausible SRAM stack pointer.</summary>
    public bool PassesBootloaderCheck => PassesStackPointerCheck(InitialStackPointer);

    /// <summary>Looks like a real Spark build: SP at the top of SRAM and a Thumb reset handler inside the app area.</summary>
    public bool LooksLikeSparkApp =>
        InitialStackPointer == SparkMemoryMap.SramTop
        && (ResetHandler & 1) == 1
        && ResetHandler >= SparkMemoryMap.AppAddress
        && ResetHandler < SparkMemoryMap.AppEndExclusive;

    public bool FitsAppArea => _bytes.Length <= SparkMemoryMap.AppMaxSize;

    public static bool PassesStackPointerCheck(uint word0) => (word0 & 0x2FFE0000) == 0x20000000;

    /// <summary>Null if <paramref name="bytes"/> can go to the app area, else a one-line reason naming <paramref name="source"/>.</summary>
    public static string? ValidateSize(ReadOnlySpan<byte> bytes, string source)
    {
        if (bytes.Length == 0) return $"{source}: image is empty; expected 8..{SparkMemoryMap.AppMaxSize} bytes";
        if (bytes.Length < 8) return $"{source}: image has {bytes.Length} bytes, too short for a vector table (at least 8)";
        if (bytes.Length > SparkMemoryMap.AppMaxSize)
            return $"{source}: image has {bytes.Length} bytes; the app area holds at most {SparkMemoryMap.AppMaxSize}";
        return null;
    }

    private uint Word(int index)
    {
        var offset = index * 4;
        return offset + 4 <= _bytes.Length ? BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan(offset, 4)) : 0xFFFFFFFF;
    }
}
