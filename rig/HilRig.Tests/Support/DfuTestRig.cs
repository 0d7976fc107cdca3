using HilRig.Core.Usb;
using HilRig.Sim.Device.Dfu;
using HilRig.Sim.Device.Flash;
using HilRig.Sim.Time;
using HilRig.Sim.Usb;

namespace HilRig.Tests.Dfu;

/// <summary>A NOR-like RAM flash for DFU tests: erase sets 0xFF, a write can only clear bits, every op costs set time.</summary>
internal sealed class RamFlash : IFlashMedia
{
    private readonly byte[] _cells;

    public RamFlash(uint baseAddress, int size, int eraseUnit, TimeSpan eraseTime, TimeSpan writeTimePerKiB, TimeSpan readTimePerKiB)
    {
        BaseAddress = baseAddress;
        Size = size;
        EraseUnit = eraseUnit;
        EraseTime = eraseTime;
        WriteTimePerKiB = writeTimePerKiB;
        ReadTimePerKiB = readTimePerKiB;
        _cells = new byte[size];
        _cells.AsSpan().Fill(0xFF);
    }

    /// <summary>SST25VF016B-like: 4 KiB sector erase 18 ms, ~5 ms per KiB programmed, 18 MHz reads.</summary>
    public static RamFlash Spi(int size = 2 * 1024 * 1024) =>
        new(0, size, 4096, TimeSpan.FromMilliseconds(18), TimeSpan.FromMilliseconds(5), TimeSpan.FromMicroseconds(460));

    /// <summary>STM32F103-like: 1 KiB page erase 20 ms, 512 half-words at ~52 us per KiB, memory-mapped reads.</summary>
    public static RamFlash Internal(int size = 128 * 1024) =>
        new(0x08000000, size, 1024, TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(27), TimeSpan.Zero);

    public uint BaseAddress { get; }

    public int Size { get; }

    public int EraseUnit { get; }

    public TimeSpan EraseTime { get; }

    public TimeSpan WriteTimePerKiB { get; }

    public TimeSpan ReadTimePerKiB { get; }

    /// <summary>Every erase never finishes (a chip whose BUSY bit sticks).</summary>
    public bool HangOnErase { get; set; }

    public List<uint> Erases { get; } = [];

    public List<(uint Address, int Length)> Writes { get; } = [];

    public TimeSpan BusyTotal { get; private set; }

    public Span<byte> Cells(uint address, int length) => _cells.AsSpan((int)(address - BaseAddress), length);

    public TimeSpan Read(uint address, Span<byte> destination)
    {
        Cells(address, destination.Length).CopyTo(destination);
        return ReadTimePerKiB * destination.Length / 1024;
    }

    public FlashOpResult Erase(uint address)
    {
        var unit = (address - BaseAddress) / (uint)EraseUnit * (uint)EraseUnit + BaseAddress;
        Erases.Add(unit);
        if (HangOnErase) return FlashOpResult.Hang;
        Cells(unit, EraseUnit).Fill(0xFF);
        BusyTotal += EraseTime;
        return FlashOpResult.Done(EraseTime);
    }

    public FlashOpResult Write(uint address, ReadOnlySpan<byte> data)
    {
        Writes.Add((address, data.Length));
        var cells = Cells(address, data.Length);
        for (var i = 0; i < data.Length; i++) cells[i] &= data[i];
        var time = WriteTimePerKiB * data.Length / 1024;
        BusyTotal += time;
        return FlashOpResult.Done(time);
    }
}

/// <summary>A simulated Core in DFU mode on port 3 of a hub at 1-1, on a virtual bus under a SimScheduler.</summary>
internal sealed class DfuTestRig : IDisposable
{
    public const string CorePath = "1-1.3";
    public const string Serial = "8D8211995355";

    public DfuTestRig(RamFlash? internalFlash = null, RamFlash? spiFlash = null)
    {
        Sim = new SimScheduler();
        Bus = new VirtualUsbBus(Sim.Time);
        Bus.Connect("1-1", new VirtualUsbHub(Bus, "1-1", 4));
        InternalFlash = internalFlash ?? RamFlash.Internal();
        SpiFlash = spiFlash ?? RamFlash.Spi();
        Device = new SparkDfuDevice(Sim.Time, InternalFlash, SpiFlash, Serial);
        Bus.Connect(CorePath, Device);
    }

    public SimScheduler Sim { get; }

    public VirtualUsbBus Bus { get; }

    public SparkDfuDevice Device { get; }

    public RamFlash InternalFlash { get; }

    public RamFlash SpiFlash { get; }

    public IUsbDeviceHandle OpenRaw() => Bus.GetDevices().Single(d => d.Path == CorePath).Open();

    public static byte[] Pattern(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    public void Dispose() => Sim.Dispose();
}
