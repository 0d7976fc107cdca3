using HilRig.Core.Usb;
using HilRig.Sim.Time;
using HilRig.Sim.Usb;

namespace HilRig.Tests.Usb;

/// <summary>Hub port power through the hub class requests, against the simulated hub.</summary>
public class HubPortPowerTests
{
    [Test]
    public void Clear_and_set_PORT_POWER_switch_the_port_and_GetPortStatus_reports_it()
    {
        using var sim = new SimScheduler(ClockMode.Virtual, 1.0);
        var bus = new VirtualUsbBus(sim.Time);
        var hub = new VirtualUsbHub(bus, "1-1", 4);
        bus.Connect("1-1", hub);
        var changes = new List<(int, bool)>();
        hub.PortPowerChanged += (port, on) => changes.Add((port, on));

        sim.Run(async () =>
        {
            using var power = HubPortPower.Open(bus, "1-1");
            Assert.That((await power.GetPortStatusAsync(3)).Powered, Is.True);
            await power.SetPortPowerAsync(3, on: false);
            var off = await power.GetPortStatusAsync(3);
            Assert.That(off.Powered, Is.False);
            Assert.That(off.Status & 0x0100, Is.Zero);
            Assert.That(hub.IsPortPowered(3), Is.False);
            Assert.That((await power.GetPortStatusAsync(2)).Powered, Is.True, "other ports untouched");
            await power.SetPortPowerAsync(3, on: true);
            Assert.That((await power.GetPortStatusAsync(3)).Powered, Is.True);
        });
        Assert.That(changes, Is.EqualTo(new[] { (3, false), (3, true) }));
    }

    [Test]
    public void A_path_without_a_hub_is_a_not_found_error_naming_the_path()
    {
        using var sim = new SimScheduler(ClockMode.Virtual, 1.0);
        var bus = new VirtualUsbBus(sim.Time);
        var ex = Assert.Throws<UsbException>(() => HubPortPower.Open(bus, "1-3"));
        Assert.That(ex!.Error, Is.EqualTo(UsbError.NotFound));
        Assert.That(ex.Message, Does.StartWith("no USB hub at 1-3"));
    }

    [Test]
    public void A_usb3_hub_reports_power_in_bit_9()
    {
        Assert.That(new HubPortStatus(0x0200, 0, SuperSpeedHub: true).Powered, Is.True);
        Assert.That(new HubPortStatus(0x0100, 0, SuperSpeedHub: true).Powered, Is.False);
        Assert.That(new HubPortStatus(0x0100, 0, SuperSpeedHub: false).Powered, Is.True);
    }
}
