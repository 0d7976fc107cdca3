using HilRig.Core.Config;
namespace HilRig.Sim.Device.Flash;

/// <summary>One bit cell that reads the same value whatever was erased or programmed.</summary>
public readonly record struct StuckCell(uint Address, int Bit, bool StuckAtOne);

/// <summary>
/// The Core's external SST25VF016B at command level (spark-core.md section 1): 2 MiB in 512 sectors of 4 KiB,
/// erase sets 0xFF, programming only clears bits, block protection on at power-up. Commands take effect at once;
/// each erase/program returns how long the chip would hold BUSY, which the driver turns into device time.
/// Timing sources are in README.md next to this file.
/// </summary>
public sealed class Sst25vf016b
{
    public const int Size = 0x200000;
    public const int SectorSize = 0x1000;
    public const int SectorCount = Size / SectorSize;

    /// <summary>Faults are placed in the factory, backup and OTA slots only.</summary>
    public const uint FaultRegionStart = 0x20000;

    public const uint FaultRegionEnd = 0x80000;

    public const byte StatusBusy = 0x01;
    public const byte StatusWel = 0x02;
    public const byte StatusBp0 = 0x04;
    public const byte StatusBp1 = 0x08;
    public const byte StatusBp2 = 0x10;
    public const byte StatusBp3 = 0x20;
    public const byte StatusAai = 0x40;
    public const byte StatusBpl = 0x80;
    private const byte BpMask = StatusBp0 | StatusBp1 | StatusBp2 | StatusBp3;

    public static readonly TimeSpan SectorEraseTypical = TimeSpan.FromMilliseconds(18);
    public static readonly TimeSpan SectorEraseMax = TimeSpan.FromMilliseconds(25);
    public static readonly TimeSpan ChipEraseTypical = TimeSpan.FromMilliseconds(35);
    public static readonly TimeSpan ChipEraseMax = TimeSpan.FromMilliseconds(50);
    public static readonly TimeSpan ByteProgramTypical = TimeSpan.FromMicroseconds(7);
    public static readonly TimeSpan ByteProgramMax = TimeSpan.FromMicroseconds(10);

    private static readonly byte[] SstJedecId = [0xBF, 0x25, 0x41];

    /// <summary>
    /// The cells by 4 KiB sector; null is a sector whose cells all read 0xFF (erased). A Core's flash is mostly erased,
    /// and a rig of eight Cores allocating and filling 16 MiB at every open was a good part of a test run's memory traffic.
    /// </summary>
    private readonly byte[]?[] _sectors = new byte[SectorCount][];
    /// <summary>
    /// The stuck cells' addresses in order, and per address which bits are stuck and at what: a read finds the ones in
    /// its range by binary search (the bootloader copies an image a word at a time, 27,000 reads per copy).
    /// </summary>
    private uint[] _stuckAddresses = [];
    private (byte Mask, byte Value)[] _stuck = [];
    private readonly HashSet<int> _badSectors = [];
    private readonly Random _faultRandom;
    private byte _status;
    private bool _statusWriteArmed;
    private uint _aaiAddress;

    public Sst25vf016b(FlashCondition condition, int seed)
    {
        ArgumentNullException.ThrowIfNull(condition);
        Condition = condition;
        _faultRandom = new Random(seed);
        StuckCells = [];
        BadSectorAddresses = [];
        switch (condition)
        {
            case FlashCondition.StuckBits stuck:
                StuckCells = PlaceStuckCells(stuck.Count);
                break;
            case FlashCondition.BadSectors bad:
                BadSectorAddresses = PlaceBadSectors(bad.Count);
                break;
            case FlashCondition.Slow slow when !(slow.Factor > 0) || double.IsInfinity(slow.Factor):
                throw new ArgumentOutOfRangeException(nameof(condition), slow.Factor,
                    $"flash condition {condition.Describe()}: slow factor must be a positive number (1 = datasheet maximum)");
        }
        PowerCycle();
    }

    public FlashCondition Condition { get; }

    public bool IsDead => Condition is FlashCondition.Dead;

    /// <summary>Stuck cells in address order (empty unless the condition is StuckBits).</summary>
    public IReadOnlyList<StuckCell> StuckCells { get; }

