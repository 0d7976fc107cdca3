using HilRig.Sim.Device.Flash;

namespace HilRig.Tests.SimDevice.Flash;

public class Stm32InternalFlashTests
{
    private const uint App = 0x08005000;

    [Test]
    public void Geometry_is_128_KiB_of_1_KiB_pages_at_0x08000000_and_erased_at_start()
    {
        var flash = new Stm32InternalFlash();
        Assert.That(flash.BaseAddress, Is.EqualTo(0x08000000u));
        Assert.That(flash.Size, Is.EqualTo(128 * 1024));
        Assert.That(flash.EraseUnit, Is.EqualTo(1024));
        Assert.That(flash.ReadWord(0x0801FFFC), Is.EqualTo(0xFFFFFFFFu));
    }

    [Test]
    public void Write_pads_an_odd_tail_with_ff_and_costs_50_us_per_half_word()
    {
        var flash = new Stm32InternalFlash();
        var result = flash.Write(App, [1, 2, 3, 4, 5, 6]);
        Assert.That(flash.View(App, 8).ToArray(), Is.EqualTo(new byte[] { 1, 2, 3, 4, 5, 6, 0xFF, 0xFF }));
        Assert.That(result.Duration, Is.EqualTo(TimeSpan.FromMicroseconds(4 * 50)));
    }

    [Test]
    public void Overwriting_programmed_data_fails_with_pgerr_keeps_the_old_data_and_refuses_the_rest()
    {
        var flash = new Stm32InternalFlash();
        flash.Write(App, [0x11, 0x22, 0x33, 0x44]);
        flash.Write(App, [0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC]);
        Assert.That(flash.ProgramError, Is.True);
        Assert.That(flash.View(App, 8).ToArray(), Is.EqualTo(new byte[] { 0x11, 0x22, 0x33, 0x44, 0xFF, 0xFF, 0xFF, 0xFF }),
            "PGERR is sticky, so the erased word after it is not programmed either");
    }

    [Test]
    public void Zero_may_be_written_over_anything_and_erase_restores_ff()
    {
        var flash = new Stm32InternalFlash();
        flash.Write(App, [0x11, 0x22]);
        Assert.That(flash.ProgramHalfWord(App, 0x0000).Duration, Is.EqualTo(TimeSpan.FromMicroseconds(50)));
        Assert.That(flash.ProgramError, Is.False);
        Assert.That(flash.ReadHalfWord(App), Is.Zero);
        Assert.That(flash.Erase(App + 0x3FF).Duration, Is.EqualTo(TimeSpan.FromMilliseconds(30)));
        Assert.That(flash.ReadHalfWord(App), Is.EqualTo(0xFFFF));
    }

    [Test]
    public void Write_protected_bootloader_pages_refuse_erase_and_program_with_wrprterr()
    {
        var flash = new Stm32InternalFlash { BootloaderWriteProtected = true };
        flash.ManufactureProgram(0x08000000, [0x00, 0x50, 0x00, 0x20]);
        var erase = flash.Erase(0x08003C00 + 0x10);
        Assert.That(flash.WriteProtectionError, Is.True);
        Assert.That(erase.Duration, Is.EqualTo(TimeSpan.Zero));
        flash.Erase(0x08000000);
        Assert.That(flash.ReadWord(0x08000000), Is.EqualTo(0x20005000u));
        Assert.That(flash.Erase(0x08004000).Duration, Is.EqualTo(TimeSpan.FromMilliseconds(30)), "page 16 is not protectable");
        Assert.That(flash.WriteProtectionError, Is.False);

        var open = new Stm32InternalFlash();
        open.ManufactureProgram(0x08000000, [0x00, 0x50, 0x00, 0x20]);
        open.Erase(0x08000000);
        Assert.That(open.ReadWord(0x08000000), Is.EqualTo(0xFFFFFFFFu));
    }

    [Test]
    public void Access_outside_internal_flash_names_the_address_and_the_valid_range()
    {
        var flash = new Stm32InternalFlash();
        Assert.That(() => flash.Write(0x0801FFFE, [1, 2, 3]),
            Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("0x0801FFFE").And.Message.Contains("0x08000000-0x0801FFFF"));
    }
}
