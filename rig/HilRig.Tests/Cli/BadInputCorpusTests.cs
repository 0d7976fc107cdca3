using System.Security.Cryptography;
using HilRig.Cli;

namespace HilRig.Tests.Cli;

/// <summary>
/// The bad-input corpus: malformed configs, images, bootloaders, trace CSVs, inventory CSVs, stores and command-line
/// arguments, each run in-process through the same runner as `hilrig` (<see cref="CliRunner"/>). Every case must
/// exit 2 with exactly the expected lines on stderr (one per problem; "{D}" is the case's folder), print nothing on
/// stdout, and write nothing: the folder's files are byte-identical afterwards (no store, no rows, no .partial).
/// </summary>
[NonParallelizable]
public class BadInputCorpusTests
{
    private static string DefaultConfig => TestRigs.DefaultConfigText;

    /// <summary>The files every case's folder starts with.</summary>
    private static readonly Dictionary<string, Func<byte[]>> Fixtures = new(StringComparer.Ordinal)
    {
        ["good.yaml"] = () => Text(DefaultConfig),
        ["bad-yaml.yaml"] = () => Text("rigId: x\nbackend: sim\nslots: [ { slot: 1\n"),
        ["empty.yaml"] = () => [],
        ["binary.yaml"] = () => Enumerable.Range(0, 512).Select(i => (byte)(i * 37)).ToArray(),
        ["backend.yaml"] = () => Text(DefaultConfig.Replace("backend: sim", "backend: arduino", StringComparison.Ordinal)),
        ["seed.yaml"] = () => Text(DefaultConfig.Replace("seed: 42", "seed: forty-two", StringComparison.Ordinal)),
        ["bootloader.yaml"] = () => Text(DefaultConfig.Replace("bootloader: BL14", "bootloader: BL99", StringComparison.Ordinal)),
        ["slot0.yaml"] = () => Text(DefaultConfig.Replace("  - slot: 1\n", "  - slot: 0\n", StringComparison.Ordinal)),
        ["dupslot.yaml"] = () => Text(DefaultConfig.Replace("  - slot: 2\n", "  - slot: 1\n", StringComparison.Ordinal)),
        ["store-folder.yaml"] = () => Text(DefaultConfig.Replace("path: results/hilrig.db", "path: folder", StringComparison.Ordinal)),
        ["store-proc.yaml"] = () => Text(DefaultConfig.Replace("path: results/hilrig.db", "path: /proc/hilrig/hilrig.db", StringComparison.Ordinal)),
        ["store-text.yaml"] = () => Text(DefaultConfig.Replace("path: results/hilrig.db", "path: text.txt", StringComparison.Ordinal)),
        ["store-under-file.yaml"] = () => Text(DefaultConfig.Replace("path: results/hilrig.db", "path: text.txt/hilrig.db", StringComparison.Ordinal)),
        ["kind.yaml"] = () => Text(DefaultConfig.Replace("kind: sqlite", "kind: oracle", StringComparison.Ordinal)),
        ["text.txt"] = () => Text("hello\n"),
        ["empty.bin"] = () => [],
        ["big.bin"] = () => new byte[Core.Spark.SparkMemoryMap.AppMaxSize + 1],
        ["novector.bin"] = () => new byte[13_720],
        ["bl-big.bin"] = () => new byte[20 * 1024],
        ["unrelated.db"] = UnrelatedSqlite,
        ["trace-empty.csv"] = () => [],
        ["trace-header.csv"] = () => Text("t,r,g,b\n0,1,2,3\n"),
        ["trace-text.csv"] = () => Text("time_ms,r,g,b,c,gain,integration_ms\n0,red,2,3,4,1,2.4\n"),
        ["trace-fields.csv"] = () => Text("time_ms,r,g,b,c,gain,integration_ms\n0,1,2,3\n"),
        ["trace-back.csv"] = () => Text("time_ms,r,g,b,c,gain,integration_ms\n10,1,2,3,4,1,2.4\n5,1,2,3,4,1,2.4\n"),
        ["trace-negative.csv"] = () => Text("time_ms,r,g,b,c,gain,integration_ms\n0,-1,2,3,4,1,2.4\n"),
        ["lots-empty.csv"] = () => [],
        ["lots-header.csv"] = () => Text("id,lot\n53ff6c065067544854291187,A\n"),
        ["lots-id.csv"] = () => Text("device_id,lot,date_code,supplier\nnot-a-device,SST25-1348A,1348,Microchip\n"),
        ["lots-fields.csv"] = () => Text("device_id,lot,date_code,supplier\n53ff6c065067544854291187,SST25-1348A\n"),
        ["lots-dup.csv"] = () => Text("device_id,lot,date_code,supplier\n53ff6c065067544854291187,A,1,S\n53ff6c065067544854291187,B,1,S\n"),
        ["lots-nolot.csv"] = () => Text("device_id,lot,date_code,supplier\n53ff6c065067544854291187,,1348,Microchip\n"),
        ["lots-quote.csv"] = () => Text("device_id,lot,date_code,supplier\n53ff6c065067544854291187,\"SST25,1348,Microchip\n"),
    };