    /// <summary>Start addresses of the sectors that do not erase fully, ascending.</summary>
    public IReadOnlyList<uint> BadSectorAddresses { get; }

    /// <summary>WP# pin level; only when it is low does BPL lock the BP bits.</summary>
    public bool WriteProtectPinLow { get; set; }

    public bool InAaiMode => (_status & StatusAai) != 0;

    public TimeSpan SectorEraseTime => OpTime(SectorEraseTypical, SectorEraseMax);

    public TimeSpan ChipEraseTime => OpTime(ChipEraseTypical, ChipEraseMax);

    public TimeSpan ByteProgramTime => OpTime(ByteProgramTypical, ByteProgramMax);

    /// <summary>AAI word program time: the datasheet gives no separate figure, so the byte-program time.</summary>
    public TimeSpan WordProgramTime => ByteProgramTime;

    /// <summary>Power loss and return: BP bits protect the whole array again, WEL and AAI are cleared.</summary>
    public void PowerCycle()
    {
        _status = BpMask;
        _statusWriteArmed = false;
    }

    /// <summary>0x9F.</summary>
    public byte[] JedecId()
    {
        _statusWriteArmed = false;
        return IsDead ? [0xFF, 0xFF, 0xFF] : (byte[])SstJedecId.Clone();
    }

    /// <summary>0x05. BUSY never reads set: commands complete at once and the driver charges the time.</summary>
    public byte ReadStatus() => IsDead ? (byte)0xFF : _status;

    /// <summary>0x06.</summary>
    public void WriteEnable()
    {
        if (!Accepting()) return;
        _status |= StatusWel;
    }

    /// <summary>0x04; also ends an AAI sequence.</summary>
    public void WriteDisable()
    {
        _statusWriteArmed = false;
        if (IsDead) return;
        _status &= unchecked((byte)~(StatusWel | StatusAai));
    }

    /// <summary>0x50: allows the next command to be WRSR.</summary>
    public void EnableWriteStatus()
    {
        if (!Accepting()) return;
        _statusWriteArmed = true;
    }

    /// <summary>0x01: writes BP0-3 and BPL; needs EWSR or WREN right before; BPL with WP# low locks them.</summary>
    public void WriteStatus(byte value)
    {
        var armed = _statusWriteArmed || (_status & StatusWel) != 0;
        if (!Accepting() || !armed) return;
        var locked = (_status & StatusBpl) != 0 && WriteProtectPinLow;
        if (!locked)
        {
            const byte writable = BpMask | StatusBpl;
            _status = (byte)((_status & ~writable) | (value & writable));
        }
        _status &= unchecked((byte)~StatusWel);
    }

    /// <summary>0x03. Stuck cells read their stuck value.</summary>
    public void Read(uint address, Span<byte> destination)
    {
        _statusWriteArmed = false;
        if (IsDead)
        {
            destination.Fill(0xFF);
            return;
        }
        // copied in bulk (wrapping at the end of the array as the chip's address counter does), then the stuck cells
        // in range overlaid: a readback reads megabytes, and a lookup per byte was most of its cost
        var start = (int)(address % Size);
        for (var done = 0; done < destination.Length;)
        {
            var from = (start + done) % Size;
            var n = Math.Min(destination.Length - done, SectorSize - from % SectorSize);
            if (_sectors[from / SectorSize] is { } sector) sector.AsSpan(from % SectorSize, n).CopyTo(destination[done..]);
            else destination.Slice(done, n).Fill(0xFF);
            done += n;
        }
        if (_stuckAddresses.Length == 0) return;
        for (var done = 0; done < destination.Length;)
        {
            var from = (start + done) % Size;
            var n = Math.Min(destination.Length - done, Size - from);
            var i = Array.BinarySearch(_stuckAddresses, (uint)from);
            for (i = i < 0 ? ~i : i; i < _stuckAddresses.Length && _stuckAddresses[i] < from + n; i++)
            {
                var k = done + (int)(_stuckAddresses[i] - from);
                destination[k] = (byte)((destination[k] & ~_stuck[i].Mask) | _stuck[i].Value);
            }
            done += n;
        }
    }

