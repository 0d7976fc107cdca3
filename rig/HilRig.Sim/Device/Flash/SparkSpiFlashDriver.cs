namespace HilRig.Sim.Device.Flash;

/// <summary>
/// The external flash as the bootloader's DFU media layer and restore code reach it through core-common-lib's
/// sst25vf_spi.c: no timeouts, no verify, unprotect only for a recognised SST JEDEC id, AAI word writes.
/// Device time = bytes clocked × (8 bits at 18 MHz + ~1 µs polled-driver overhead per byte) + the chip's BUSY time.
/// </summary>
public sealed class SparkSpiFlashDriver : IFlashMedia
{
    /// <summary>sFLASH_SendByte polls TXE and RXNE per byte; about 1 µs of CPU per byte (inferred, not measured).</summary>
    public const double DriverOverheadMicrosPerByte = 1.0;

    /// <summary>Wire time per byte: 8 bits at the 18 MHz SPI clock (APB1 36 MHz, prescaler 2).</summary>
    public const double SpiMicrosPerByte = 8.0 / 18.0;

    private const double MicrosPerByte = SpiMicrosPerByte + DriverOverheadMicrosPerByte;

    private static readonly byte[][] AcceptedJedecIds = [[0xBF, 0x25, 0x41], [0xBF, 0x25, 0x8D]];

    public SparkSpiFlashDriver(Sst25vf016b chip)
    {
        ArgumentNullException.ThrowIfNull(chip);
        Chip = chip;
    }

    public Sst25vf016b Chip { get; }

    /// <summary>True after <see cref="Init"/> recognised the chip and cleared its block protection.</summary>
    public bool Unprotected { get; private set; }

    public uint BaseAddress => 0;

    public int Size => Sst25vf016b.Size;

    public int EraseUnit => Sst25vf016b.SectorSize;

    /// <summary>sFLASH_Init: WRDI, read JEDEC id; only for an SST id: DBSY, EWSR, WRSR 0x00 (whole array writable).</summary>
    public TimeSpan Init()
    {
        Chip.WriteDisable();
        var id = Chip.JedecId();
        var bytes = 1 + 4;
        Unprotected = AcceptedJedecIds.Any(accepted => accepted.AsSpan().SequenceEqual(id));
        if (Unprotected)
        {
            // DBSY is a no-op in this model: status is always polled with RDSR.
            Chip.EnableWriteStatus();
            Chip.WriteStatus(0x00);
            bytes += 1 + 1 + 2;
        }
        return Wire(bytes);
    }

    public TimeSpan Read(uint address, Span<byte> destination)
    {
        CheckRange(address, destination.Length);
        Chip.Read(address, destination);
        return Wire(4 + destination.Length);
    }

    /// <summary>sFLASH_EraseSector: WREN, 0x20 + address, poll RDSR.</summary>
    public FlashOpResult Erase(uint address)
    {
        CheckRange(address, 1);
        Chip.WriteEnable();
        var busy = Chip.EraseSector(address);
        return Finish(1 + 4 + 2, busy);
    }

    /// <summary>sFLASH_WriteBuffer: byte program for an odd start and an odd trailing byte, AAI words for the even run, WRDI at the end.</summary>
    public FlashOpResult Write(uint address, ReadOnlySpan<byte> data)
    {
        CheckRange(address, data.Length);
        if (data.IsEmpty) return FlashOpResult.Done(TimeSpan.Zero);
        var bytes = 0;
        var busy = TimeSpan.Zero;
        var offset = 0;
        if ((address & 1) != 0 && data.Length > 0)
        {
            Chip.WriteEnable();
            busy += Chip.ProgramByte(address, data[0]);
            bytes += 1 + 5 + 2;
            offset = 1;
        }
        var words = (data.Length - offset) / 2;
        if (words > 0)
        {
            Chip.WriteEnable();
            var at = address + (uint)offset;
            busy += Chip.AaiWordStart(at, data[offset], data[offset + 1]);
            bytes += 1 + 6 + 2;
            for (var w = 1; w < words; w++)
            {
                var i = offset + (w * 2);
                busy += Chip.AaiWordNext(data[i], data[i + 1]);
                bytes += 3 + 2;
            }
            Chip.WriteDisable();
            bytes += 1 + 2;
            offset += words * 2;
        }
        if (offset < data.Length)
        {
            Chip.WriteEnable();
            busy += Chip.ProgramByte(address + (uint)offset, data[offset]);
            bytes += 1 + 5 + 2;
        }
        return Finish(bytes, busy);
    }

    /// <summary>A dead chip's status reads 0xFF (BUSY set) forever, and the driver's RDSR loop has no timeout.</summary>
    private FlashOpResult Finish(int bytes, TimeSpan busy) =>
        Chip.IsDead ? FlashOpResult.Hang : FlashOpResult.Done(Wire(bytes) + busy);

    private static TimeSpan Wire(int bytes) => TimeSpan.FromMicroseconds(bytes * MicrosPerByte);

    private void CheckRange(uint address, int length)
    {
        if (address + (long)length > Size)
            throw new ArgumentOutOfRangeException(nameof(address), address, $"SPI flash access 0x{address:X}+{length} lies beyond 0x{Size:X}");
    }
}
