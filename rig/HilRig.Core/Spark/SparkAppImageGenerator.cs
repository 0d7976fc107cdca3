using System.Buffers.Binary;
using System.Text;

namespace HilRig.Core.Spark;

/// <summary>
/// Plausible Spark application images from a seed (spark-core.md section 10): an STM32F103 vector table with
/// SP 0x20005000 and odd handlers inside the image, a Thumb-looking body and an identity string
/// "HILRIG-APP name version" that <see cref="ReadIdentity"/> finds again. Same seed, same bytes.
/// </summary>
public static class SparkAppImageGenerator
{
    public const string IdentityPrefix = "HILRIG-APP ";

    /// <summary>spark_2 Tinker, the size used in the "yellow flash of death" read-back test.</summary>
    public const int DefaultSize = 68216;

    public const int MinSize = 1024;
    public const int MaxSize = SparkMemoryMap.AppMaxSize;

    /// <summary>Tinker builds from spark_0 (59 252 bytes) to the 2015 spark-cli binary (79 996 bytes).</summary>
    public const int TinkerMinSize = 59252;

    public const int TinkerMaxSize = 79996;

    /// <summary>STM32F10x medium density: 16 core vectors + 43 IRQs, plus the BootRAM word.</summary>
    private const int VectorCount = 76;

    // Cortex-M3 reserved core vectors hold 0.
    private static readonly int[] ReservedVectors = [7, 8, 9, 10, 13];

    private static readonly ushort[] ThumbOpcodes =
    [
        0xB500, 0xB510, 0xB530, 0xB570, 0xBD00, 0xBD10, 0xBD30, 0xBD70, 0x4770, 0x2000, 0x2001, 0x6800, 0x6008,
        0x4618, 0x4608, 0x3001, 0x1C40, 0x4290, 0xD100, 0xD000, 0xE000, 0x6818, 0x6018, 0x7800, 0x7008, 0x4B00, 0xBF00,
    ];

    /// <summary>An application image of <paramref name="size"/> bytes (odd sizes round up to even, as spark-cli pads).</summary>
    public static byte[] Generate(int seed, string name = "app", string version = "1.0.0", int size = DefaultSize)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(version);
        if (size < MinSize || size > MaxSize)
            throw new ArgumentOutOfRangeException(nameof(size), size, $"app image size {size} is outside {MinSize}..{MaxSize} bytes");
        if (name.Any(char.IsWhiteSpace) || version.Any(char.IsWhiteSpace))
            throw new ArgumentException($"app name '{name}' and version '{version}' must not contain spaces", nameof(name));
        size = (size + 1) & ~1;

        var random = new Random(seed);
        var image = new byte[size];
        var identity = Encoding.ASCII.GetBytes($"{IdentityPrefix}{name} {version}\0");
        var vectorBytes = VectorCount * 4;
        // Layout like a GCC build: vectors, .text, .rodata (identity here), then .data initialisers.
        var rodataStart = vectorBytes + ((size - vectorBytes) * 3 / 4 & ~3);
        var codeEnd = Math.Min(rodataStart, size);
        if (vectorBytes + 16 > codeEnd || rodataStart + identity.Length > size)
            throw new ArgumentOutOfRangeException(nameof(size), size, $"app image size {size} is too small for '{name} {version}'");

        for (var offset = vectorBytes; offset + 1 < codeEnd; offset += 2)
            BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(offset), ThumbHalfWord(random));
        random.NextBytes(image.AsSpan(codeEnd));
        identity.CopyTo(image.AsSpan(rodataStart));

        BinaryPrimitives.WriteUInt32LittleEndian(image, SparkMemoryMap.SramTop);
        var defaultHandler = Handler(random, vectorBytes, codeEnd);
        for (var v = 1; v < VectorCount; v++)
        {
            uint handler = ReservedVectors.Contains(v) ? 0
                : v < 16 || random.Next(4) == 0 ? Handler(random, vectorBytes, codeEnd)
                : defaultHandler;
            BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(v * 4), handler);
        }
        // Reserved vectors 7 and 8 carry length and CRC-32, so the simulated CPU can tell a corrupted copy.
        return AppIntegrity.Stamp(image);
    }

    /// <summary>The default factory image: Tinker with a seeded size between the spark_0 and 2015 builds.</summary>
    public static byte[] Tinker(int seed)
    {
        var size = new Random(seed).Next(TinkerMinSize, TinkerMaxSize + 1);
        return Generate(seed, "tinker", "spark_" + (seed & 0x7FFF).ToString(System.Globalization.CultureInfo.InvariantCulture), size);
    }

    /// <summary>"name version" of an image made here, or null if there is no identity string (e.g. corrupted or foreign).</summary>
    public static string? ReadIdentity(ReadOnlySpan<byte> image)
    {
        var prefix = Encoding.ASCII.GetBytes(IdentityPrefix);
        var at = image.IndexOf(prefix);
        if (at < 0) return null;
        var rest = image[(at + prefix.Length)..];
        var end = rest.IndexOf((byte)0);
        if (end <= 0 || end > 200) return null;
        return Encoding.ASCII.GetString(rest[..end]);
    }

    private static uint Handler(Random random, int codeStart, int codeEnd)
    {
        var offset = random.Next(codeStart / 2, codeEnd / 2) * 2;
        return SparkMemoryMap.AppAddress + (uint)offset + 1;
    }

    private static ushort ThumbHalfWord(Random random)
    {
        var roll = random.Next(8);
        if (roll < 5)
        {
            // Common 16-bit encodings with a random register/immediate field.
            var op = ThumbOpcodes[random.Next(ThumbOpcodes.Length)];
            return (ushort)(op | (random.Next(256) & (op >= 0xB000 ? 0x00 : 0xFF) & 0x3F));
        }
        return roll == 5 ? (ushort)(0xF000 | random.Next(0x800)) : (ushort)random.Next(0x10000);
    }
}
