using HilRig.Core.Chips;
using HilRig.Core.Chips.Tcs34725;
using HilRig.Sim.Device;
using HilRig.Sim.Optics;
using HilRig.Sim.Rig.I2c;
using HilRig.Sim.Time;

namespace HilRig.Tests.Chips;

public class Tcs34725Tests
{
    private sealed class Bench
    {
        public Bench(SimScheduler sim, OpticsSettings? optics = null)
        {
            optics ??= OpticsSettings.Default with { NoiseLevel = 0, AmbientCountsPerCycle = 0 };
            Emitter = new LedEmitter(sim.Time, optics);
            Model = new Tcs34725Model(sim.Time, Emitter, [], optics, new Random(1));
            Bus = new SimI2cBus("test");
            Bus.Attach(0x29, Model);
            Driver = new Tcs34725(Bus.CreateDevice(0x29), sim.Time, "slot 5");
        }

        public LedEmitter Emitter { get; }

        public Tcs34725Model Model { get; }

        public SimI2cBus Bus { get; }

        public Tcs34725 Driver { get; }
    }

    [Test]
    public void Initialize_powers_on_then_enables_the_ADC_after_the_oscillator_delay_and_waits_for_valid_data()
    {
        using var sim = new SimScheduler();
        var bench = new Bench(sim);
        var elapsed = sim.Run(async () =>
        {
            await bench.Driver.InitializeAsync(TimeSpan.FromMilliseconds(24), 4);
            return sim.Time.Elapsed;
        });
        Assert.Multiple(() =>
        {
            Assert.That(bench.Model.Enable, Is.EqualTo(0x03), "PON|AEN");
            Assert.That(bench.Model.Atime, Is.EqualTo(0xF6), "24 ms = 10 cycles");
            Assert.That(bench.Model.Gain, Is.EqualTo(4));
            Assert.That(bench.Driver.IsValid(), Is.True);
            Assert.That(elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(2.4 + 24)), "PON wait plus one integration");
        });
    }

    [Test]
    public void Data_read_before_one_integration_time_after_AEN_is_not_valid()
    {
        using var sim = new SimScheduler();
        var bench = new Bench(sim);
        var (early, late) = sim.Run(async () =>
        {
            bench.Driver.WriteRegister(Tcs34725Registers.Atime, 0xF6);
            bench.Driver.WriteRegister(Tcs34725Registers.Enable, 0x01);
            await Task.Delay(TimeSpan.FromMilliseconds(3), sim.Time);
            bench.Driver.WriteRegister(Tcs34725Registers.Enable, 0x03);
            await Task.Delay(TimeSpan.FromMilliseconds(20), sim.Time);
            var e = bench.Driver.IsValid();
            await Task.Delay(TimeSpan.FromMilliseconds(5), sim.Time);
            return (e, bench.Driver.IsValid());
        });
        Assert.That((early, late), Is.EqualTo((false, true)));
    }

    [TestCase(0x10)]
    [TestCase(0x00)]
    public void A_part_with_the_wrong_ID_is_a_clear_rig_fault_naming_the_ID(int id)
    {
        using var sim = new SimScheduler();
        var bench = new Bench(sim);
        bench.Model.Id = (byte)id;
        var ex = Assert.Throws<SensorException>(() => sim.Run(() => bench.Driver.InitializeAsync(TimeSpan.FromMilliseconds(24), 1)));
        Assert.That(ex!.Message, Does.Contain("slot 5").And.Contain($"0x{id:X2}").And.Contain("0x44"));
    }

    [Test]
    public void The_TCS34727_ID_is_accepted()
    {
        using var sim = new SimScheduler();
        var bench = new Bench(sim);
        bench.Model.Id = 0x4D;
        sim.Run(() => bench.Driver.InitializeAsync(TimeSpan.FromMilliseconds(24), 1));
        Assert.That(bench.Driver.ChipId, Is.EqualTo(0x4D));
    }

    [Test]
    public void A_NACK_becomes_a_sensor_exception_naming_the_slot()
    {
        using var sim = new SimScheduler();
        var bench = new Bench(sim);
        sim.Run(() => bench.Driver.InitializeAsync(TimeSpan.FromMilliseconds(24), 1));
        bench.Model.Nack = true;
        var ex = Assert.Throws<SensorException>(() => bench.Driver.ReadCounts());
        Assert.That(ex!.Slot, Is.EqualTo("slot 5"));
        Assert.That(ex.Message, Does.Contain("NACK").And.Contain("slot 5"));
        Assert.That(ex.InnerException, Is.InstanceOf<IOException>());
    }

    [Test]
    public void An_absent_sensor_NACKs_on_the_bus()
    {
        using var sim = new SimScheduler();
        var bus = new SimI2cBus("empty");
        var driver = new Tcs34725(bus.CreateDevice(0x29), sim.Time, "slot 2");
        var ex = Assert.Throws<SensorException>(() => driver.ReadRegister(Tcs34725Registers.Id));
        Assert.That(ex!.Message, Does.Contain("slot 2").And.Contain("0x29"));
    }

    [Test]
    public void Channel_data_is_little_endian_in_C_R_G_B_order()
    {
        var counts = Tcs34725.Decode([0x34, 0x12, 0x02, 0x01, 0xFF, 0x00, 0x00, 0x80]);
        Assert.That(counts, Is.EqualTo(new RgbcCounts(C: 0x1234, R: 0x0102, G: 0x00FF, B: 0x8000)));
    }

    [Test]
    public void Single_register_and_auto_increment_block_reads_return_the_same_counts()
    {
        using var sim = new SimScheduler();
        var bench = new Bench(sim);
        bench.Emitter.Show(LedProgram.Solid(SparkColors.Yellow));
        var (block, single) = sim.Run(async () =>
        {
            await bench.Driver.InitializeAsync(TimeSpan.FromMilliseconds(24), 1);
            var a = bench.Driver.ReadCounts();
            var device = bench.Bus.CreateDevice(0x29);
            var raw = new byte[8];
            device.WriteRead([(byte)(0x80 | 0x14)], raw);
            return (a, Tcs34725.Decode(raw));
        });
        Assert.That(single, Is.EqualTo(block));
        Assert.That(block.R, Is.GreaterThan(500), "yellow lights the red channel");
    }

    [Test]
    public void Counts_scale_with_gain_and_clip_at_the_full_scale_count()
    {
        using var sim = new SimScheduler();
        var bench = new Bench(sim);
        bench.Emitter.Show(LedProgram.Solid(SparkColors.Green));
        var (x1, x4, x60) = sim.Run(async () =>
        {
            await bench.Driver.InitializeAsync(TimeSpan.FromMilliseconds(24), 1);
            var one = bench.Driver.ReadCounts();
            bench.Driver.SetGain(4);
            await Task.Delay(TimeSpan.FromMilliseconds(50), sim.Time);
            var four = bench.Driver.ReadCounts();
            bench.Driver.SetGain(60);
            await Task.Delay(TimeSpan.FromMilliseconds(50), sim.Time);
            return (one, four, bench.Driver.ReadCounts());
        });
        Assert.Multiple(() =>
        {
            Assert.That(x4.G / (double)x1.G, Is.EqualTo(4).Within(0.02));
            Assert.That(x1.G, Is.GreaterThan(x1.R * 3), "green LED reads mostly green");
            Assert.That(x60.C, Is.EqualTo(10240), "24 ms full scale = 10 x 1024");
            Assert.That(bench.Driver.IsSaturated(x60), Is.True);
            Assert.That(bench.Driver.IsSaturated(x1), Is.False);
        });
    }

    [TestCase(0xFF, 1024)]
    [TestCase(0xF6, 10240)]
    [TestCase(0xC0, 65535)]
    [TestCase(0x00, 65535)]
    public void Full_scale_follows_ATIME(int atime, int max) =>
        Assert.That(Tcs34725Registers.MaxCount((byte)atime), Is.EqualTo(max));

    [Test]
    public void The_bus_counts_transaction_time_at_400_kHz()
    {
        using var sim = new SimScheduler();
        var bench = new Bench(sim);
        sim.Run(() => bench.Driver.InitializeAsync(TimeSpan.FromMilliseconds(24), 1));
        var before = bench.Bus.BusTime;
        bench.Driver.ReadCounts();
        // START + addr(9) + cmd(9) + Sr + addr(9) + 8 x 9 + STOP = 102 bits at 2.5 us
        Assert.That(bench.Bus.BusTime - before, Is.EqualTo(TimeSpan.FromTicks(2550)));
        Assert.That(I2cTiming.Transaction(1, 8), Is.EqualTo(TimeSpan.FromTicks(2550)));
    }
}
