using HilRig.Core.Config;
using HilRig.Sim.Device.Flash;

namespace HilRig.Tests.SimDevice.Flash;

public class FlashFaultTests
{
    private static byte[] ReadBack(Sst25vf016b chip, uint address, int length)
    {
        var bytes = new byte[length];
        chip.Read(address, bytes);
        return bytes;
    }

    [Test]
    public void Stuck_bits_are_distinct_cells_inside_the_image_slots_about_half_stuck_high()
    {
        var chip = new Sst25vf016b(new FlashCondition.StuckBits(400), 42);
        var cells = chip.StuckCells;
        Assert.That(cells, Has.Count.EqualTo(400));
        Assert.That(cells.Select(c => (c.Address, c.Bit)).Distinct().Count(), Is.EqualTo(400));
        Assert.That(cells.Select(c => c.Address), Is.All.InRange(Sst25vf016b.FaultRegionStart, Sst25vf016b.FaultRegionEnd - 1));
        Assert.That(cells.Count(c => c.StuckAtOne), Is.InRange(150, 250));
    }

    [Test]
    public void Fault_placement_follows_the_seed()
    {
        var a = new Sst25vf016b(new FlashCondition.StuckBits(50), 7).StuckCells;
        var b = new Sst25vf016b(new FlashCondition.StuckBits(50), 7).StuckCells;
        var c = new Sst25vf016b(new FlashCondition.StuckBits(50), 8).StuckCells;
        Assert.That(b, Is.EqualTo(a));
        Assert.That(c, Is.Not.EqualTo(a));
        var bad1 = new Sst25vf016b(new FlashCondition.BadSectors(5), 7).BadSectorAddresses;
        Assert.That(new Sst25vf016b(new FlashCondition.BadSectors(5), 7).BadSectorAddresses, Is.EqualTo(bad1));
        Assert.That(new Sst25vf016b(new FlashCondition.BadSectors(5), 9).BadSectorAddresses, Is.Not.EqualTo(bad1));
    }

    [Test]
    public void A_stuck_cell_reads_its_stuck_value_whatever_was_written()
    {
        var chip = new Sst25vf016b(new FlashCondition.StuckBits(64), 3);
        var data = new byte[0x60000];
        new Random(1).NextBytes(data);
        chip.ManufactureProgram(0x20000, data);
        var read = ReadBack(chip, 0x20000, data.Length);
        var differing = 0;
        foreach (var cell in chip.StuckCells)
        {
            var bit = (read[cell.Address - 0x20000] >> cell.Bit) & 1;
            Assert.That(bit, Is.EqualTo(cell.StuckAtOne ? 1 : 0), $"cell 0x{cell.Address:X}.{cell.Bit}");
        }
        for (var i = 0; i < data.Length; i++)
        {
            if (read[i] != data[i]) differing++;
        }
        Assert.That(differing, Is.GreaterThan(10).And.LessThanOrEqualTo(64), "only stuck cells whose written bit differs show up");
    }

    [Test]
    public void A_stuck_cell_reads_the_same_in_a_bulk_read_a_word_at_a_time_and_in_a_read_wrapping_past_the_chips_end()
    {
        // the bootloader copies an image a word at a time, a readback in bulk, and the address counter wraps at 2 MiB
        var chip = new Sst25vf016b(new FlashCondition.StuckBits(300), 11);
        var data = new byte[0x60000];
        new Random(2).NextBytes(data);
        chip.ManufactureProgram(0x20000, data);
        var bulk = ReadBack(chip, 0, Sst25vf016b.Size);
        var words = new byte[Sst25vf016b.Size];
        for (var a = 0; a < words.Length; a += 4) chip.Read((uint)a, words.AsSpan(a, 4));
        Assert.That(words.AsSpan().SequenceEqual(bulk), Is.True);
        var wrapped = ReadBack(chip, 0x30001, Sst25vf016b.Size + 0x40000);
        Assert.That(wrapped.AsSpan(0, Sst25vf016b.Size - 0x30001).SequenceEqual(bulk.AsSpan(0x30001)), Is.True);
        Assert.That(wrapped.AsSpan(Sst25vf016b.Size - 0x30001).SequenceEqual(bulk.AsSpan(0, 0x70001)), Is.True, "past the end it reads from address 0 again");
        Assert.That(chip.StuckCells.Count(c => ((bulk[c.Address] >> c.Bit) & 1) == (c.StuckAtOne ? 1 : 0)), Is.EqualTo(300));
    }

