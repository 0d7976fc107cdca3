using HilRig.Core.Spark;

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
}
