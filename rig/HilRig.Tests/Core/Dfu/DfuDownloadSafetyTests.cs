using System.Buffers.Binary;
using System.Globalization;
using HilRig.Core.Checksums;
using HilRig.Tests.Cli;

namespace HilRig.Tests.Dfu;

/// <summary>
/// `hilrig dfu download` never changes a byte outside its file (partial sectors are read and written back), and an
/// image is checked before it is written (region size, vector table, a .dfu suffix's CRC).
/// </summary>
public class DfuDownloadSafetyTests
{
    private static string Hex(uint v) => "0x" + v.ToString("X", CultureInfo.InvariantCulture);

    private static byte[] Upload(string config, uint address, int length, string file)
    {
        var (exit, _, error) = CliHarness.Run("dfu", "upload", "--config", config, "--slot", "2", "--address", Hex(address), "--length", length.ToString(CultureInfo.InvariantCulture), file);
        Assert.That(exit, Is.Zero, error);
        return File.ReadAllBytes(file);
    }

    [Test]
    public void An_unaligned_download_changes_exactly_the_bytes_of_its_file()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        var dir = Path.GetDirectoryName(config)!;
        const uint span = 0x80000;
        const int spanLength = 3 * 0x1000;
        // something other than erased flash around the write, so a lost byte would show
        var pattern = new byte[spanLength];
        new Random(3).NextBytes(pattern);
        File.WriteAllBytes(Path.Combine(dir, "pattern.bin"), pattern);
        Assert.That(CliHarness.Run("dfu", "download", "--config", config, "--slot", "2", "--address", Hex(span), Path.Combine(dir, "pattern.bin")).Exit, Is.Zero);

        // starts inside the first sector, ends inside the third
        const uint at = span + 0x123;
        var data = new byte[0x1000 + 0x456];
        new Random(4).NextBytes(data);
        var file = Path.Combine(dir, "data.bin");
        File.WriteAllBytes(file, data);
        var (exit, _, error) = CliHarness.Run("dfu", "download", "--config", config, "--slot", "2", "--address", Hex(at), file);
        Assert.That(exit, Is.Zero, error);
        Assert.That(error, Does.Contain("read and written back unchanged"));

        var after = Upload(config, span, spanLength, Path.Combine(dir, "after.bin"));
        var expected = (byte[])pattern.Clone();
        data.CopyTo(expected, (int)(at - span));
        Assert.That(after, Is.EqualTo(expected), "the file's bytes written, every other byte of the three sectors as it was");
    }

    [Test]
    public void A_garbage_image_for_the_factory_slot_is_refused_and_the_slot_keeps_its_image()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        var dir = Path.GetDirectoryName(config)!;
        var before = Upload(config, 0x20000, 0x20000, Path.Combine(dir, "before.bin"));
        var garbage = new byte[20_000];
        new Random(5).NextBytes(garbage);
        var file = Path.Combine(dir, "garbage.bin");
        File.WriteAllBytes(file, garbage);

        var (exit, _, error) = CliHarness.Run("dfu", "download", "--config", config, "--slot", "2", "--address", "0x20000", file);

        Assert.That(exit, Is.EqualTo(2), error);
        Assert.That(error.TrimEnd().Split('\n'), Has.Length.EqualTo(1), error);
        Assert.That(error, Does.StartWith($"hilrig: {file}: word 0 (initial stack pointer)"));
        SameBytes.AssertEqual(Upload(config, 0x20000, 0x20000, Path.Combine(dir, "after.bin")), before, "nothing written");
    }

    [Test]
    public void An_image_too_big_for_its_region_is_refused()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        var file = Path.Combine(Path.GetDirectoryName(config)!, "big.bin");
        File.WriteAllBytes(file, new byte[0x1000]);
        var (exit, _, error) = CliHarness.Run("dfu", "download", "--config", config, "--slot", "2", "--address", "0x5F800", file);
        Assert.That(exit, Is.EqualTo(2), error);
        Assert.That(error, Does.Contain("run past the end of the backup region").And.Contain("at most 2048 bytes"));
    }

    private static byte[] WithDfuSuffix(byte[] image, bool corrupt)
    {
        var file = new byte[image.Length + 16];
        image.CopyTo(file, 0);
        var s = file.AsSpan(image.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(s, 0xFFFF);
        BinaryPrimitives.WriteUInt16LittleEndian(s[2..], 0x607F);
        BinaryPrimitives.WriteUInt16LittleEndian(s[4..], 0x1D50);
        BinaryPrimitives.WriteUInt16LittleEndian(s[6..], 0x011A);
        s[8] = (byte)'U';
        s[9] = (byte)'F';
        s[10] = (byte)'D';
        s[11] = 16;
        BinaryPrimitives.WriteUInt32LittleEndian(s[12..], Crc32.Update(0xFFFFFFFF, file.AsSpan(0, file.Length - 4)));
        if (corrupt) file[100] ^= 0x01;
        return file;
    }

    [Test]
    public void A_dfu_suffix_is_checked_by_its_CRC_and_stripped_before_the_write()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        var dir = Path.GetDirectoryName(config)!;
        var image = Path.Combine(dir, "image.bin");
        Assert.That(CliHarness.Run("image", "generate", "--out", image, "--seed", "9").Exit, Is.Zero);
        var bytes = File.ReadAllBytes(image);

        var damaged = Path.Combine(dir, "damaged.dfu");
        File.WriteAllBytes(damaged, WithDfuSuffix(bytes, corrupt: true));
        var bad = CliHarness.Run("dfu", "download", "--config", config, "--slot", "2", "--address", "0x60000", damaged);
        Assert.That(bad.Exit, Is.EqualTo(2), bad.Error);
        Assert.That(bad.Error, Does.Contain(".dfu suffix's CRC"));

        var good = Path.Combine(dir, "good.dfu");
        File.WriteAllBytes(good, WithDfuSuffix(bytes, corrupt: false));
        var ok = CliHarness.Run("dfu", "download", "--config", config, "--slot", "2", "--address", "0x60000", good);
        Assert.That(ok.Exit, Is.Zero, ok.Error);
        Assert.That(ok.Error, Does.Contain($"Download done: {bytes.Length} bytes"));
        Assert.That(Upload(config, 0x60000, bytes.Length + 16, Path.Combine(dir, "back.bin")).AsSpan(0, bytes.Length).ToArray(), Is.EqualTo(bytes));
    }
}
