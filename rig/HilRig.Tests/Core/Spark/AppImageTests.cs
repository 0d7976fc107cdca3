using System.Buffers.Binary;
using HilRig.Core.Spark;

namespace HilRig.Tests.Spark;

public class AppImageTests
{
    private static byte[] Vectors(uint sp, uint reset, int length = 64)
    {
        var bytes = new byte[length];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, sp);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), reset);
        return bytes;
    }

    [TestCase(0x20005000u, true)]
    [TestCase(0x20000400u, true)]
    [TestCase(0x2001FFFCu, true)]
    [TestCase(0xFFFFFFFFu, false)]
    [TestCase(0x00000000u, false)]
    [TestCase(0x20020000u, false)]
    [TestCase(0x10005000u, false)]
    [TestCase(0x30005000u, true)] // bit 28 is outside the mask
    public void Bootloader_check_is_only_the_stack_pointer_mask(uint sp, bool passes)
    {
        var image = new AppImage(Vectors(sp, 0xDEADBEEF));
        Assert.That(image.PassesBootloaderCheck, Is.EqualTo(passes));
    }

    [Test]
    public void A_real_spark_build_has_sp_at_sram_top_and_an_odd_reset_handler_in_the_app_area()
    {
        var tinker = new AppImage(Vectors(0x20005000, 0x080092CD));
        Assert.That(tinker.LooksLikeSparkApp, Is.True);
        Assert.That(tinker.InitialStackPointer, Is.EqualTo(0x20005000u));
        Assert.That(tinker.ResetHandler, Is.EqualTo(0x080092CDu));
    }

    [TestCase(0x20005000u, 0x080092CCu, TestName = "even reset handler (not Thumb)")]
    [TestCase(0x20005000u, 0x0800010Du, TestName = "reset handler in the bootloader")]
    [TestCase(0x20005000u, 0x08020001u, TestName = "reset handler past the app area")]
    [TestCase(0x20004000u, 0x080092CDu, TestName = "stack pointer not at SRAM top")]
    public void Garbage_that_passes_the_sp_check_is_not_a_spark_app(uint sp, uint reset)
    {
        var image = new AppImage(Vectors(sp, reset));
        Assert.That(image.PassesBootloaderCheck, Is.True);
        Assert.That(image.LooksLikeSparkApp, Is.False);
    }

    [Test]
    public void An_image_shorter_than_a_word_reads_as_erased()
    {
        var image = new AppImage([0x00, 0x50]);
        Assert.That(image.InitialStackPointer, Is.EqualTo(0xFFFFFFFFu));
        Assert.That(image.PassesBootloaderCheck, Is.False);
    }

    [Test]
    public void Size_limits_name_the_source_and_the_valid_range()
    {
        Assert.That(AppImage.ValidateSize(new byte[110592], "tinker.bin"), Is.Null);
        Assert.That(AppImage.ValidateSize(new byte[110593], "big.bin"), Does.Contain("big.bin").And.Contain("110593").And.Contain("110592"));
        Assert.That(AppImage.ValidateSize([], "empty.bin"), Does.Contain("empty.bin").And.Contain("empty"));
        Assert.That(new AppImage(new byte[110593]).FitsAppArea, Is.False);
    }
}
