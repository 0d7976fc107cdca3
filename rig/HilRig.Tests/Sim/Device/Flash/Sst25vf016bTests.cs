using HilRig.Core.Config;
using HilRig.Sim.Device.Flash;

namespace HilRig.Tests.SimDevice.Flash;

public class Sst25vf016bTests
{
    private static Sst25vf016b Unprotected(FlashCondition? condition = null, int seed = 1)
    {
        var chip = new Sst25vf016b(condition ?? FlashCondition.Healthy, seed);
        chip.EnableWriteStatus();
        chip.WriteStatus(0x00);
        return chip;
    }

    private static byte[] ReadBack(Sst25vf016b chip, uint address, int length)
    {
        var bytes = new byte[length];
        chip.Read(address, bytes);
        return bytes;
    }

    [Test]
    public void Identifies_as_sst25vf016b_and_powers_up_fully_protected()
    {
        var chip = new Sst25vf016b(FlashCondition.Healthy, 1);
        Assert.That(chip.JedecId(), Is.EqualTo(new byte[] { 0xBF, 0x25, 0x41 }));
        Assert.That(chip.ReadStatus(), Is.EqualTo(0x3C), "BP0-BP3 set, BUSY/WEL/AAI/BPL clear");
        Assert.That(ReadBack(chip, 0, 16), Is.All.EqualTo(0xFF));
    }

    [Test]
    public void Erase_and_program_are_ignored_while_block_protection_is_on()
    {
        var chip = new Sst25vf016b(FlashCondition.Healthy, 1);
        chip.ManufactureProgram(0x20000, [0x12, 0x34]);
        chip.WriteEnable();
        Assert.That(chip.EraseSector(0x20000), Is.EqualTo(TimeSpan.Zero));
        chip.WriteEnable();
        Assert.That(chip.ProgramByte(0x30000, 0x00), Is.EqualTo(TimeSpan.Zero));
        Assert.That(ReadBack(chip, 0x20000, 2), Is.EqualTo(new byte[] { 0x12, 0x34 }));
        Assert.That(ReadBack(chip, 0x30000, 1)[0], Is.EqualTo(0xFF));
    }

    [Test]
    public void Write_status_needs_ewsr_or_wren_right_before_it()
    {
        var chip = new Sst25vf016b(FlashCondition.Healthy, 1);
        chip.WriteStatus(0x00);
        Assert.That(chip.ReadStatus() & 0x3C, Is.EqualTo(0x3C), "WRSR without EWSR/WREN is ignored");
        chip.EnableWriteStatus();
        chip.JedecId();
        chip.WriteStatus(0x00);
        Assert.That(chip.ReadStatus() & 0x3C, Is.EqualTo(0x3C), "another command between EWSR and WRSR cancels it");
        chip.WriteEnable();
        chip.WriteStatus(0x00);
        Assert.That(chip.ReadStatus(), Is.Zero);
    }

    [Test]
    public void Bpl_with_wp_pin_low_locks_the_protection_bits()
    {
        var chip = new Sst25vf016b(FlashCondition.Healthy, 1) { WriteProtectPinLow = true };
        chip.EnableWriteStatus();
        chip.WriteStatus(0xBC);
        chip.EnableWriteStatus();
        chip.WriteStatus(0x00);
        Assert.That(chip.ReadStatus(), Is.EqualTo(0xBC));
        chip.WriteProtectPinLow = false;
        chip.EnableWriteStatus();
        chip.WriteStatus(0x00);
        Assert.That(chip.ReadStatus(), Is.Zero);
    }

    [Test]
    public void Bp0_alone_protects_only_the_top_64_KiB()
    {
        var chip = Unprotected();
        chip.EnableWriteStatus();
        chip.WriteStatus(Sst25vf016b.StatusBp0);
        chip.WriteEnable();
        Assert.That(chip.ProgramByte(0x1F0000, 0x00), Is.EqualTo(TimeSpan.Zero));
        chip.WriteEnable();
        Assert.That(chip.ProgramByte(0x1EFFFF, 0x00), Is.GreaterThan(TimeSpan.Zero));
        Assert.That(ReadBack(chip, 0x1EFFFF, 2), Is.EqualTo(new byte[] { 0x00, 0xFF }));
    }

    [Test]
    public void Every_erase_or_program_needs_its_own_write_enable()
    {
        var chip = Unprotected();
        chip.WriteEnable();
        Assert.That(chip.ReadStatus() & Sst25vf016b.StatusWel, Is.Not.Zero);
        chip.ProgramByte(0x100, 0xA5);
        Assert.That(chip.ReadStatus() & Sst25vf016b.StatusWel, Is.Zero);
        Assert.That(chip.ProgramByte(0x101, 0x5A), Is.EqualTo(TimeSpan.Zero));
        Assert.That(chip.EraseSector(0x100), Is.EqualTo(TimeSpan.Zero));
        Assert.That(ReadBack(chip, 0x100, 2), Is.EqualTo(new byte[] { 0xA5, 0xFF }));
    }

