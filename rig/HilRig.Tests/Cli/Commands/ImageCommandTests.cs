using HilRig.Core.Spark;
using HilRig.Sim.Device.Bootloader;
using HilRig.Sim.Device.Firmware;

namespace HilRig.Tests.Cli;

public class ImageCommandTests
{
    [Test]
    public void Same_seed_same_bytes_different_seed_different_bytes_and_the_image_looks_like_a_Spark_app()
    {
        var dir = Directory.CreateTempSubdirectory("hilrig-image-").FullName;
        string Make(string name, string seed)
        {
            var path = Path.Combine(dir, name);
            Assert.That(CliHarness.Run("image", "generate", "--out", path, "--seed", seed, "--size", "59252").Exit, Is.Zero);
            return path;
        }
        var a = File.ReadAllBytes(Make("a.bin", "3"));
        var b = File.ReadAllBytes(Make("b.bin", "3"));
        var c = File.ReadAllBytes(Make("c.bin", "4"));
        Assert.That(b, Is.EqualTo(a));
        Assert.That(c, Is.Not.EqualTo(a));
        Assert.That(a, Has.Length.EqualTo(59252));
        Assert.That(new AppImage(a).LooksLikeSparkApp, Is.True);
    }

    [Test]
    public void A_size_outside_the_app_area_exits_2_and_writes_nothing()
    {
        var path = Path.Combine(Path.GetTempPath(), $"hilrig-{Guid.NewGuid():N}.bin");
        var (exit, _, error) = CliHarness.Run("image", "generate", "--out", path, "--size", "200000");
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error, Does.Contain("--size 200000").And.Contain("110592"));
        Assert.That(File.Exists(path), Is.False);
    }

    [Test]
    public void A_bootloader_image_fits_pages_0_to_18_has_a_vector_table_and_names_its_build_with_the_candidates_defects()
    {
        var dir = Directory.CreateTempSubdirectory("hilrig-image-").FullName;
        var path = Path.Combine(dir, "bl.bin");
        var (exit, _, error) = CliHarness.Run("image", "generate", "--bootloader", "candidate", "--spi-busy-timeout-ms", "20", "--out", path);
        Assert.That(exit, Is.Zero, error);
        Assert.That(CliHarness.Unwrapped(error), Does.Contain("bootloader candidate spiBusyTimeoutMs=20 stageFactoryReset=true").And.Contain("0x08000000"));
        var image = File.ReadAllBytes(path);
        Assert.That(image.Length, Is.LessThanOrEqualTo(SparkMemoryMap.BootloaderMaxSize));
        Assert.That(BootloaderImage.Validate(image, path), Is.Null);
        var pages = new byte[SparkMemoryMap.BootloaderMaxSize];
        Array.Fill(pages, (byte)0xFF);
        image.CopyTo(pages, 0);
        Assert.That(SparkBootloaderImage.Read(pages), Is.EqualTo(new BootloaderBuild(BootloaderKind.Candidate, TimeSpan.FromMilliseconds(20), true)));
    }

    [TestCase("--bootloader", "BL15", "--bootloader BL15: valid: BL13, BL14, candidate")]
    [TestCase("--spi-busy-timeout-ms", "5", "only the candidate has defects to set, not BL14")]
    public void A_bad_bootloader_option_exits_2_and_writes_nothing(string option, string value, string message)
    {
        var path = Path.Combine(Path.GetTempPath(), $"hilrig-{Guid.NewGuid():N}.bin");
        string[] args = option == "--bootloader" ? ["image", "generate", "--out", path, option, value] : ["image", "generate", "--out", path, "--bootloader", "BL14", option, value];
        var (exit, _, error) = CliHarness.Run(args);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error, Does.Contain(message));
        Assert.That(File.Exists(path), Is.False);
    }
}
