using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;

namespace HilRig.Core.Procedures;

/// <summary>
/// Where a flash region read back differently from what was written: bit errors by direction (a cell that
/// reads 0 where 1 was expected is stuck at 0; the reverse is stuck at 1), by bit position, and by sector.
/// Errors seen right after an erase are kept apart, because a sector that does not erase fully is a different
/// failure from a stuck cell.
/// </summary>
public sealed class BitErrorMap
{
    /// <summary>A sector with at least this many bits left at 0 by one erase failed to erase (a lone stuck cell is not an erase failure).</summary>
    public const int EraseFailureThreshold = 8;

    private readonly Dictionary<uint, SectorErrors> _sectors = [];

    public BitErrorMap(int sectorSize = 4096) => SectorSize = sectorSize;

    public int SectorSize { get; }

    public long ErrorBits { get; private set; }

    /// <summary>Expected 1, read 0.</summary>
    public long StuckAt0 { get; private set; }

    /// <summary>Expected 0, read 1.</summary>
    public long StuckAt1 { get; private set; }

    /// <summary>Bits that stayed 0 right after an erase.</summary>
    public long EraseErrorBits { get; private set; }

    public uint? FirstBadAddress { get; private set; }

    public long[] ByBitPosition { get; } = new long[8];

    public long BytesCompared { get; private set; }

    /// <summary>Sectors with any error, ascending.</summary>
    public IReadOnlyList<uint> BadSectors => [.. _sectors.Keys.Order()];

    /// <summary>
    /// Sectors that do not erase: one erase left at least <see cref="EraseFailureThreshold"/> bits at 0, or a second
    /// erase left different bits at 0 than the first (a stuck cell reads the same every time).
    /// </summary>
    public IReadOnlyList<uint> EraseFailedSectors =>
        [.. _sectors.Where(s => s.Value.EraseUnstable || s.Value.WorstEraseBits >= EraseFailureThreshold).Select(s => s.Key).Order()];

    /// <summary>Sectors with bits left at 0 by the last erase compared with <see cref="Compare"/>.</summary>
    public IReadOnlyList<uint> SectorsWithEraseErrors => [.. _sectors.Where(s => s.Value.WorstEraseBits > 0).Select(s => s.Key).Order()];

    /// <summary>A second erase of a sector left a different pattern of 0 bits: the sector does not erase reliably.</summary>
    public void MarkEraseUnstable(uint sector)
    {
        if (!_sectors.TryGetValue(sector, out var s)) _sectors[sector] = s = new SectorErrors();
        s.EraseUnstable = true;
    }

    public bool Clean => ErrorBits == 0;

    /// <summary>Bits expected to read 0 after programming, and how many of them read 1.</summary>
    public long ProgrammedZeroBits { get; private set; }

    public long ProgrammedZeroFailures { get; private set; }

    /// <summary>Compares one read-back block against what should be there.</summary>
    /// <param name="afterErase">The expected content is the erased state, so errors are erase errors.</param>
    public void Compare(uint address, ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, bool afterErase = false)
    {
        if (!afterErase)
        {
            var n = Math.Min(expected.Length, actual.Length);
            ProgrammedZeroBits += ZeroBits(expected[..n]);
            ProgrammedZeroFailures += ZeroBitsReadAsOne(expected[..n], actual[..n]);
        }
        if (expected.Length != actual.Length)
            throw new ArgumentException($"read back {actual.Length} bytes at 0x{address:X6}, expected {expected.Length}", nameof(actual));
        BytesCompared += expected.Length;
        var eraseBitsBySector = afterErase ? new Dictionary<uint, long>() : null;
        // every readback of a healthy region is all equal bytes: skip equal runs with the vectorized compare
        var i = 0;
        while (true)
        {
            var same = expected[i..].CommonPrefixLength(actual[i..]);
            i += same;
            if (i >= expected.Length) break;
            var diff = (byte)(expected[i] ^ actual[i]);
            var at = address + (uint)i;
            FirstBadAddress = FirstBadAddress is { } first ? Math.Min(first, at) : at;
            var count = BitOperations.PopCount(diff);
            var zeros = BitOperations.PopCount((uint)(diff & expected[i]));
            ErrorBits += count;
            StuckAt0 += zeros;
            StuckAt1 += count - zeros;
            for (var bit = 0; bit < 8; bit++)
                if ((diff & (1 << bit)) != 0) ByBitPosition[bit]++;
            var sector = at / (uint)SectorSize * (uint)SectorSize;
            if (!_sectors.TryGetValue(sector, out var s)) _sectors[sector] = s = new SectorErrors();
            s.Bits += count;
            if (eraseBitsBySector is not null)
            {
                EraseErrorBits += zeros;
                eraseBitsBySector[sector] = eraseBitsBySector.GetValueOrDefault(sector) + zeros;
            }
            i++;
        }
        if (eraseBitsBySector is null) return;
        foreach (var (sector, bits) in eraseBitsBySector)
            _sectors[sector].WorstEraseBits = Math.Max(_sectors[sector].WorstEraseBits, bits);
    }

