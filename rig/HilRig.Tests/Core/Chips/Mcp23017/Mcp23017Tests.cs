using System.Device.Gpio;
using HilRig.Core.Chips.Mcp23017;
using HilRig.Sim.Rig.I2c;

namespace HilRig.Tests.Chips;

public class Mcp23017Tests
{
    private static (SimI2cBus Bus, Mcp23017Model Model) Bus()
    {
        var bus = new SimI2cBus("i2c-test");
        var model = new Mcp23017Model();
        bus.Attach(0x20, model);
        return (bus, model);
    }

    [Test]
    public void Writing_one_pin_changes_only_that_pin_even_when_another_output_reads_back_differently()
    {
        var (bus, model) = Bus();
        using var gpio = new GpioController(new Mcp23017(bus.CreateDevice(0x20)));
        gpio.OpenPin(0, PinMode.Output, PinValue.High);
        gpio.OpenPin(1, PinMode.Output, PinValue.Low);
        // Pin 0 is shorted low on the board: GPIO reads 0 there, OLAT still says 1. A GPIO-based read-modify-write would clear it.
        model.InputLevels = 0;
        gpio.Write(1, PinValue.High);
        Assert.That(model.OutputLevel(0), Is.True);
        Assert.That(model.OutputLevel(1), Is.True);
        gpio.Write(0, PinValue.Low);
        Assert.That(model.OutputLevel(0), Is.False);
        Assert.That(model.OutputLevel(1), Is.True);
    }

    [Test]
    public void Port_B_pins_are_8_to_15_and_watchers_see_each_level()
    {
        var (bus, model) = Bus();
        var seen = new List<(int, bool)>();
        model.Watch((pin, high) => seen.Add((pin, high)));
        using var gpio = new GpioController(new Mcp23017(bus.CreateDevice(0x20)));
        gpio.OpenPin(9, PinMode.Output, PinValue.High);
        gpio.Write(9, PinValue.Low);
        Assert.That(seen, Does.Contain((9, true)));
        Assert.That(seen[^1], Is.EqualTo((9, false)));
        Assert.That(model.OutputLevel(1), Is.Null, "GPA1 is still an input");
    }

    [Test]
    public void A_chip_left_in_BANK_1_by_a_previous_run_is_brought_back_to_BANK_0()
    {
        var (bus, model) = Bus();
        model.Write([0x0A, 0x80]); // IOCON.BANK = 1
        using var gpio = new GpioController(new Mcp23017(bus.CreateDevice(0x20)));
        gpio.OpenPin(3, PinMode.Output, PinValue.High);
        Assert.That(model.OutputLevel(3), Is.True);
    }

    [Test]
    public void A_missing_expander_is_an_IO_error_naming_its_address()
    {
        var bus = new SimI2cBus("i2c-test");
        var ex = Assert.Throws<IOException>(() => _ = new Mcp23017(bus.CreateDevice(0x21)));
        Assert.That(ex!.Message, Does.Contain("0x21"));
    }

    [Test]
    public void GPx7_cannot_be_an_input()
    {
        var (bus, _) = Bus();
        using var gpio = new GpioController(new Mcp23017(bus.CreateDevice(0x20)));
        Assert.That(gpio.IsPinModeSupported(7, PinMode.Input), Is.False);
        Assert.That(gpio.IsPinModeSupported(7, PinMode.Output), Is.True);
        Assert.That(gpio.IsPinModeSupported(6, PinMode.Input), Is.True);
    }
}
