using System.Buffers.Binary;
using HilRig.Core.Spark;

namespace HilRig.Sim.Device.Flash;

/// <summary>
/// The STM32F103CB's 128 KiB internal flash (1 KiB pages at 0x08000000) with the flash controller's rules:
/// half-word programming, a non-erased half-word can only be overwritten with 0x0000 (else PGERR, data kept),
/// and optional option-byte write protection of the bootloader pages 0-15 (WRPRTERR, nothing changes).
/// Error flags are sticky like FLASH_SR: while one is set, FLASH_ProgramWord-style calls do nothing.
/// </summary>
public sealed class Stm32InternalFlash : IFlashMedia
{
    public static readonly TimeSpan PageEraseTime = TimeSpan.FromMilliseconds(30);
    public static readonly TimeSpan HalfWordProgramTime = TimeSpan.FromMicroseconds(50);

    private readonly byte[] _cells = new byte[SparkMemoryMap.InternalFlashSize];

    public Stm32InternalFlash()
    {
        Array.Fill(_cells, (byte)0xFF);
    }

    public uint BaseAddress => SparkMemoryMap.InternalFlashBase;

    public int Size => SparkMemoryMap.InternalFlashSize;

    public int EraseUnit => SparkMemoryMap.InternalPageSize;

    /// <summary>Option bytes write-protect pages 0-15 (factory Cores ship this way).</summary>
    public bool BootloaderWriteProtected { get; set; }

    /// <summary>FLASH_SR PGERR: a program of a non-erased half-word was refused.</summary>
    public bool ProgramError { get; private set; }

    /// <summary>FLASH_SR WRPRTERR: an erase or program hit a write-protected page.</summary>
    public bool WriteProtectionError { get; private set; }

    public void ClearStatusFlags()
    {
        ProgramError = false;
        WriteProtectionError = false;
    }

    /// <summary>Flash is memory-mapped: reading costs no flash-controller time.</summary>
    public TimeSpan Read(uint address, Span<byte> destination)
    {
        var offset = Offset(address, destination.Length);
        _cells.AsSpan(offset, destination.Length).CopyTo(destination);
        return TimeSpan.Zero;
    }

    public ReadOnlySpan<byte> View(uint address, int length) => _cells.AsSpan(Offset(address, length), length);

    public ushort ReadHalfWord(uint address) => BinaryPrimitives.ReadUInt16LittleEndian(View(address, 2));

    public uint ReadWord(uint address) => BinaryPrimitives.ReadUInt32LittleEndian(View(address, 4));

    /// <summary>FLASH_ErasePage: clears error flags first (as flash_if does before each operation).</summary>
    public FlashOpResult Erase(uint address)
    {
        ClearStatusFlags();
        return ErasePage(address);
    }

    /// <summary>Page erase of the page containing <paramref name="address"/>; refused if sticky error flags are set.</summary>
    public FlashOpResult ErasePage(uint address)
    {
        var offset = Offset(address, 1);
        if (ProgramError || WriteProtectionError) return FlashOpResult.Done(TimeSpan.Zero);
        var page = offset / SparkMemoryMap.InternalPageSize;
        if (IsProtectedPage(page))
        {
            WriteProtectionError = true;
            return FlashOpResult.Done(TimeSpan.Zero);
        }
        _cells.AsSpan(page * SparkMemoryMap.InternalPageSize, SparkMemoryMap.InternalPageSize).Fill(0xFF);
        return FlashOpResult.Done(PageEraseTime);
    }

    /// <summary>One half-word program at an even address (FLASH_ProgramHalfWord).</summary>
    public FlashOpResult ProgramHalfWord(uint address, ushort value)
    {
        if ((address & 1) != 0)
            throw new ArgumentException($"half-word program at odd address 0x{address:X8}", nameof(address));
        var offset = Offset(address, 2);
        if (ProgramError || WriteProtectionError) return FlashOpResult.Done(TimeSpan.Zero);
        if (IsProtectedPage(offset / SparkMemoryMap.InternalPageSize))
        {
            WriteProtectionError = true;
            return FlashOpResult.Done(TimeSpan.Zero);
        }
        var current = BinaryPrimitives.ReadUInt16LittleEndian(_cells.AsSpan(offset, 2));
        if (current != 0xFFFF && value != 0x0000)
        {
            ProgramError = true;
            return FlashOpResult.Done(TimeSpan.Zero);
        }
        BinaryPrimitives.WriteUInt16LittleEndian(_cells.AsSpan(offset, 2), value);
        return FlashOpResult.Done(HalfWordProgramTime);
    }

    /// <summary>FLASH_ProgramWord: low half, then high half only if the low half succeeded.</summary>
    public FlashOpResult ProgramWord(uint address, uint value)
    {
        var low = ProgramHalfWord(address, (ushort)value);
        if (ProgramError || WriteProtectionError) return low;
        var high = ProgramHalfWord(address + 2, (ushort)(value >> 16));
        return FlashOpResult.Done(low.Duration + high.Duration);
    }

    /// <summary>
    /// As flash_if.c FLASH_If_Write (address must be even): pad a non-multiple-of-4 tail with 0xFF and program 32-bit words
    /// without checking the status (a refused word leaves old data and later words are refused too).
    /// </summary>
    public FlashOpResult Write(uint address, ReadOnlySpan<byte> data)
    {
        ClearStatusFlags();
        var padded = (data.Length + 3) & ~3;
        Offset(address, padded);
        var total = TimeSpan.Zero;
        Span<byte> word = stackalloc byte[4];
        for (var i = 0; i < padded; i += 4)
        {
            word.Fill(0xFF);
            data.Slice(i, Math.Min(4, data.Length - i)).CopyTo(word);
            total += ProgramWord(address + (uint)i, BinaryPrimitives.ReadUInt32LittleEndian(word)).Duration;
        }
        return FlashOpResult.Done(total);
    }

    /// <summary>What the factory's programmer (SWD/JTAG) wrote: exactly these bytes, no time, no protection, no PGERR.</summary>
    public void ManufactureProgram(uint address, ReadOnlySpan<byte> data)
    {
        var offset = Offset(address, data.Length);
        data.CopyTo(_cells.AsSpan(offset));
    }

    private bool IsProtectedPage(int page) => BootloaderWriteProtected && page < SparkMemoryMap.BootloaderProtectablePages;

    private int Offset(uint address, int length)
    {
        var offset = (long)address - BaseAddress;
        if (offset < 0 || offset + length > Size)
            throw new ArgumentOutOfRangeException(nameof(address), address,
                $"internal flash access 0x{address:X8}+{length} lies outside 0x{BaseAddress:X8}-0x{BaseAddress + Size - 1:X8}");
        return (int)offset;
    }

    /// <summary>The raw cell contents, for saving a simulated Core between runs (not a chip operation).</summary>
    public byte[] SnapshotCells() => (byte[])_cells.Clone();

    /// <summary>Puts saved cell contents back (not a chip operation; faults still apply to later reads).</summary>
    public void RestoreCells(ReadOnlySpan<byte> cells)
    {
        if (cells.Length != _cells.Length)
            throw new ArgumentException($"saved state holds {cells.Length} bytes, this flash has {_cells.Length}", nameof(cells));
        cells.CopyTo(_cells);
    }
}
