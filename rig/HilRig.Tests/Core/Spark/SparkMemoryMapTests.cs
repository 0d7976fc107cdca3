using HilRig.Core.Spark;

namespace HilRig.Tests.Spark;

public class SparkMemoryMapTests
{
    [Test]
    public void App_area_runs_from_0x08005000_to_the_end_of_internal_flash_right_after_the_flags_page()
    {
        Assert.Multiple(() =>
        {
            Assert.That(SparkMemoryMap.AppAddress, Is.EqualTo(0x08005000u));
            Assert.That(SparkMemoryMap.AppEndExclusive, Is.EqualTo(SparkMemoryMap.InternalFlashBase + (uint)SparkMemoryMap.InternalFlashSize));
            Assert.That(SparkMemoryMap.SystemFlagsAddress + SparkMemoryMap.InternalPageSize, Is.EqualTo(SparkMemoryMap.AppAddress));
            Assert.That(SparkMemoryMap.AppPageCount, Is.EqualTo(108));
            Assert.That(SparkMemoryMap.BootloaderAddress + SparkMemoryMap.BootloaderMaxSize, Is.EqualTo(SparkMemoryMap.SystemFlagsAddress));
        });
    }

    [Test]
    public void External_image_slots_are_128_KiB_sector_aligned_in_order_and_end_where_the_free_area_starts()
    {
        var regions = SparkMemoryMap.ImageRegions;
        Assert.That(regions.Select(r => r.Name), Is.EqualTo(new[] { "factory", "backup", "ota" }));
        Assert.That(regions.Select(r => r.Start), Is.EqualTo(new uint[] { 0x20000, 0x40000, 0x60000 }));
        for (var i = 0; i < regions.Count; i++)
        {
            Assert.That(regions[i].Length, Is.EqualTo(0x20000));
            Assert.That(regions[i].Start % SparkMemoryMap.SpiSectorSize, Is.Zero);
            Assert.That(regions[i].Length, Is.GreaterThanOrEqualTo(SparkMemoryMap.AppMaxSize), "a slot must hold a full app area copy");
            if (i > 0) Assert.That(regions[i].Start, Is.EqualTo(regions[i - 1].End));
        }
        Assert.That(regions[^1].End, Is.EqualTo(SparkMemoryMap.FreeAreaAddress));
        Assert.That(SparkMemoryMap.FreeAreaAddress + (uint)SparkMemoryMap.FreeAreaSize, Is.EqualTo((uint)SparkMemoryMap.ExternalFlashSize));
        Assert.That(SparkMemoryMap.SpiSectorCount, Is.EqualTo(512));
    }

    [Test]
    public void Keys_sit_below_the_factory_slot_in_their_own_sectors()
    {
        Assert.That(SparkMemoryMap.ServerPublicKeyAddress / SparkMemoryMap.SpiSectorSize, Is.Not.EqualTo(SparkMemoryMap.CorePrivateKeyAddress / SparkMemoryMap.SpiSectorSize));
        Assert.That(SparkMemoryMap.CorePrivateKeyAddress + SparkMemoryMap.CorePrivateKeyLength, Is.LessThan(SparkMemoryMap.FactoryImageAddress));
        Assert.That(SparkMemoryMap.FactoryRegion.Contains(0x3FFFF), Is.True);
        Assert.That(SparkMemoryMap.FactoryRegion.Contains(0x40000), Is.False);
    }
}
