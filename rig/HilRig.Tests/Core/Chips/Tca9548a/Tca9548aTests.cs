using HilRig.Core.Chips;
using HilRig.Core.Chips.Tca9548a;
using HilRig.Sim.Rig.I2c;

namespace HilRig.Tests.Chips;

public class Tca9548aTests
{
    private sealed class Register(byte value) : II2cTarget
    {
        public void Write(ReadOnlySpan<byte> data) { }

        public void Read(Span<byte> data) => data.Fill(value);
    }

    [Test]
    public void Select_connects_exactly_one_channel_and_deselect_disconnects_all()
    {
        var bus = new SimI2cBus("i2c-1");
        var model = new Tca9548aModel("mux 0x70");
        bus.Attach(0x70, model);
        model.Channel(3).Attach(0x29, new Register(0x44));
        var mux = new Tca9548a(bus.CreateDevice(0x70), "mux 0x70");
        var sensor = bus.CreateDevice(0x29);

        mux.Select(3);
        Assert.That(model.Control, Is.EqualTo(0b0000_1000));
        Assert.That(sensor.ReadByte(), Is.EqualTo(0x44));

        mux.Select(4);
        Assert.Throws<IOException>(() => sensor.ReadByte(), "channel 4 has no sensor: NACK");

        mux.DeselectAll();
        Assert.That(model.Control, Is.Zero);
        Assert.That(mux.Selected, Is.Null);
    }

    /// <summary>A mux whose control register read (the read back after a write) is not acknowledged once.</summary>
    private sealed class ReadBackNacked(Tca9548aModel model) : II2cTarget
    {
        public bool NackNextRead { get; set; }

        public void Write(ReadOnlySpan<byte> data) => model.Write(data);

        public void Read(Span<byte> data)
        {
            if (NackNextRead)
            {
                NackNextRead = false;
                throw new IOException("address 0x70 not acknowledged (NACK)");
            }
            model.Read(data);
        }
    }

    /// <summary>
    /// The write of a select went through but its read back was not acknowledged: the mux is on the new channel while
    /// the select failed. The channel is then not known, so the LED sampler selects again before it reads any sensor,
    /// instead of reading the new channel's sensor as the old channel's slot.
    /// </summary>
    [Test]
    public void A_select_whose_read_back_fails_leaves_the_channel_unknown_not_the_old_one()
    {
        var bus = new SimI2cBus("i2c-1");
        var model = new Tca9548aModel("mux 0x70");
        var flaky = new ReadBackNacked(model);
        bus.Attach(0x70, flaky);
        var mux = new Tca9548a(bus.CreateDevice(0x70), "mux 0x70");
        mux.Select(3);

        flaky.NackNextRead = true;
        Assert.Throws<SensorException>(() => mux.Select(4));

        Assert.That(model.Control, Is.EqualTo(0b0001_0000), "the write went through");
        Assert.That(mux.Selected, Is.Null, "channel 3 is no longer connected: not known until a select succeeds");
        mux.Select(3);
        Assert.That((model.Control, mux.Selected), Is.EqualTo(((byte)0b0000_1000, (int?)3)));
    }

    [Test]
    public void Two_muxes_with_a_sensor_selected_each_collide_on_the_shared_address()
    {
        var bus = new SimI2cBus("i2c-1");
        var a = new Tca9548aModel("mux 0x70");
        var b = new Tca9548aModel("mux 0x71");
        bus.Attach(0x70, a);
        bus.Attach(0x71, b);
        a.Channel(0).Attach(0x29, new Register(1));
        b.Channel(0).Attach(0x29, new Register(2));
        new Tca9548a(bus.CreateDevice(0x70), "mux 0x70").Select(0);
        var second = new Tca9548a(bus.CreateDevice(0x71), "mux 0x71");
        second.Select(0);
        var ex = Assert.Throws<IOException>(() => bus.CreateDevice(0x29).ReadByte());
        Assert.That(ex!.Message, Does.Contain("collision"));
    }

    [Test]
    public void A_mux_that_does_not_acknowledge_is_a_rig_fault_naming_it()
    {
        var bus = new SimI2cBus("i2c-1");
        bus.Attach(0x71, new Tca9548aModel("mux 0x71") { Nack = true });
        var mux = new Tca9548a(bus.CreateDevice(0x71), "mux 0x71");
        var ex = Assert.Throws<SensorException>(() => mux.Select(2));
        Assert.That(ex!.Message, Does.StartWith("mux 0x71:").And.Contain("NACK"));
    }

    [Test]
    public void A_control_register_that_reads_back_wrong_is_a_rig_fault()
    {
        var bus = new SimI2cBus("i2c-1");
        bus.Attach(0x70, new Register(0x00));
        var mux = new Tca9548a(bus.CreateDevice(0x70), "mux 0x70");
        var ex = Assert.Throws<SensorException>(() => mux.Select(5));
        Assert.That(ex!.Message, Does.Contain("reads 0x00 after writing 0x20"));
    }

    [Test]
    public void A_multi_byte_write_keeps_the_last_byte()
    {
        var model = new Tca9548aModel("mux");
        model.Write([0x01, 0x80]);
        Assert.That(model.Control, Is.EqualTo(0x80));
        Assert.That(model.ConnectedDownstream.Single(), Is.SameAs(model.Channel(7)));
    }
}