    private static readonly string[] Good = ["--config", "{D}/good.yaml"];

    /// <summary>args -> the exact stderr lines ("{D}": the case's folder). Exit 2, stdout empty, nothing written, for every one.</summary>
    private static readonly (string Name, string[] Args, string Expected)[] Cases =
    [
        // command line
        ("unknown command", ["frobnicate"], "TODO"),
        ("unknown option", ["screen", "--frobnicate", .. Good], "TODO"),
        ("screen format", ["screen", "--format", "xml", .. Good], "TODO"),
        ("screen slots letter", ["screen", "--slots", "x", .. Good], "TODO"),
        ("screen slots off rig", ["screen", "--slots", "9", .. Good], "TODO"),
        ("screen slots backwards", ["screen", "--slots", "5-3", .. Good], "TODO"),
        ("power slot off rig", ["power", "on", "--slot", "17", .. Good], "TODO"),
        ("power slot missing", ["power", "on", .. Good], "TODO"),
        ("power slot text", ["power", "on", "--slot", "three", .. Good], "TODO"),
        ("power via", ["power", "off", "--slot", "1", "--via", "usb", .. Good], "TODO"),
        ("wait negative", ["power", "on", "--slot", "1", "--wait", "-1", .. Good], "TODO"),
        ("soak cycles zero", ["soak", "--cycles", "0", .. Good], "TODO"),
        ("soak cycles missing", ["soak", .. Good], "TODO"),
        ("soak every-readback", ["soak", "--cycles", "2", "--every-readback", "0", .. Good], "TODO"),
        ("soak baseline", ["soak", "--cycles", "2", "--baseline", "last-night", .. Good], "TODO"),
        ("soak bootloader name", ["soak", "--cycles", "2", "--bootloader", "BL15", .. Good], "TODO"),
        ("button hold", ["button", "mode", "--slot", "1", "--hold", "0", .. Good], "TODO"),
        ("led seconds", ["led", "watch", "--slot", "1", "--seconds", "0", .. Good], "TODO"),
        ("led record seconds", ["led", "record", "--slot", "1", "--out", "{D}/t.csv", .. Good], "TODO"),
        ("dfu address", ["dfu", "upload", "--slot", "1", "--address", "0xZZ", "{D}/out.bin", .. Good], "TODO"),
        ("dfu length zero", ["dfu", "upload", "--slot", "1", "--address", "0x20000", "--length", "0", "{D}/out.bin", .. Good], "TODO"),
        ("dfu address too big", ["dfu", "upload", "--slot", "1", "--address", "0x1FFFFFFFF", "{D}/out.bin", .. Good], "TODO"),
        ("dashboard urls", ["dashboard", "--urls", "notaurl", "--store", "{D}/unrelated.db"], "TODO"),
        ("dashboard remote", ["dashboard", "--urls", "http://0.0.0.0:5080", "--store", "{D}/unrelated.db"], "TODO"),
        ("report target", ["report", "lots", "--target", "2", "--store", "{D}/unrelated.db"], "TODO"),
        ("report format", ["report", "lots", "--format", "pdf", "--store", "{D}/unrelated.db"], "TODO"),
        ("serve speed", ["sim", "serve", "--speed", "0", .. Good], "TODO"),
        ("serve cloud port", ["sim", "serve", "--cloud-port", "70000", .. Good], "TODO"),
        ("fleet cores", ["sim", "fleet", "--cores", "0", "--lots", "2", "--seed", "1", "--store", "{D}/fleet.db", .. Good], "TODO"),
        ("image size", ["image", "generate", "--out", "{D}/app.bin", "--size", "-5"], "TODO"),
        ("image bootloader", ["image", "generate", "--bootloader", "BL99", "--out", "{D}/bl.bin"], "TODO"),

        // rig configs
        ("config missing", ["screen", "--config", "{D}/nope.yaml"], "TODO"),
        ("config /dev/zero", ["screen", "--config", "/dev/zero"], "TODO"),
        ("config folder", ["screen", "--config", "{D}/folder"], "TODO"),
        ("config empty", ["screen", "--config", "{D}/empty.yaml"], "TODO"),
        ("config yaml syntax", ["screen", "--config", "{D}/bad-yaml.yaml"], "TODO"),
        ("config binary", ["identify", "--config", "{D}/binary.yaml"], "TODO"),
        ("config backend", ["screen", "--config", "{D}/backend.yaml"], "TODO"),
        ("config seed", ["screen", "--config", "{D}/seed.yaml"], "TODO"),
        ("config bootloader", ["doctor", "--config", "{D}/bootloader.yaml"], "TODO"),
        ("config slot 0", ["screen", "--config", "{D}/slot0.yaml"], "TODO"),
        ("config duplicate slot", ["screen", "--config", "{D}/dupslot.yaml"], "TODO"),
        ("config results kind", ["screen", "--config", "{D}/kind.yaml"], "TODO"),
        ("results path a folder", ["screen", "--readback-only", "--config", "{D}/store-folder.yaml"], "TODO"),
        ("results path under /proc", ["screen", "--readback-only", "--config", "{D}/store-proc.yaml"], "TODO"),
        ("results path not sqlite", ["identify", "--config", "{D}/store-text.yaml"], "TODO"),
        ("results path under a file", ["power", "on", "--slot", "1", "--config", "{D}/store-under-file.yaml"], "TODO"),

        // images
        ("ota image missing", ["ota", "--slot", "1", "{D}/nope.bin", .. Good], "TODO"),
        ("ota image empty", ["ota", "--slot", "1", "{D}/empty.bin", .. Good], "TODO"),
        ("ota image too big", ["ota", "--slot", "1", "{D}/big.bin", .. Good], "TODO"),
        ("ota image a device", ["ota", "--slot", "1", "/dev/zero", .. Good], "TODO"),
        ("screen ota empty", ["screen", "--ota", "{D}/empty.bin", .. Good], "TODO"),
        ("screen ota too big", ["screen", "--ota", "{D}/big.bin", .. Good], "TODO"),
        ("bootloader no vector table", ["soak", "--cycles", "1", "--bootloader", "{D}/novector.bin", .. Good], "TODO"),
        ("bootloader too big", ["soak", "--cycles", "1", "--bootloader", "{D}/bl-big.bin", .. Good], "TODO"),
        ("dfu download missing", ["dfu", "download", "--slot", "1", "--address", "0x20000", "{D}/nope.bin", .. Good], "TODO"),
        ("dfu download empty", ["dfu", "download", "--slot", "1", "--address", "0x20000", "{D}/empty.bin", .. Good], "TODO"),
        ("dfu download a folder", ["dfu", "download", "--slot", "1", "--address", "0x20000", "{D}/folder", .. Good], "TODO"),

        // trace CSVs
        ("trace missing", ["led", "classify", "{D}/nope.csv"], "TODO"),
        ("trace empty", ["led", "classify", "{D}/trace-empty.csv"], "TODO"),
        ("trace header", ["led", "classify", "{D}/trace-header.csv"], "TODO"),
        ("trace text", ["led", "classify", "{D}/trace-text.csv"], "TODO"),
        ("trace fields", ["led", "classify", "{D}/trace-fields.csv"], "TODO"),
        ("trace time backwards", ["led", "classify", "{D}/trace-back.csv"], "TODO"),
        ("trace negative", ["led", "classify", "{D}/trace-negative.csv"], "TODO"),
        ("trace /dev/zero", ["led", "classify", "/dev/zero"], "TODO"),

        // inventory CSVs
        ("lots missing", ["lots", "check", "{D}/nope.csv"], "TODO"),
        ("lots empty", ["lots", "check", "{D}/lots-empty.csv"], "TODO"),
        ("lots header", ["lots", "check", "{D}/lots-header.csv"], "TODO"),
        ("lots device id", ["lots", "check", "{D}/lots-id.csv"], "TODO"),
        ("lots fields", ["lots", "check", "{D}/lots-fields.csv"], "TODO"),
        ("lots duplicate", ["lots", "import", "{D}/lots-dup.csv", "--store", "{D}/new.db"], "TODO"),
        ("lots no lot", ["lots", "import", "{D}/lots-nolot.csv", "--store", "{D}/new.db"], "TODO"),
        ("lots open quote", ["lots", "check", "{D}/lots-quote.csv"], "TODO"),
        ("lots /dev/zero", ["lots", "check", "/dev/zero"], "TODO"),
        ("lots known-lots missing", ["lots", "check", "{D}/lots-id.csv", "--known-lots", "{D}/nope.txt"], "TODO"),

        // stores and output files
        ("store not sqlite", ["report", "lots", "--store", "{D}/text.txt"], "TODO"),
        ("store a folder", ["report", "lots", "--store", "{D}/folder"], "TODO"),
        ("store missing", ["report", "slots", "--store", "{D}/nope.db"], "TODO"),
        ("store unrelated sqlite", ["report", "lots", "--store", "{D}/unrelated.db"], "TODO"),
        ("dashboard store not sqlite", ["dashboard", "--store", "{D}/text.txt"], "TODO"),
        ("import into non-sqlite", ["lots", "import", "{D}/lots-dup.csv", "--store", "{D}/text.txt"], "TODO"),
        ("output under /proc", ["image", "generate", "--out", "/proc/hilrig/app.bin"], "TODO"),
        ("output under a file", ["image", "generate", "--out", "{D}/text.txt/app.bin"], "TODO"),
        ("output a folder", ["image", "generate", "--out", "{D}/folder"], "TODO"),
        ("export-lots under /proc", ["sim", "export-lots", "--cores", "4", "--lots", "1", "--seed", "1", "--output", "/proc/hilrig/lots.csv"], "TODO"),
    ];