    [Test]
    public void Programming_only_clears_bits_and_sector_erase_restores_0xFF_for_that_sector_only()
    {
        var chip = Unprotected();
        chip.WriteEnable();
        chip.ProgramByte(0x1FFF, 0xF0);
        chip.WriteEnable();
        chip.ProgramByte(0x1FFF, 0x3F);
        chip.WriteEnable();
        chip.ProgramByte(0x2000, 0x00);
        Assert.That(ReadBack(chip, 0x1FFF, 2), Is.EqualTo(new byte[] { 0x30, 0x00 }));
        chip.WriteEnable();
        Assert.That(chip.EraseSector(0x1234), Is.EqualTo(Sst25vf016b.SectorEraseTypical));
        Assert.That(ReadBack(chip, 0x1FFF, 2), Is.EqualTo(new byte[] { 0xFF, 0x00 }));
    }

    [Test]
    public void Aai_programs_consecutive_words_and_blocks_other_commands_until_wrdi()
    {
        var chip = Unprotected();
        chip.WriteEnable();
        chip.AaiWordStart(0x400, 0x01, 0x02);
        chip.AaiWordNext(0x03, 0x04);
        Assert.That(chip.InAaiMode, Is.True);
        chip.WriteEnable();
        Assert.That(chip.EraseSector(0x400), Is.EqualTo(TimeSpan.Zero), "only AAI, WRDI and RDSR are accepted in AAI mode");
        chip.AaiWordNext(0x05, 0x06);
        chip.WriteDisable();
        Assert.That(chip.InAaiMode, Is.False);
        Assert.That(chip.AaiWordNext(0x07, 0x08), Is.EqualTo(TimeSpan.Zero));
        Assert.That(ReadBack(chip, 0x400, 8), Is.EqualTo(new byte[] { 1, 2, 3, 4, 5, 6, 0xFF, 0xFF }));
    }

    [Test]
    public void Chip_erase_works_only_when_unprotected()
    {
        var chip = new Sst25vf016b(FlashCondition.Healthy, 1);
        chip.ManufactureProgram(0x80000, [0x00]);
        chip.WriteEnable();
        Assert.That(chip.ChipErase(), Is.EqualTo(TimeSpan.Zero));
        chip.EnableWriteStatus();
        chip.WriteStatus(0);
        chip.WriteEnable();
        Assert.That(chip.ChipErase(), Is.EqualTo(Sst25vf016b.ChipEraseTypical));
        Assert.That(ReadBack(chip, 0x80000, 1)[0], Is.EqualTo(0xFF));
    }

    [Test]
    public void Power_cycle_restores_protection_and_clears_wel_and_aai()
    {
        var chip = Unprotected();
        chip.WriteEnable();
        chip.AaiWordStart(0, 0, 0);
        chip.PowerCycle();
        Assert.That(chip.ReadStatus(), Is.EqualTo(0x3C));
        Assert.That(chip.InAaiMode, Is.False);
    }

    [Test]
    public void Slow_chip_takes_the_factor_times_the_datasheet_maximum_and_healthy_the_typical()
    {
        var slow = Unprotected(new FlashCondition.Slow(3));
        slow.WriteEnable();
        Assert.That(slow.EraseSector(0x20000), Is.EqualTo(TimeSpan.FromMilliseconds(75)));
        slow.WriteEnable();
        Assert.That(slow.ProgramByte(0x20000, 0), Is.EqualTo(TimeSpan.FromMicroseconds(30)));
        Assert.That(slow.ChipEraseTime, Is.EqualTo(TimeSpan.FromMilliseconds(150)));
        var healthy = Unprotected();
        Assert.That(healthy.ByteProgramTime, Is.EqualTo(TimeSpan.FromMicroseconds(7)));
        Assert.That(healthy.WordProgramTime, Is.EqualTo(TimeSpan.FromMicroseconds(7)));
    }

    [Test]
    public void Dead_chip_reads_all_ones_and_ignores_every_command()
    {
        var chip = new Sst25vf016b(new FlashCondition.Dead(), 1);
        chip.ManufactureProgram(0x20000, [0x00, 0x00]);
        Assert.That(chip.JedecId(), Is.EqualTo(new byte[] { 0xFF, 0xFF, 0xFF }));
        Assert.That(chip.ReadStatus(), Is.EqualTo(0xFF));
        chip.EnableWriteStatus();
        chip.WriteStatus(0);
        chip.WriteEnable();
        Assert.That(chip.ProgramByte(0x20000, 0x00), Is.EqualTo(TimeSpan.Zero));
        Assert.That(ReadBack(chip, 0x20000, 2), Is.All.EqualTo(0xFF));
    }

    [TestCase(0)]
    [TestCase(-1)]
    [TestCase(double.NaN)]
    public void A_slow_factor_that_is_not_positive_is_refused_naming_the_condition(double factor)
    {
        Assert.That(() => new Sst25vf016b(new FlashCondition.Slow(factor), 1),
            Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("slow").And.Message.Contains("positive"));
    }

    [Test]
    public void Conditions_describe_themselves_in_config_form()
    {
        Assert.That(FlashCondition.Healthy.Describe(), Is.EqualTo("healthy"));
        Assert.That(new FlashCondition.StuckBits(12).Describe(), Is.EqualTo("{ stuckBits: 12 }"));
        Assert.That(new FlashCondition.BadSectors(3).Describe(), Is.EqualTo("{ badSectors: 3 }"));
        Assert.That(new FlashCondition.Slow(2.5).Describe(), Is.EqualTo("{ slow: 2.5 }"));
        Assert.That(new FlashCondition.Dead().Describe(), Is.EqualTo("{ dead: true }"));
    }
}
