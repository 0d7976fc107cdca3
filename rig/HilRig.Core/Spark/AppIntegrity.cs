using System.Buffers.Binary;
using HilRig.Core.Checksums;

namespace HilRig.Core.Spark;

public enum AppIntegrityResult
{
    /// <summary>A generated image whose bytes are as built: it runs.</summary>
    Intact,

    /// <summary>A generated image with changed bytes: the simulated CPU crashes in it, as a real one would.</summary>
    Corrupt,

    /// <summary>Not one of ours (no stamp): run it if it looks like a Spark app.</summary>
    Foreign,
}

/// <summary>
/// The simulator cannot execute ARM code, so generated images carry their length and CRC-32 in vector-table words
/// 7 and 8, which are reserved on Cortex-M3 and zero in real builds. An image whose bytes changed (a stuck bit in
/// the factory slot, a chunk lost in an OTA) then crashes in the simulator exactly when it would on a Core.
/// </summary>
public static class AppIntegrity
{
    private const int LengthOffset = 7 * 4;
    private const int CrcOffset = 8 * 4;

    public static byte[] Stamp(byte[] image)
    {
        if (image.Length < CrcOffset + 4) throw new ArgumentException("image shorter than a vector table", nameof(image));
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(LengthOffset), (uint)image.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(CrcOffset), 0);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(CrcOffset), Crc(image));
        return image;
    }

    /// <summary>Checks an image, or the whole app area it was copied into (bytes past the image are ignored).</summary>
    public static AppIntegrityResult Check(ReadOnlySpan<byte> area)
    {
        if (area.Length < CrcOffset + 4) return AppIntegrityResult.Corrupt;
        var length = BinaryPrimitives.ReadUInt32LittleEndian(area[LengthOffset..]);
        var crc = BinaryPrimitives.ReadUInt32LittleEndian(area[CrcOffset..]);
        if (length == 0 && crc == 0)
            return new AppImage(area).LooksLikeSparkApp ? AppIntegrityResult.Foreign : AppIntegrityResult.Corrupt;
        if (length < CrcOffset + 4 || length > area.Length || length > SparkMemoryMap.AppMaxSize) return AppIntegrityResult.Corrupt;
        var copy = area[..(int)length].ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(CrcOffset), 0);
        return Crc(copy) == crc ? AppIntegrityResult.Intact : AppIntegrityResult.Corrupt;
    }

    private static uint Crc(ReadOnlySpan<byte> image) => Crc32.Compute(image);
}