    /// <summary>0x20: erases the 4 KiB sector containing <paramref name="address"/>; returns the BUSY time (zero if ignored).</summary>
    public TimeSpan EraseSector(uint address)
    {
        if (!Accepting() || !ConsumeWel()) return TimeSpan.Zero;
        var sector = (int)((address % Size) / SectorSize);
        if (IsProtected((uint)(sector * SectorSize))) return TimeSpan.Zero;
        EraseCells(sector);
        return SectorEraseTime;
    }

    /// <summary>0xC7: only when no block is protected.</summary>
    public TimeSpan ChipErase()
    {
        if (!Accepting() || !ConsumeWel()) return TimeSpan.Zero;
        if ((_status & BpMask & ~StatusBp3) != 0) return TimeSpan.Zero;
        for (var sector = 0; sector < SectorCount; sector++) EraseCells(sector);
        return ChipEraseTime;
    }

    /// <summary>0x02.</summary>
    public TimeSpan ProgramByte(uint address, byte value)
    {
        if (!Accepting() || !ConsumeWel()) return TimeSpan.Zero;
        address %= Size;
        if (IsProtected(address)) return TimeSpan.Zero;
        Cell(address) &= value;
        return ByteProgramTime;
    }

    /// <summary>0xAD with address: enters AAI mode (needs WEL) and programs the word at the even address.</summary>
    public TimeSpan AaiWordStart(uint address, byte first, byte second)
    {
        if (!Accepting() || (_status & StatusWel) == 0) return TimeSpan.Zero;
        _status |= StatusAai;
        _aaiAddress = (address % Size) & ~1u;
        return AaiProgram(first, second);
    }

    /// <summary>0xAD without address: programs the next word; ignored outside AAI mode.</summary>
    public TimeSpan AaiWordNext(byte first, byte second)
    {
        _statusWriteArmed = false;
        if (IsDead || !InAaiMode) return TimeSpan.Zero;
        return AaiProgram(first, second);
    }

    /// <summary>
    /// What the factory programmer did before the Core shipped: erase the sectors covered and program
    /// <paramref name="data"/>, ignoring protection and time but with this chip's cell faults.
    /// </summary>
    public void ManufactureProgram(uint address, ReadOnlySpan<byte> data)
    {
        if (address + (long)data.Length > Size)
            throw new ArgumentOutOfRangeException(nameof(address), address, $"0x{address:X}+{data.Length} lies beyond the 2 MiB SPI flash");
        if (IsDead || data.IsEmpty) return;
        var first = (int)(address / SectorSize);
        var last = (int)((address + data.Length - 1) / SectorSize);
        for (var sector = first; sector <= last; sector++) EraseCells(sector);
        for (var i = 0; i < data.Length; i++) Cell((uint)(address + i)) &= data[i];
    }

    private TimeSpan AaiProgram(byte first, byte second)
    {
        if (_aaiAddress >= Size)
        {
            _status &= unchecked((byte)~(StatusAai | StatusWel));
            return TimeSpan.Zero;
        }
        if (!IsProtected(_aaiAddress))
        {
            Cell(_aaiAddress) &= first;
            Cell(_aaiAddress + 1) &= second;
        }
        _aaiAddress += 2;
        return WordProgramTime;
    }

    /// <summary>A dead chip ignores everything; in AAI mode only AAI, WRDI and RDSR are accepted.</summary>
    private bool Accepting()
    {
        _statusWriteArmed = false;
        return !IsDead && !InAaiMode;
    }

    private bool ConsumeWel()
    {
        var wel = (_status & StatusWel) != 0;
        _status &= unchecked((byte)~StatusWel);
        return wel;
    }

    /// <summary>SST25VF016B block protection: BP2..BP0 protect the top 1/32 .. all of the array; BP3 is don't-care.</summary>
    private bool IsProtected(uint address)
    {
        var level = (_status >> 2) & 0x7;
        if (level == 0) return false;
        if (level >= 6) return true;
        var protectedBytes = Size >> (6 - level);
        return address >= Size - protectedBytes;
    }

