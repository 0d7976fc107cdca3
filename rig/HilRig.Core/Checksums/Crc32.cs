namespace HilRig.Core.Checksums;

/// <summary>
/// CRC-32 with the reflected polynomial 0xEDB88320 (zlib/IEEE): what the STM32 CRC unit computes with the Spark
/// firmware's bit reversal for OTA chunks, and (inverted, no final XOR) what a DFU suffix carries.
/// </summary>
public static class Crc32
{
    private static readonly uint[] Table = BuildTable();

    public static uint Compute(ReadOnlySpan<byte> data) => ~Update(0xFFFFFFFF, data);

    /// <summary>Continues a running CRC register (start with 0xFFFFFFFF; the zlib value is the complement of the end state).</summary>
    public static uint Update(uint register, ReadOnlySpan<byte> data)
    {
        foreach (var b in data)
            register = Table[(register ^ b) & 0xFF] ^ (register >> 8);
        return register;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++)
                c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        return table;
    }
}
