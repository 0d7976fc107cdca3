using System.Device.Gpio;
using System.Device.I2c;

namespace HilRig.Core.Chips.Mcp23017;

/// <summary>MCP23017 registers with IOCON.BANK = 0 (A/B interleaved; the power-on layout).</summary>
public static class Mcp23017Registers
{
    public const byte IodirA = 0x00;
    public const byte IodirB = 0x01;
    public const byte IoconBank1 = 0x05; // where IOCON lives if a previous user left BANK = 1 (GPINTENB otherwise)
    public const byte Iocon = 0x0A;
    public const byte GppuA = 0x0C;
    public const byte GpioA = 0x12;
    public const byte GpioB = 0x13;
    public const byte OlatA = 0x14;
    public const byte OlatB = 0x15;
}

/// <summary>
/// A 16-line MCP23017 I2C expander as a System.Device.Gpio driver, so slot lines on an expander are pins of a
/// GpioController like the Pi header's. Pins 0-7 = GPA0-7, 8-15 = GPB0-7. Outputs are changed by
/// read-modify-write of a shadow of OLAT (never of GPIO, which reads pin levels), one I2C transaction at a time.
/// </summary>
public sealed class Mcp23017 : GpioDriver
{
    private readonly I2cDevice _device;
    private readonly object _gate = new();
    private ushort _iodir = 0xFFFF;
    private ushort _olat;

    public Mcp23017(I2cDevice device)
    {
        _device = device;
        lock (_gate)
        {
            // If a previous run left BANK = 1, 0x05 is IOCON: clearing it restores BANK = 0. With BANK = 0 it is
            // GPINTENB, whose power-on value is 0 anyway. Then set IOCON explicitly (sequential addressing).
            WriteRegister(Mcp23017Registers.IoconBank1, 0x00);
            WriteRegister(Mcp23017Registers.Iocon, 0x00);
            _iodir = ReadPair(Mcp23017Registers.IodirA);
            _olat = ReadPair(Mcp23017Registers.OlatA);
        }
    }

    public int Address => _device.ConnectionSettings.DeviceAddress;

    protected override int PinCount => 16;

    protected override void OpenPin(int pinNumber) => CheckPin(pinNumber);

    protected override void ClosePin(int pinNumber) => CheckPin(pinNumber);

    protected override void SetPinMode(int pinNumber, PinMode mode)
    {
        CheckPin(pinNumber);
        if (!IsPinModeSupported(pinNumber, mode))
            throw new ArgumentException($"MCP23017 0x{Address:X2} pin {pinNumber}: mode {mode} is not supported", nameof(mode));
        lock (_gate)
        {
            var bit = (ushort)(1 << pinNumber);
            _iodir = mode == PinMode.Output ? (ushort)(_iodir & ~bit) : (ushort)(_iodir | bit);
            WritePair(Mcp23017Registers.IodirA, _iodir);
            if (mode == PinMode.InputPullUp)
            {
                var pullups = ReadPair(Mcp23017Registers.GppuA);
                WritePair(Mcp23017Registers.GppuA, (ushort)(pullups | bit));
            }
        }
    }

    protected override PinMode GetPinMode(int pinNumber)
    {
        CheckPin(pinNumber);
        lock (_gate) { return (_iodir & (1 << pinNumber)) == 0 ? PinMode.Output : PinMode.Input; }
    }

    protected override bool IsPinModeSupported(int pinNumber, PinMode mode) => mode switch
    {
        PinMode.Output => true,
        // Datasheet rev. D: GPA7/GPB7 are output-only (as inputs they can corrupt SDA).
        PinMode.Input or PinMode.InputPullUp => pinNumber is not (7 or 15),
        _ => false,
    };

    protected override PinValue Read(int pinNumber)
    {
        CheckPin(pinNumber);
        lock (_gate)
        {
            // GPIO holds the pins' levels, outputs included: a line that does not follow its latch shows up here.
            return (ReadPair(Mcp23017Registers.GpioA) & (1 << pinNumber)) != 0 ? PinValue.High : PinValue.Low;
        }
    }

    protected override void Write(int pinNumber, PinValue value)
    {
        CheckPin(pinNumber);
        lock (_gate)
        {
            var bit = (ushort)(1 << pinNumber);
            _olat = value == PinValue.High ? (ushort)(_olat | bit) : (ushort)(_olat & ~bit);
            // Only the port that changed: one 2-byte transaction, the other port's latch untouched.
            if (pinNumber < 8)
                WriteRegister(Mcp23017Registers.OlatA, (byte)_olat);
            else
                WriteRegister(Mcp23017Registers.OlatB, (byte)(_olat >> 8));
        }
    }

    protected override WaitForEventResult WaitForEvent(int pinNumber, PinEventTypes eventTypes, CancellationToken cancellationToken) =>
        throw new NotSupportedException("MCP23017 interrupts are not wired on the rig");

    protected override void AddCallbackForPinValueChangedEvent(int pinNumber, PinEventTypes eventTypes, PinChangeEventHandler callback) =>
        throw new NotSupportedException("MCP23017 interrupts are not wired on the rig");

    protected override void RemoveCallbackForPinValueChangedEvent(int pinNumber, PinChangeEventHandler callback) =>
        throw new NotSupportedException("MCP23017 interrupts are not wired on the rig");

    private void WriteRegister(byte register, byte value) => Io(() => _device.Write([register, value]), $"write register 0x{register:X2}");

    private void WritePair(byte register, ushort value) =>
        Io(() => _device.Write([register, (byte)value, (byte)(value >> 8)]), $"write registers 0x{register:X2}-0x{register + 1:X2}");

    private ushort ReadPair(byte register)
    {
        var result = new byte[2];
        Io(() => _device.WriteRead([register], result), $"read registers 0x{register:X2}-0x{register + 1:X2}");
        return (ushort)(result[0] | (result[1] << 8));
    }

    private void Io(Action action, string what)
    {
        try
        {
            action();
        }
        catch (IOException ex)
        {
            throw new IOException($"MCP23017 at 0x{Address:X2}: {what} failed (no ACK: check the expander's address and wiring): {ex.Message}", ex);
        }
    }

    private static void CheckPin(int pin)
    {
        if (pin is < 0 or > 15) throw new ArgumentOutOfRangeException(nameof(pin), pin, "MCP23017 pins are 0-15 (GPA0-7, GPB0-7)");
    }
}