    private void EraseCells(int sector)
    {
        if (!_badSectors.Contains(sector))
        {
            _sectors[sector] = null;
            return;
        }
        var start = sector * SectorSize;
        (_sectors[sector] ??= new byte[SectorSize]).AsSpan().Fill(0xFF);
        // Incomplete erase: a few cells keep their charge; which ones follows the chip's seeded history.
        var residue = 1 + _faultRandom.Next(16);
        for (var i = 0; i < residue; i++)
        {
            var offset = _faultRandom.Next(SectorSize);
            Cell((uint)(start + offset)) &= (byte)~(1 << _faultRandom.Next(8));
        }
    }

    private TimeSpan OpTime(TimeSpan typical, TimeSpan max) =>
        Condition is FlashCondition.Slow slow ? max * slow.Factor : typical;

    private StuckCell[] PlaceStuckCells(int count)
    {
        const long bits = (long)(FaultRegionEnd - FaultRegionStart) * 8;
        if (count < 1 || count > bits)
            throw new ArgumentOutOfRangeException(nameof(count), count,
                $"flash condition {{ stuckBits: {count} }}: count must be 1..{bits} (bits in 0x{FaultRegionStart:X}-0x{FaultRegionEnd - 1:X})");
        var chosen = new HashSet<long>();
        var cells = new List<StuckCell>(count);
        while (cells.Count < count)
        {
            var bit = _faultRandom.NextInt64(bits);
            if (!chosen.Add(bit)) continue;
            cells.Add(new StuckCell(FaultRegionStart + (uint)(bit / 8), (int)(bit % 8), _faultRandom.Next(2) == 1));
        }
        cells.Sort((a, b) => a.Address != b.Address ? a.Address.CompareTo(b.Address) : a.Bit.CompareTo(b.Bit));
        var stuck = new SortedDictionary<uint, (byte Mask, byte Value)>();
        foreach (var cell in cells)
        {
            stuck.TryGetValue(cell.Address, out var entry);
            var mask = (byte)(1 << cell.Bit);
            stuck[cell.Address] = ((byte)(entry.Mask | mask), cell.StuckAtOne ? (byte)(entry.Value | mask) : entry.Value);
        }
        _stuckAddresses = [.. stuck.Keys];
        _stuck = [.. stuck.Values];
        return [.. cells];
    }

    private uint[] PlaceBadSectors(int count)
    {
        const int first = (int)(FaultRegionStart / SectorSize);
        const int sectors = (int)((FaultRegionEnd - FaultRegionStart) / SectorSize);
        if (count < 1 || count > sectors)
            throw new ArgumentOutOfRangeException(nameof(count), count,
                $"flash condition {{ badSectors: {count} }}: count must be 1..{sectors} (sectors in 0x{FaultRegionStart:X}-0x{FaultRegionEnd - 1:X})");
        while (_badSectors.Count < count) _badSectors.Add(first + _faultRandom.Next(sectors));
        return [.. _badSectors.Order().Select(s => (uint)(s * SectorSize))];
    }

    /// <summary>The raw cell contents, for saving a simulated Core between runs (not a chip operation).</summary>
    public byte[] SnapshotCells()
    {
        var cells = new byte[Size];
        Read(0, cells);
        foreach (var address in _stuckAddresses)
            cells[address] = _sectors[address / SectorSize]?[address % SectorSize] ?? 0xFF;
        return cells;
    }

    /// <summary>Puts saved cell contents back (not a chip operation; faults still apply to later reads).</summary>
    public void RestoreCells(ReadOnlySpan<byte> cells)
    {
        if (cells.Length != Size)
            throw new ArgumentException($"saved state holds {cells.Length} bytes, this flash has {Size}", nameof(cells));
        for (var sector = 0; sector < SectorCount; sector++)
        {
            var saved = cells.Slice(sector * SectorSize, SectorSize);
            _sectors[sector] = saved.ContainsAnyExcept((byte)0xFF) ? saved.ToArray() : null;
        }
    }

    /// <summary>One cell, its sector made real (erased) on first write.</summary>
    private ref byte Cell(uint address)
    {
        ref var sector = ref _sectors[address / SectorSize];
        if (sector is null)
        {
            sector = new byte[SectorSize];
            sector.AsSpan().Fill(0xFF);
        }
        return ref sector[address % SectorSize];
    }
}
