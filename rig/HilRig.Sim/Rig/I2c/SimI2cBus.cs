using System.Device.I2c;

namespace HilRig.Sim.Rig.I2c;

/// <summary>A chip model on a simulated I2C bus. Throwing <see cref="IOException"/> is a NACK.</summary>
public interface II2cTarget
{
    /// <summary>One write transaction (the bytes after the address), ended by STOP or a repeated START.</summary>
    void Write(ReadOnlySpan<byte> data);

    /// <summary>One read transaction.</summary>
    void Read(Span<byte> data);
}

/// <summary>A chip that forwards transactions to downstream buses (an I2C switch).</summary>
public interface II2cSwitch
{
    IEnumerable<SimI2cBus> ConnectedDownstream { get; }
}

/// <summary>
/// A simulated I2C bus hosting chip models by 7-bit address. An address nobody answers raises
/// <see cref="IOException"/> like a NACK on a real bus; two answering devices (two mux channels with a sensor each)
/// collide. Bus time is counted at the bus clock so a caller can compare its own accounting.
/// </summary>
public sealed class SimI2cBus : I2cBus
{
    private readonly Dictionary<int, II2cTarget> _targets = [];
    private readonly Dictionary<int, SimI2cDevice> _devices = [];

    public SimI2cBus(string name, int clockHz = 400_000)
    {
        Name = name;
        ClockHz = clockHz;
    }

    public string Name { get; }

    public int ClockHz { get; }

    /// <summary>Time the bus spent clocking transactions (START, address, data with ACK bits, STOP).</summary>
    public TimeSpan BusTime { get; private set; }

    public long Transactions { get; private set; }

    /// <summary>Faults injected on purpose: a chip that is there does not acknowledge (null: none).</summary>
    public Faults.FaultInjector? Faults { get; set; }

    /// <summary>The chip at <paramref name="address"/> for one transaction, or a NACK injected on purpose.</summary>
    internal II2cTarget Transaction(int address)
    {
        var target = Resolve(address);
        // the operation's name is only built where a NACK may be injected: the LED sampler makes thousands of transactions a device minute
        if (Faults is { } faults && faults.MayInject(HilRig.Sim.Faults.FaultKind.I2cNack) && faults.Inject(HilRig.Sim.Faults.FaultKind.I2cNack, null, $"{Name} 0x{address:X2}"))
            throw new IOException($"{Name}: address 0x{address:X2} not acknowledged (NACK)");
        return target;
    }

    public void Attach(int address, II2cTarget target)
    {
        if (address is < 0x08 or > 0x77)
            throw new ArgumentOutOfRangeException(nameof(address), address, "7-bit I2C address must be 0x08..0x77");
        if (!_targets.TryAdd(address, target))
            throw new InvalidOperationException($"{Name}: address 0x{address:X2} is already taken");
    }

    public void Detach(int address) => _targets.Remove(address);

    public override I2cDevice CreateDevice(int deviceAddress)
    {
        if (!_devices.TryGetValue(deviceAddress, out var device))
        {
            device = new SimI2cDevice(this, deviceAddress);
            _devices[deviceAddress] = device;
        }
        return device;
    }

    public override void RemoveDevice(int deviceAddress) => _devices.Remove(deviceAddress);

    internal void Account(int writeBytes, int readBytes)
    {
        long bits = 2;
        if (writeBytes > 0) bits += 9 + 9L * writeBytes;
        if (readBytes > 0) bits += (writeBytes > 0 ? 1 : 0) + 9 + 9L * readBytes;
        BusTime += TimeSpan.FromTicks(bits * TimeSpan.TicksPerSecond / ClockHz);
        Transactions++;
    }

    internal II2cTarget Resolve(int address)
    {
        II2cTarget? first = null;
        var count = Collect(address, ref first);
        return count switch
        {
            0 => throw new IOException($"{Name}: no device acknowledged address 0x{address:X2} (NACK)"),
            1 => first!,
            _ => throw new IOException($"{Name}: {count} devices answered address 0x{address:X2} at once (bus collision)"),
        };
    }

    /// <summary>How many chips answer <paramref name="address"/> here and behind the switches' open channels; the first in <paramref name="first"/>.</summary>
    private int Collect(int address, ref II2cTarget? first)
    {
        var count = 0;
        if (_targets.TryGetValue(address, out var target))
        {
            first ??= target;
            count++;
        }
        foreach (var candidate in _targets.Values)
        {
            if (candidate is not II2cSwitch sw) continue;
            foreach (var downstream in sw.ConnectedDownstream)
                count += downstream.Collect(address, ref first);
        }
        return count;
    }
}

/// <summary>An <see cref="I2cDevice"/> on a <see cref="SimI2cBus"/>: each call resolves the address at that moment.</summary>
public sealed class SimI2cDevice : I2cDevice
{
    private readonly SimI2cBus _bus;

    internal SimI2cDevice(SimI2cBus bus, int address)
    {
        _bus = bus;
        ConnectionSettings = new I2cConnectionSettings(0, address);
    }

    public override I2cConnectionSettings ConnectionSettings { get; }

    private int Address => ConnectionSettings.DeviceAddress;

    public override byte ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        Read(one);
        return one[0];
    }

    public override void Read(Span<byte> buffer)
    {
        _bus.Account(0, buffer.Length);
        _bus.Transaction(Address).Read(buffer);
    }

    public override void WriteByte(byte value) => Write([value]);

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _bus.Account(buffer.Length, 0);
        _bus.Transaction(Address).Write(buffer);
    }

    public override void WriteRead(ReadOnlySpan<byte> writeBuffer, Span<byte> readBuffer)
    {
        _bus.Account(writeBuffer.Length, readBuffer.Length);
        var target = _bus.Transaction(Address);
        target.Write(writeBuffer);
        target.Read(readBuffer);
    }
}
