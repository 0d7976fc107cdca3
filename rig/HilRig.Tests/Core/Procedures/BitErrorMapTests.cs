using HilRig.Core.Procedures;

namespace HilRig.Tests.Procedures;

public class BitErrorMapTests
{
    [Test]
    public void Counts_stuck_at_0_and_stuck_at_1_by_direction_and_bit_position()
    {
        var map = new BitErrorMap();
        byte[] expected = [0xFF, 0x00, 0xFF, 0x00];
        byte[] actual = [0xFE, 0x80, 0xFF, 0x00]; // bit 0 reads 0 at +0, bit 7 reads 1 at +1
        map.Compare(0x20000, expected, actual);
        Assert.Multiple(() =>
        {
            Assert.That(map.ErrorBits, Is.EqualTo(2));
            Assert.That(map.StuckAt0, Is.EqualTo(1));
            Assert.That(map.StuckAt1, Is.EqualTo(1));
            Assert.That(map.FirstBadAddress, Is.EqualTo(0x20000));
            Assert.That(map.ByBitPosition[0], Is.EqualTo(1));
            Assert.That(map.ByBitPosition[7], Is.EqualTo(1));
            Assert.That(map.BadSectors, Is.EqualTo(new uint[] { 0x20000 }));
            Assert.That(map.Signature(), Does.Contain("1 stuck-at-0, 1 stuck-at-1"));
        });
    }

    [Test]
    public void Many_bits_left_at_0_by_one_erase_name_the_sector_as_an_erase_failure()
    {
        var map = new BitErrorMap();
        var erased = Enumerable.Repeat((byte)0xFF, 8192).ToArray();
        var read = (byte[])erased.Clone();
        for (var i = 5000; i < 5010; i++) read[i] = 0xFE; // ten bits in the second sector
        read[100] = 0x7F; // one stuck cell in the first
        map.Compare(0x40000, erased, read, afterErase: true);
        Assert.That(map.EraseFailedSectors, Is.EqualTo(new uint[] { 0x41000 }));
        Assert.That(map.BadSectors, Is.EqualTo(new uint[] { 0x40000, 0x41000 }));
        Assert.That(map.Signature(), Does.StartWith("erase failure in 1 sector(s) 0x041000"));
    }

    [Test]
    public void A_chip_that_programs_nothing_is_named_dead_or_protected()
    {
        var map = new BitErrorMap();
        var zeros = new byte[4096];
        var ff = Enumerable.Repeat((byte)0xFF, 4096).ToArray();
        map.Compare(0x60000, ff, ff, afterErase: true);
        map.Compare(0x60000, zeros, ff);
        Assert.That(map.Signature(), Does.StartWith("no cell programs"));
    }

    [Test]
    public void Identical_content_is_clean()
    {
        var map = new BitErrorMap();
        var data = Enumerable.Range(0, 1024).Select(i => (byte)i).ToArray();
        map.Compare(0x20000, data, data);
        Assert.That(map.Clean, Is.True);
        Assert.That(map.Signature(), Is.EqualTo("no bit errors"));
    }
}