    /// <summary>Bits at 0 in <paramref name="expected"/>, eight bytes at a time.</summary>
    private static long ZeroBits(ReadOnlySpan<byte> expected)
    {
        var words = MemoryMarshal.Cast<byte, ulong>(expected);
        long bits = 0;
        foreach (var w in words) bits += BitOperations.PopCount(~w);
        foreach (var b in expected[(words.Length * sizeof(ulong))..]) bits += BitOperations.PopCount((uint)(byte)~b);
        return bits;
    }

    /// <summary>Bits expected at 0 that read 1, eight bytes at a time.</summary>
    private static long ZeroBitsReadAsOne(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual)
    {
        var want = MemoryMarshal.Cast<byte, ulong>(expected);
        var got = MemoryMarshal.Cast<byte, ulong>(actual);
        long bits = 0;
        for (var i = 0; i < want.Length; i++) bits += BitOperations.PopCount(~want[i] & got[i]);
        for (var i = want.Length * sizeof(ulong); i < expected.Length; i++) bits += BitOperations.PopCount((uint)(byte)(~expected[i] & actual[i]));
        return bits;
    }

    /// <summary>One line a support engineer can read: what kind of defect, how much, where.</summary>
    public string Signature()
    {
        if (Clean) return "no bit errors";
        var sb = new StringBuilder();
        // A chip that programs nothing at all is dead (no JEDEC id) or still block-protected, not a few bad cells.
        if (ProgrammedZeroBits > 0 && ProgrammedZeroFailures * 10 >= ProgrammedZeroBits * 9)
            return $"no cell programs: {ProgrammedZeroFailures} of {ProgrammedZeroBits} bits read 1 after programming 0 (chip dead or write-protected)";
        var eraseFailed = EraseFailedSectors;
        if (eraseFailed.Count > 0)
            sb.Append($"erase failure in {eraseFailed.Count} sector(s) {string.Join(", ", eraseFailed.Select(s => $"0x{s:X6}"))}; ");
        sb.Append($"{ErrorBits} bit error(s): {StuckAt0} stuck-at-0, {StuckAt1} stuck-at-1");
        sb.Append($"; first at 0x{FirstBadAddress:X6}");
        sb.Append($"; {BadSectors.Count} sector(s) affected");
        return sb.ToString();
    }

    public BitErrorMapSummary ToSummary() => new(
        ErrorBits, StuckAt0, StuckAt1, EraseErrorBits, FirstBadAddress, [.. ByBitPosition],
        [.. BadSectors.Select(s => $"0x{s:X6}")], [.. EraseFailedSectors.Select(s => $"0x{s:X6}")], BytesCompared);

    private sealed class SectorErrors
    {
        public long Bits;
        public long WorstEraseBits;
        public bool EraseUnstable;
    }
}

/// <summary>The serialisable form stored as evidence.</summary>
public sealed record BitErrorMapSummary(
    long ErrorBits,
    long StuckAt0,
    long StuckAt1,
    long EraseErrorBits,
    uint? FirstBadAddress,
    long[] ByBitPosition,
    string[] BadSectors,
    string[] EraseFailedSectors,
    long BytesCompared);
