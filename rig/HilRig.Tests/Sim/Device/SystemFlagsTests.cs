using HilRig.Sim.Device;
using HilRig.Sim.Device.Flash;

namespace HilRig.Tests.SimDevice;

public class SystemFlagsTests
{
    private const uint Page = 0x08004C00;

    [Test]
    public void Save_writes_five_little_endian_half_words_at_the_flags_page_and_load_reads_them_back()
    {
        var flash = new Stm32InternalFlash();
        var flags = new SystemFlags { NvmemSparkReset = 0x0001, FlashOtaUpdate = 0x0005, OtaFlashedStatus = 0x0000, FactoryReset = 0xAAAA };
        var time = flags.Save(flash);
        Assert.That(flash.View(Page, 12).ToArray(), Is.EqualTo(new byte[] { 0xFF, 0xFF, 0x01, 0x00, 0x05, 0x00, 0x00, 0x00, 0xAA, 0xAA, 0xFF, 0xFF }));
        Assert.That(time, Is.EqualTo(TimeSpan.FromMilliseconds(30) + TimeSpan.FromMicroseconds(5 * 50)));

        var loaded = new SystemFlags();
        loaded.Load(flash);
        Assert.That((loaded.NvmemSparkReset, loaded.FlashOtaUpdate, loaded.OtaFlashedStatus, loaded.FactoryReset),
            Is.EqualTo(((ushort)1, (ushort)5, (ushort)0, (ushort)0xAAAA)));
    }

    [Test]
    public void Save_rewrites_the_page_so_a_flag_can_go_back_from_0x5000_to_0x0005()
    {
        var flash = new Stm32InternalFlash();
        var flags = new SystemFlags { FlashOtaUpdate = 0x5000 };
        flags.Save(flash);
        flags.FlashOtaUpdate = 0x0005;
        flags.Save(flash);
        Assert.That(flash.ReadHalfWord(Page + 4), Is.EqualTo(0x0005));
        Assert.That(flash.ProgramError, Is.False);
    }

    [Test]
    public void The_2013_layout_has_no_factory_reset_word()
    {
        var flash = new Stm32InternalFlash();
        new SystemFlags { FactoryReset = 0xAAAA, FlashOtaUpdate = 0x5000 }.Save(flash, SystemFlags.WordCount2013);
        Assert.That(flash.ReadHalfWord(Page + 8), Is.EqualTo(0xFFFF));
        flash.ProgramHalfWord(Page + 8, 0xAAAA);
        var loaded = new SystemFlags();
        loaded.Load(flash, SystemFlags.WordCount2013);
        Assert.That(loaded.FactoryReset, Is.EqualTo(0xFFFF), "a 2013 bootloader does not read +8");
        Assert.That(loaded.FlashOtaUpdate, Is.EqualTo(0x5000));
        Assert.That(() => loaded.Load(flash, 3), Throws.TypeOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void Backup_registers_are_not_in_flash_and_a_power_loss_can_clear_them()
    {
        var flash = new Stm32InternalFlash();
        var flags = new SystemFlags { BkpDr1 = 5, BkpDr10 = 0x5000 };
        flags.Save(flash);
        var other = new SystemFlags();
        other.Load(flash);
        Assert.That((other.BkpDr1, other.BkpDr10), Is.EqualTo(((ushort)0, (ushort)0)));
        flags.ClearBackupRegisters();
        Assert.That((flags.BkpDr1, flags.BkpDr9, flags.BkpDr10), Is.EqualTo(((ushort)0, (ushort)0, (ushort)0)));
    }
}
