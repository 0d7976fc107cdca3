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

    public void SetPower(bool on) => Drive(_power, on);

    public void SetMode(bool pressed) => Drive(_mode, pressed);

    public void SetReset(bool pressed) => Drive(_reset, pressed);

    private static void Open(SlotLine line, bool active)
    {
        var level = Level(line, active);
        if (!line.Controller.IsPinOpen(line.Pin))
            line.Controller.OpenPin(line.Pin, PinMode.Output, level);
        else
            line.Controller.SetPinMode(line.Pin, PinMode.Output);
        line.Controller.Write(line.Pin, level);
    }

    private static void Drive(SlotLine line, bool active) => line.Controller.Write(line.Pin, Level(line, active));

    private static bool Read(SlotLine line) =>
        line.Controller.IsPinOpen(line.Pin) && (line.Controller.Read(line.Pin) == PinValue.High) != line.ActiveLow;

    private static PinValue Level(SlotLine line, bool active) => active != line.ActiveLow ? PinValue.High : PinValue.Low;
}
