using HilRig.Core.Dfu;

namespace HilRig.Tests.Dfu;

public class MemoryLayoutTests
{
    [Test]
    public void Spark_internal_flash_has_20_read_only_bootloader_pages_then_108_application_pages()
    {
        var layout = MemoryLayout.Parse("@Internal Flash  /0x08000000/20*001Ka,108*001Kg");
        Assert.That(layout.Name, Is.EqualTo("Internal Flash  "));
        Assert.That(layout.Segments, Is.EqualTo(new[]
        {
            new MemorySegment(0x08000000, 1024, 20, true, false, false),
            new MemorySegment(0x08005000, 1024, 108, true, true, true),
        }));
        Assert.That(layout.FindSegment(0x08004FFF), Is.SameAs(layout.Segments[0]));
        Assert.That(layout.FindSegment(0x08005000), Is.SameAs(layout.Segments[1]));
        Assert.That(layout.FindSegment(0x0801FFFF), Is.SameAs(layout.Segments[1]));
        Assert.That(layout.FindSegment(0x08020000), Is.Null);
    }

    [Test]
    public void Spark_SPI_flash_is_512_sectors_of_4K()
    {
        var layout = MemoryLayout.Parse("@SPI Flash : SST25x/0x00000000/512*04Kg");
        Assert.That(layout.Name, Is.EqualTo("SPI Flash : SST25x"));
        Assert.That(layout.Segments.Single(), Is.EqualTo(new MemorySegment(0, 4096, 512, true, true, true)));
        Assert.That(layout.Segments[0].End, Is.EqualTo(0x200000));
        Assert.That(layout.Segments[0].TypeText, Is.EqualTo("rew"));
    }

    [Test]
    public void STM32F4_groups_are_laid_out_back_to_back()
    {
        var layout = MemoryLayout.Parse("@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg");
        Assert.That(layout.Segments.Select(s => (s.Start, s.PageSize, s.PageCount)), Is.EqualTo(new[]
        {
            (0x08000000u, 16 * 1024, 4), (0x08010000u, 64 * 1024, 1), (0x08020000u, 128 * 1024, 7),
        }));
        Assert.That(layout.Segments[^1].End, Is.EqualTo(0x08100000));
        Assert.That(layout.Segments[1].PageStart(0x0801FFFF), Is.EqualTo(0x08010000u));
    }

    [Test]
    public void A_space_unit_means_bytes_as_ST_ROMs_write_it()
    {
        var layout = MemoryLayout.Parse("@Option Bytes  /0x1FFFC000/01*016 g");
        Assert.That(layout.Segments.Single(), Is.EqualTo(new MemorySegment(0x1FFFC000, 16, 1, true, true, true)));
    }

    [Test]
    public void Several_address_sections_and_every_type_letter()
    {
        var layout = MemoryLayout.Parse("@Mixed/0x00000000/1*1Ba,1*1Bb,1*1Bc,1*1Bd/0x10000000/1*1Me,1*1Bf,1*1Bg/");
        Assert.That(layout.Segments.Select(s => s.TypeText), Is.EqualTo(new[] { "r", "e", "re", "w", "rw", "ew", "rew" }));
        Assert.That(layout.Segments[4].Start, Is.EqualTo(0x10000000u));
        Assert.That(layout.Segments[5].Start, Is.EqualTo(0x10100000u));
    }

    [TestCase("Internal Flash/0x08000000/20*001Ka", "must start with '@'")]
    [TestCase("@Internal Flash", "no '/0xADDR/' section")]
    [TestCase("@Flash/08000000/20*001Ka", "'08000000'")]
    [TestCase("@Flash/0xZZ/20*001Ka", "'0xZZ'")]
    [TestCase("@Flash/0x08000000", "'0x08000000' has an address but no page groups")]
    [TestCase("@Flash/0x08000000/20*001Kz", "'20*001Kz' has type 'z'")]
    [TestCase("@Flash/0x08000000/20*001Xa", "'20*001Xa' has unit 'X'")]
    [TestCase("@Flash/0x08000000/20x001Ka", "'20x001Ka' has no 'count*' prefix")]
    [TestCase("@Flash/0x08000000/0*001Ka", "page count '0'")]
    [TestCase("@Flash/0x08000000/20*Ka", "'20*Ka' has no positive decimal page size")]
    [TestCase("@Flash/0x08000000/20*001K", "'20*001K' must end with one unit and one type letter")]
    [TestCase("@Flash/0x08000000/20*001Ka,", "page group ''")]
    [TestCase("@Flash/0xFFFFF000/2*4Kg", "runs past the 4 GiB")]
    public void A_malformed_layout_names_the_offending_part(string text, string expected)
    {
        var e = Assert.Throws<FormatException>(() => MemoryLayout.Parse(text));
        Assert.That(e!.Message, Does.Contain(expected).And.Contain(text));
    }
}
