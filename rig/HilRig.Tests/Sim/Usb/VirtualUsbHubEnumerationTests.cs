using System.Buffers.Binary;
using HilRig.Core.Usb;
using HilRig.Sim.Time;
using HilRig.Sim.Usb;

namespace HilRig.Tests.Usb;

/// <summary>
/// Port status of the virtual hub as a Linux host shows it: a device that has enumerated on a port sits on an
/// enabled port (the host reset the port to enumerate it). Found with uhubctl: a Core that came back after a power
/// cycle showed "0101 power connect", never seen on a real rig.
/// </summary>
public class VirtualUsbHubEnumerationTests
{
    private sealed class Gadget(TimeProvider time) : VirtualUsbFunction(time)
    {
        public override UsbDeviceDescriptor DeviceDescriptor { get; } = new(0x0200, 0, 0, 0, 64, 0x1234, 0x0001, 0x0100, 0, 0, 0, 1);

        public override byte[] GetConfigDescriptor(int index) => [9, 2, 18, 0, 1, 1, 0, 0x80, 50, 9, 4, 0, 0, 0, 0xFF, 0, 0, 0];

        protected override string? GetString(int index) => null;

        protected override ValueTask<ControlResponse> HandleRequestAsync(UsbSetup setup, Memory<byte> data, CancellationToken ct) =>
            ValueTask.FromResult(ControlResponse.Stall);
    }

    [Test]
    public void A_device_that_enumerates_after_a_power_cycle_is_on_an_enabled_port_and_a_device_that_leaves_is_not()
    {
        using var sim = new SimScheduler();
        var bus = new VirtualUsbBus(sim.Time);
        var hub = new VirtualUsbHub(bus, "1-1", 4);
        bus.Connect("1-1", hub);

        var statuses = sim.Run(async () =>
        {
            using var h = bus.GetDevices().Single(d => d.Path == "1-1").Open();
            async Task<(ushort Status, ushort Change)> Port(int port)
            {
                var reply = new byte[4];
                await h.ControlTransferAsync(new UsbSetup(0xA3, UsbRequest.GetStatus, 0, (ushort)port, 4), reply, TimeSpan.FromSeconds(1));
                return (BinaryPrimitives.ReadUInt16LittleEndian(reply), BinaryPrimitives.ReadUInt16LittleEndian(reply.AsSpan(2)));
            }
            var seen = new List<ushort>();
            hub.SetPortPower(2, false);
            hub.SetPortPower(2, true);
            seen.Add((await Port(2)).Status);        // powered, nothing there
            bus.Connect("1-1.2", new Gadget(sim.Time));
            var connected = await Port(2);
            seen.Add(connected.Status);
            hub.SetPortPower(3, false);
            bus.Connect("1-1.3", new Gadget(sim.Time)); // attached while unpowered: not enumerated
            seen.Add((await Port(3)).Status);
            hub.SetPortPower(3, true);                  // VBUS back: it enumerates
            seen.Add((await Port(3)).Status);
            bus.Disconnect("1-1.2");
            seen.Add((await Port(2)).Status);
            return (seen, connected.Change);
        });

        Assert.That(statuses.seen, Is.EqualTo(new ushort[] { 0x0100, 0x0103, 0x0000, 0x0103, 0x0100 }));
        Assert.That(statuses.Change & 0x0001, Is.EqualTo(1), "C_PORT_CONNECTION after the device came");
    }
}
