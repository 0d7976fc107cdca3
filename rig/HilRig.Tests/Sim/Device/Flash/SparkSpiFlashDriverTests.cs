using HilRig.Core.Config;
using HilRig.Sim.Device.Flash;

namespace HilRig.Tests.SimDevice.Flash;

public class SparkSpiFlashDriverTests
{
    private const double MicrosPerByte = (8.0 / 18.0) + 1.0;

    private static SparkSpiFlashDriver Driver(FlashCondition? condition = null)
    {
        var driver = new SparkSpiFlashDriver(new Sst25vf016b(condition ?? FlashCondition.Healthy, 1));
        driver.Init();
        return driver;
    }

    private static byte[] ReadBack(IFlashMedia media, uint address, int length)
    {
        var bytes = new byte[length];
        media.Read(address, bytes);
        return bytes;
    }

    [Test]
    public void Init_unprotects_a_genuine_sst_chip()
    {
        var driver = Driver();
        Assert.That(driver.Unprotected, Is.True);
        Assert.That(driver.Chip.ReadStatus(), Is.Zero);
        Assert.That(driver.Size, Is.EqualTo(0x200000));
        Assert.That(driver.EraseUnit, Is.EqualTo(4096));
    }

    [Test]
    public void Without_init_the_chip_stays_protected_and_writes_are_silently_lost()
    {
        var driver = new SparkSpiFlashDriver(new Sst25vf016b(FlashCondition.Healthy, 1));
        var result = driver.Write(0x80000, [1, 2, 3, 4]);
        Assert.That(result.Hung, Is.False);
        Assert.That(ReadBack(driver, 0x80000, 4), Is.All.EqualTo(0xFF));
    }

    [TestCase(0x80000u, 1024)]
    [TestCase(0x80001u, 1024)]
    [TestCase(0x80001u, 7)]
    [TestCase(0x80000u, 5)]
    [TestCase(0x80003u, 1)]
    public void Write_after_erase_reads_back_for_odd_and_even_starts_and_lengths(uint address, int length)
    {
        var driver = Driver();
        driver.Erase(address);
        var data = new byte[length];
        new Random(length).NextBytes(data);
        driver.Write(address, data);
        Assert.That(ReadBack(driver, address, length), Is.EqualTo(data));
        Assert.That(ReadBack(driver, address + (uint)length, 1)[0], Is.EqualTo(0xFF), "nothing written past the end");
        Assert.That(driver.Chip.InAaiMode, Is.False);
    }

    [Test]
    public void Write_without_erase_ands_into_the_old_data_as_the_bootloader_does()
    {
        var driver = Driver();
        driver.Erase(0x1000);
        driver.Write(0x1000, [0xF0, 0xF0]);
        driver.Write(0x1000, [0x3C, 0x0F]);
        Assert.That(ReadBack(driver, 0x1000, 2), Is.EqualTo(new byte[] { 0x30, 0x00 }));
    }

    [Test]
    public void Device_time_is_spi_clocking_plus_driver_overhead_plus_the_chip_busy_time()
    {
        var driver = Driver();
        var erase = driver.Erase(0x20000);
        Assert.That(erase.Duration.TotalMicroseconds, Is.EqualTo(18000 + (7 * MicrosPerByte)).Within(0.5));
        Assert.That(driver.Read(0x20000, new byte[1024]).TotalMicroseconds, Is.EqualTo(1028 * MicrosPerByte).Within(0.5));
        var write = driver.Write(0x20000, new byte[1024]);
        var wireBytes = 1 + 6 + 2 + (511 * 5) + 3;
        Assert.That(write.Duration.TotalMicroseconds, Is.EqualTo((512 * 7) + (wireBytes * MicrosPerByte)).Within(0.5));
    }

    [Test]
    public void Slow_chip_stretches_a_128_KiB_slot_erase_from_about_0_6_s_to_factor_times_0_8_s()
    {
        static TimeSpan EraseSlot(SparkSpiFlashDriver driver)
        {
            var total = TimeSpan.Zero;
            for (uint a = 0x60000; a < 0x80000; a += 0x1000) total += driver.Erase(a).Duration;
            return total;
        }
        Assert.That(EraseSlot(Driver()).TotalMilliseconds, Is.EqualTo(32 * 18).Within(1));
        Assert.That(EraseSlot(Driver(new FlashCondition.Slow(4))).TotalMilliseconds, Is.EqualTo(32 * 100).Within(1));
    }

    [Test]
    public void Dead_chip_is_not_recognised_reads_ff_and_hangs_erase_and_write()
    {
        var driver = Driver(new FlashCondition.Dead());
        Assert.That(driver.Unprotected, Is.False);
        Assert.That(ReadBack(driver, 0x2000, 8), Is.All.EqualTo(0xFF));
        Assert.That(driver.Erase(0x2000).Hung, Is.True);
        Assert.That(driver.Write(0x2000, [1, 2]).Hung, Is.True);
    }

    [Test]
    public void Access_past_the_end_is_refused_with_the_address()
    {
        var driver = Driver();
        Assert.That(() => driver.Write(0x1FFFFF, [1, 2]), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("0x1FFFFF"));
    }
}
