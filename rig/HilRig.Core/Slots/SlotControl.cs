using System.Device.Gpio;

namespace HilRig.Core.Slots;

/// <summary>One output line: a pin on a GpioController (the Pi header or an I2C expander) and its active level.</summary>
public sealed record SlotLine(GpioController Controller, int Pin, bool ActiveLow, string Description)
{
    public override string ToString() => Description;
}

/// <summary>The slot's actuators: power relay, MODE and RESET button lines.</summary>
public interface ISlotControl
{
    void SetPower(bool on);

    void SetMode(bool pressed);

    void SetReset(bool pressed);

    bool PowerOn { get; }
}

/// <summary>A slot's relay, MODE or RESET line cannot be driven (it does not follow, or its expander does not answer): a rig fault.</summary>
public sealed class SlotLineException : Exception
{
    public SlotLineException(SlotLine line, string message) : this(line.Description.Contains("power", StringComparison.Ordinal), message)
    {
    }

    /// <summary>A line whose drive reads back fine but whose effect is not there (a relay contact that sticks).</summary>
    public SlotLineException(bool isPower, string message) : base(message) => IsPower = isPower;

    /// <summary>True for the power relay's line, false for a button line.</summary>
    public bool IsPower { get; }
}

/// <summary>Drives the slot's lines through System.Device.Gpio; the same code on the Pi and on the simulator's GpioDriver.</summary>
public sealed class GpioSlotControl : ISlotControl
{
    private readonly SlotLine _power;
    private readonly SlotLine _mode;
    private readonly SlotLine _reset;

    public GpioSlotControl(SlotLine power, SlotLine mode, SlotLine reset)
    {
        _power = power;
        _mode = mode;
        _reset = reset;
        // Buttons released and relay as it is: opening a line must never press a button by accident.
        Open(_mode, active: false);
        Open(_reset, active: false);
        Open(_power, active: Read(_power));
    }

    public bool PowerOn => Read(_power);

    /// <summary>A write whose line does not read back as written, or that the expander does not acknowledge, is written again this many times.</summary>
    public const int LineRetries = 2;

    public void SetPower(bool on) => Drive(_power, on, "relay-line");

    public void SetMode(bool pressed) => Drive(_mode, pressed, "button-dead");

    public void SetReset(bool pressed) => Drive(_reset, pressed, "button-dead");

    private static void Open(SlotLine line, bool active)
    {
        var level = Level(line, active);
        if (!line.Controller.IsPinOpen(line.Pin))
            line.Controller.OpenPin(line.Pin, PinMode.Output, level);
        else
            line.Controller.SetPinMode(line.Pin, PinMode.Output);
        line.Controller.Write(line.Pin, level);
    }

    /// <summary>
    /// Drives the line and reads it back: a line that does not follow (a dead button line) or an expander that does not
    /// acknowledge is written again, each retry recorded; after <see cref="LineRetries"/> the slot's line is a rig fault.
    /// The read-back is retried on its own when the expander does not acknowledge it, so a dead line behind a lost read
    /// is still seen (and recorded) as what it is. A line given up on keeps its latch at the level it shows: the
    /// expander's other pins are written with the same latch byte, and must not keep re-driving it.
    /// </summary>
    private static void Drive(SlotLine line, bool active, string deadKind)
    {
        var level = Level(line, active);
        for (var attempt = 0; ; attempt++)
        {
            var last = attempt >= LineRetries;
            try
            {
                line.Controller.Write(line.Pin, level);
            }
            catch (IOException ex)
            {
                RigRetries.Record("i2c-nack", $"{line}: {ex.Message}", gaveUp: last);
                if (last) throw new SlotLineException(line, $"{line}: the expander does not answer ({ex.Message})");
                continue;
            }
            var shows = ReadBack(line);
            if (shows == level) return;
            RigRetries.Record(deadKind, $"{line} does not read back {(active ? "active" : "released")} after it was written", gaveUp: last);
            if (!last) continue;
            try
            {
                line.Controller.Write(line.Pin, shows);
            }
            catch (IOException ex)
            {
                RigRetries.Record("i2c-nack", $"{line}: {ex.Message} (leaving the latch at the level the line shows)", gaveUp: true);
            }
            throw new SlotLineException(line, $"{line} does not follow what the rig drives ({LineRetries + 1} writes)");
        }
    }

    /// <summary>The level the line shows; a read the expander does not acknowledge is read again, each retry recorded.</summary>
    private static PinValue ReadBack(SlotLine line)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return line.Controller.Read(line.Pin);
            }
            catch (IOException ex)
            {
                var last = attempt >= LineRetries;
                RigRetries.Record("i2c-nack", $"{line}: {ex.Message}", gaveUp: last);
                if (last) throw new SlotLineException(line, $"{line}: the expander does not answer ({ex.Message})");
            }
        }
    }

    private static bool Read(SlotLine line) =>
        line.Controller.IsPinOpen(line.Pin) && (line.Controller.Read(line.Pin) == PinValue.High) != line.ActiveLow;

    private static PinValue Level(SlotLine line, bool active) => active != line.ActiveLow ? PinValue.High : PinValue.Low;
}
