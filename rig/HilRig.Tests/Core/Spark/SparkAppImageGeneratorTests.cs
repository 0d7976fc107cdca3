using System.Buffers.Binary;
using HilRig.Core.Spark;
using HilRig.Sim.Device.Firmware;

namespace HilRig.Tests.SimDevice.Firmware;

public class SparkAppImageGeneratorTests
{
    [Test]
    public void Default_image_is_spark_2_sized_and_looks_like_a_spark_build()
    {
        var bytes = SparkAppImageGenerator.Generate(1);
        var image = new AppImage(bytes);
        Assert.That(bytes, Has.Length.EqualTo(68216));
        Assert.That(image.InitialStackPointer, Is.EqualTo(0x20005000u));
        Assert.That(image.LooksLikeSparkApp, Is.True);
        Assert.That(image.PassesBootloaderCheck, Is.True);
        Assert.That(image.ResetHandler - 0x08005000u, Is.LessThan((uint)bytes.Length), "reset handler points into the image");
    }

    [Test]
    public void Every_non_reserved_vector_is_an_odd_address_inside_the_image()
    {
        var bytes = SparkAppImageGenerator.Generate(9, size: 4096);
        for (var v = 1; v < 76; v++)
        {
            var handler = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(v * 4));
            if (v is 7 or 8)
                continue; // reserved words carrying the simulator's length and CRC stamp (AppIntegrity)
            if (v is 9 or 10 or 13)
            {
                Assert.That(handler, Is.Zero, $"reserved vector {v}");
                continue;
            }
            Assert.That(handler & 1, Is.EqualTo(1u), $"vector {v}");
            Assert.That(handler, Is.InRange(0x08005000u + 304, 0x08005000u + 4096), $"vector {v}");
        }
    }

    [Test]
    public void Identity_string_can_be_read_back()
    {
        var bytes = SparkAppImageGenerator.Generate(3, "blinky", "2.1", 20000);
        Assert.That(SparkAppImageGenerator.ReadIdentity(bytes), Is.EqualTo("blinky 2.1"));
        Assert.That(SparkAppImageGenerator.ReadIdentity(new byte[4096]), Is.Null);
    }

    [Test]
    public void Same_seed_gives_the_same_bytes_and_another_seed_different_bytes()
    {
        var a = SparkAppImageGenerator.Generate(5);
        Assert.That(SparkAppImageGenerator.Generate(5), Is.EqualTo(a));
        var b = SparkAppImageGenerator.Generate(6);
        Assert.That(b, Is.Not.EqualTo(a));
        Assert.That(a.Zip(b).Count(p => p.First != p.Second), Is.GreaterThan(a.Length / 2), "bodies differ throughout, not just in a header");
    }

    [TestCase(1023)]
    [TestCase(110593)]
    public void Sizes_outside_the_app_area_are_refused_with_the_range(int size)
    {
        Assert.That(() => SparkAppImageGenerator.Generate(1, size: size),
            Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains(size.ToString(System.Globalization.CultureInfo.InvariantCulture)).And.Message.Contains("1024..110592"));
    }

    [Test]
    public void Odd_sizes_round_up_to_even_and_the_maximum_fills_the_app_area()
    {
        Assert.That(SparkAppImageGenerator.Generate(1, size: 5001), Has.Length.EqualTo(5002));
        Assert.That(SparkAppImageGenerator.Generate(1, size: 110592), Has.Length.EqualTo(110592));
    }

    [Test]
    public void Tinker_is_a_seeded_59_to_80_KB_spark_app_named_tinker()
    {
        var tinker = SparkAppImageGenerator.Tinker(12);
        Assert.That(tinker.Length, Is.InRange(59252, 80000));
        Assert.That(new AppImage(tinker).LooksLikeSparkApp, Is.True);
        Assert.That(SparkAppImageGenerator.ReadIdentity(tinker), Does.StartWith("tinker "));
        Assert.That(SparkAppImageGenerator.Tinker(12), Is.EqualTo(tinker));
        Assert.That(SparkAppImageGenerator.Tinker(13), Is.Not.EqualTo(tinker));
    }
}