    private static IEnumerable<TestCaseData> Corpus() => Cases.Select(c =>
    {
        var data = new TestCaseData(c.Args, c.Expected).SetName($"Bad input: {c.Name}");
        if (c.Name == "store unrelated sqlite")
            data.Ignore("exit 2 and the file unchanged once the results branch's read-only report store is merged; remove this Ignore then");
        return data;
    });

    [Test]
    public void The_corpus_has_at_least_60_cases_with_distinct_names() =>
        Assert.That(Cases.Select(c => c.Name).Distinct().Count(), Is.EqualTo(Cases.Length).And.GreaterThanOrEqualTo(60));

    [TestCaseSource(nameof(Corpus))]
    public void Is_refused_with_one_clear_line_exit_2_and_nothing_written(string[] args, string expected)
    {
        var dir = Directory.CreateTempSubdirectory("hilrig-bad-").FullName;
        try
        {
            foreach (var (name, content) in Fixtures) File.WriteAllBytes(Path.Combine(dir, name), content());
            Directory.CreateDirectory(Path.Combine(dir, "folder"));
            var before = Snapshot(dir);

            var (exit, output, error) = CliHarness.Run([.. args.Select(a => a.Replace("{D}", dir, StringComparison.Ordinal))]);

            var actual = error.Replace(dir, "{D}", StringComparison.Ordinal).TrimEnd('\n');
            if (Environment.GetEnvironmentVariable("HILRIG_CORPUS_PRINT") == "1")
                TestContext.Out.WriteLine($"CORPUS|{exit}|{actual.Replace("\n", "\\n", StringComparison.Ordinal)}");
            Assert.Multiple(() =>
            {
                Assert.That(actual, Is.EqualTo(expected), "stderr");
                Assert.That(exit, Is.EqualTo(ExitCodes.BadInput), error);
                Assert.That(output, Is.Empty, "stdout");
                Assert.That(error, Does.Not.Contain("   at ").And.Not.Contain("Exception"), "no stack trace, no exception names");
                Assert.That(Snapshot(dir), Is.EqualTo(before), "nothing written in the case's folder");
            });
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Every file and folder under <paramref name="dir"/> with the hash of its content.</summary>
    private static List<string> Snapshot(string dir) =>
        [.. Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(p => Directory.Exists(p) ? p + "/" : $"{p} {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(p)))}")];

    private static byte[] Text(string s) => System.Text.Encoding.UTF8.GetBytes(s);

    private static byte[] UnrelatedSqlite()
    {
        var path = Path.Combine(Path.GetTempPath(), $"hilrig-unrelated-{Guid.NewGuid():N}.db");
        try
        {
            using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False"))
            {
                db.Open();
                using var cmd = db.CreateCommand();
                cmd.CommandText = "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices (total) VALUES (12.5);";
                cmd.ExecuteNonQuery();
            }
            return File.ReadAllBytes(path);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