    [Test]
    public void Stuck_high_bit_survives_erase_and_stuck_low_bit_shows_in_an_erased_sector()
    {
        var chip = new Sst25vf016b(new FlashCondition.StuckBits(200), 5);
        chip.EnableWriteStatus();
        chip.WriteStatus(0);
        var low = chip.StuckCells.First(c => !c.StuckAtOne);
        chip.WriteEnable();
        chip.EraseSector(low.Address);
        Assert.That(ReadBack(chip, low.Address, 1)[0] & (1 << low.Bit), Is.Zero);
        var high = chip.StuckCells.First(c => c.StuckAtOne);
        chip.ManufactureProgram(high.Address, [0x00]);
        Assert.That(ReadBack(chip, high.Address, 1)[0] & (1 << high.Bit), Is.Not.Zero);
    }

    [Test]
    public void A_bad_sector_keeps_some_zero_bits_after_every_erase_and_good_sectors_erase_clean()
    {
        var chip = new Sst25vf016b(new FlashCondition.BadSectors(4), 11);
        chip.EnableWriteStatus();
        chip.WriteStatus(0);
        Assert.That(chip.BadSectorAddresses, Has.Count.EqualTo(4));
        Assert.That(chip.BadSectorAddresses, Is.All.InRange(Sst25vf016b.FaultRegionStart, Sst25vf016b.FaultRegionEnd - Sst25vf016b.SectorSize));
        Assert.That(chip.BadSectorAddresses.All(a => a % Sst25vf016b.SectorSize == 0), Is.True);
        foreach (var sector in chip.BadSectorAddresses)
        {
            for (var round = 0; round < 3; round++)
            {
                chip.WriteEnable();
                chip.EraseSector(sector);
                Assert.That(ReadBack(chip, sector, Sst25vf016b.SectorSize).Any(b => b != 0xFF), Is.True, $"sector 0x{sector:X} round {round}");
            }
        }
        var good = Enumerable.Range(0x20, 0x60).Select(s => (uint)(s * Sst25vf016b.SectorSize)).First(a => !chip.BadSectorAddresses.Contains(a));
        chip.WriteEnable();
        chip.EraseSector(good);
        Assert.That(ReadBack(chip, good, Sst25vf016b.SectorSize), Is.All.EqualTo(0xFF));
    }

    [Test]
    public void Bad_sector_residue_is_the_same_for_the_same_seed_and_history()
    {
        static byte[] Run(int seed)
        {
            var chip = new Sst25vf016b(new FlashCondition.BadSectors(96), seed);
            chip.ManufactureProgram(0x20000, new byte[0x60000]);
            chip.ManufactureProgram(0x20000, Enumerable.Repeat((byte)0xFF, 0x60000).ToArray());
            var bytes = new byte[0x60000];
            chip.Read(0x20000, bytes);
            return bytes;
        }
        var first = Run(4);
        Assert.That(Run(4), Is.EqualTo(first));
        Assert.That(Run(5), Is.Not.EqualTo(first));
    }

    [Test]
    public void Manufacture_on_a_bad_sector_chip_already_corrupts_the_factory_image()
    {
        var chip = new Sst25vf016b(new FlashCondition.BadSectors(96), 2);
        var image = Enumerable.Repeat((byte)0xFF, 0x20000).ToArray();
        chip.ManufactureProgram(0x20000, image);
        Assert.That(ReadBack(chip, 0x20000, image.Length), Is.Not.EqualTo(image));
    }

    [TestCase(0)]
    [TestCase(97)]
    public void Bad_sector_count_outside_the_image_slots_is_refused(int count)
    {
        Assert.That(() => new Sst25vf016b(new FlashCondition.BadSectors(count), 1),
            Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("badSectors").And.Message.Contains("1..96"));
    }

    [Test]
    public void Stuck_bit_count_must_be_positive()
    {
        Assert.That(() => new Sst25vf016b(new FlashCondition.StuckBits(0), 1),
            Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("stuckBits"));
    }
}
