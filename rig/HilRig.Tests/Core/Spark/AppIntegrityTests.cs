using HilRig.Core.Spark;
using HilRig.Sim.Device.Firmware;

namespace HilRig.Tests.SimDevice.Firmware;

public class AppIntegrityTests
{
    [Test]
    public void A_generated_image_is_intact_in_its_app_area_and_one_flipped_bit_makes_it_corrupt()
    {
        var image = SparkAppImageGenerator.Generate(5, size: 20000);
        var area = Enumerable.Repeat((byte)0xFF, SparkMemoryMap.AppMaxSize).ToArray();
        image.CopyTo(area, 0);
        Assert.That(AppIntegrity.Check(area), Is.EqualTo(AppIntegrityResult.Intact), "bytes past the image do not matter");
        area[12345] ^= 0x10;
        Assert.That(AppIntegrity.Check(area), Is.EqualTo(AppIntegrityResult.Corrupt));
    }

    [Test]
    public void An_unstamped_image_that_looks_like_a_Spark_app_is_foreign_and_runs()
    {
        var image = SparkAppImageGenerator.Generate(5, size: 4096);
        Array.Clear(image, 7 * 4, 8); // a real build has zeros in reserved vectors 7 and 8
        Assert.That(AppIntegrity.Check(image), Is.EqualTo(AppIntegrityResult.Foreign));
        var erased = Enumerable.Repeat((byte)0xFF, 4096).ToArray();
        Assert.That(AppIntegrity.Check(erased), Is.EqualTo(AppIntegrityResult.Corrupt));
    }
}
