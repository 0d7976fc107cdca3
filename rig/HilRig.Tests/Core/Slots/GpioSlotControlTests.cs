using System.Device.Gpio;
using HilRig.Core.Slots;
using HilRig.Sim.Rig;

namespace HilRig.Tests.Slots;

public class GpioSlotControlTests
{
    [Test]
    public void Active_low_buttons_pull_the_line_low_when_pressed_and_opening_presses_nothing()
    {
        var driver = new SimGpioDriver();
        using var gpio = new GpioController(driver);
        var modeLevels = new List<PinValue>();
        driver.Watch(6, modeLevels.Add);
        var control = new GpioSlotControl(
            new SlotLine(gpio, 5, ActiveLow: false, "GPIO5"),
            new SlotLine(gpio, 6, ActiveLow: true, "GPIO6"),
            new SlotLine(gpio, 13, ActiveLow: true, "GPIO13"));

        Assert.That(modeLevels, Is.All.EqualTo(PinValue.High), "released = high for an active-low line");
        control.SetMode(true);
        Assert.That(driver.Level(6), Is.EqualTo(PinValue.Low));
        control.SetMode(false);
        Assert.That(driver.Level(6), Is.EqualTo(PinValue.High));
        Assert.That(driver.Level(13), Is.EqualTo(PinValue.High));
        control.SetPower(true);
        Assert.That(driver.Level(5), Is.EqualTo(PinValue.High));
        Assert.That(control.PowerOn, Is.True);
    }
}
