using System.Security.Cryptography;
using HilRig.Cli;

namespace HilRig.Tests.Cli;

/// <summary>
/// The bad-input corpus: malformed configs, images, bootloaders, trace CSVs, inventory CSVs, stores and command-line
/// arguments, each run in-process through the same runner as `hilrig` (<see cref="CliRunner"/>). Every case must
/// exit 2 with exactly the expected lines on stderr (one per problem, an inventory's summary line after its problems;
/// "{D}" is the case's folder), print nothing on
/// stdout, and write nothing: the folder's files are byte-identical afterwards (no store, no rows, no .partial).
/// </summary>
/// <remarks>
/// Runs beside other fixtures: every case works in its own temporary folder and through its own writers, and touches
/// no process-wide state (alone, its 87 cases were seconds of a unit run with one core idle).
/// </remarks>
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
        ["lots-dup.csv"] = () => Text("device_id,lot,date_code,supplier\n53ff6c065067544854291187,A,1348,S\n53ff6c065067544854291187,B,1348,S\n"),
        ["lots-good.csv"] = () => Text("device_id,lot,date_code,supplier\n53ff6c065067544854291187,SST25-1348A,1348,Microchip\n"),
        ["lots-nolot.csv"] = () => Text("device_id,lot,date_code,supplier\n53ff6c065067544854291187,,1348,Microchip\n"),
        ["lots-quote.csv"] = () => Text("device_id,lot,date_code,supplier\n53ff6c065067544854291187,\"SST25,1348,Microchip\n"),
    };

    private static readonly string[] Good = ["--config", "{D}/good.yaml"];

    /// <summary>args -> the exact stderr lines ("{D}": the case's folder). Exit 2, stdout empty, nothing written, for every one.</summary>
    private static readonly (string Name, string[] Args, string Expected)[] Cases =
    [
        // command line
        ("unknown command", ["frobnicate"], "hilrig: Unrecognized command or argument 'frobnicate'."),
        ("unknown option", ["screen", "--frobnicate", .. Good], "hilrig: Unrecognized command or argument '--frobnicate'."),
        ("screen format", ["screen", "--format", "xml", .. Good], "hilrig: --format: Argument 'xml' not recognized. Must be one of: 'table' 'csv' 'json'"),
        ("screen slots letter", ["screen", "--slots", "x", .. Good], "hilrig: --slots: 'x' is not a slot number; valid: slot numbers 1-8, ranges like 1,3-5, or all"),
        ("screen slots off rig", ["screen", "--slots", "9", .. Good], "hilrig: --slots: slot 9 (from '9') is not on this rig; valid: slot numbers 1-8, ranges like 1,3-5, or all"),
        ("screen slots backwards", ["screen", "--slots", "5-3", .. Good], "hilrig: --slots: '5-3' is not a range; valid: slot numbers 1-8, ranges like 1,3-5, or all"),
        ("power slot off rig", ["power", "on", "--slot", "17", .. Good], "hilrig: --slot: slot 17 is not on this rig; valid: 1,2,3,4,5,6,7,8"),
        ("power slot missing", ["power", "on", .. Good], "hilrig: --slots: required; e.g. --slots 3"),
        ("power slot text", ["power", "on", "--slot", "three", .. Good], "hilrig: --slot three: this command drives one slot; valid: one slot number, e.g. --slots 3"),
        ("power via", ["power", "off", "--slot", "1", "--via", "usb", .. Good], "hilrig: --via: Argument 'usb' not recognized. Must be one of: 'relay' 'hub'"),
        ("wait negative", ["power", "on", "--slot", "1", "--wait", "-1", .. Good], "hilrig: --wait -1: valid: seconds, 0 to 86400"),
        ("soak cycles zero", ["soak", "--cycles", "0", .. Good], "hilrig: --cycles 0: valid: 1..100000"),
        ("soak cycles missing", ["soak", .. Good], "hilrig: Option '--cycles' is required."),
        ("soak every-readback", ["soak", "--cycles", "2", "--every-readback", "0", .. Good], "hilrig: --every-readback 0: valid: 1..100000 (every K-th cycle ends with a DFU readback)"),
        ("soak baseline", ["soak", "--cycles", "2", "--baseline", "last-night", .. Good], "hilrig: --baseline last-night: valid: a run id or a unique prefix of one (4 to 32 hex digits), as `hilrig runs` lists them"),
        ("soak bootloader name", ["soak", "--cycles", "2", "--bootloader", "BL15", .. Good], "hilrig: --bootloader BL15: valid: BL13, BL14, candidate or a bootloader image file (no such file)"),
        ("button hold", ["button", "mode", "--slot", "1", "--hold", "0", .. Good], "hilrig: --hold 0: valid: seconds, more than 0 and at most 60"),
        ("led seconds", ["led", "watch", "--slot", "1", "--seconds", "0", .. Good], "hilrig: --seconds: 0 is not a duration; valid: more than 0 and at most 3600"),
        ("led record seconds", ["led", "record", "--slot", "1", "--out", "{D}/t.csv", .. Good], "hilrig: Option '--seconds' is required."),
        ("dfu address", ["dfu", "upload", "--slot", "1", "--address", "0xZZ", "{D}/out.bin", .. Good], "hilrig: --address '0xZZ': valid: a number such as 0x00020000 or 131072"),
        ("dfu length zero", ["dfu", "upload", "--slot", "1", "--address", "0x20000", "--length", "0", "{D}/out.bin", .. Good], "hilrig: --length 0: valid: a number of bytes, 1 or more"),
        ("dfu address too big", ["dfu", "upload", "--slot", "1", "--address", "0x1FFFFFFFF", "{D}/out.bin", .. Good], "hilrig: --address '0x1FFFFFFFF': valid: a number such as 0x00020000 or 131072"),
        ("dashboard urls", ["dashboard", "--urls", "notaurl", "--store", "{D}/unrelated.db"], "hilrig: --urls 'notaurl': not a URL to listen on; valid: http://HOST:PORT, e.g. http://127.0.0.1:5080"),
        ("dashboard remote", ["dashboard", "--urls", "http://0.0.0.0:5080", "--store", "{D}/unrelated.db"], "hilrig: --urls 'http://0.0.0.0:5080': not a loopback address; the dashboard serves this machine only unless given --allow-remote"),
        ("report target", ["report", "lots", "--target", "2", "--store", "{D}/unrelated.db"], "hilrig: --target: 2: must be a proportion between 0 and 1, e.g. 0.01"),
        ("report format", ["report", "lots", "--format", "pdf", "--store", "{D}/unrelated.db"], "hilrig: --format: Argument 'pdf' not recognized. Must be one of: 'table' 'csv' 'json' 'html'"),
        ("serve speed", ["sim", "serve", "--speed", "0", .. Good], "hilrig: --speed 0: must be a positive number (1 = real time)"),
        ("serve cloud port", ["sim", "serve", "--cloud-port", "70000", .. Good], "hilrig: --cloud-port 70000: valid: a TCP port 1-65535, or 0 for any free port"),
        ("fleet cores", ["sim", "fleet", "--cores", "0", "--lots", "2", "--seed", "1", "--store", "{D}/fleet.db", .. Good], "hilrig: --cores: 0: must be at least 1"),
        ("image size", ["image", "generate", "--out", "{D}/app.bin", "--size", "-5"], "hilrig: --size -5: valid: 1024-110592 bytes (the app area holds 110592)"),
        ("image bootloader", ["image", "generate", "--bootloader", "BL99", "--out", "{D}/bl.bin"], "hilrig: --bootloader BL99: valid: BL13, BL14, candidate"),

        // rig configs
        ("config missing", ["screen", "--config", "{D}/nope.yaml"], "{D}/nope.yaml:1:1: cannot read the rig config: file not found (full path {D}/nope.yaml)"),
        ("config /dev/zero", ["screen", "--config", "/dev/zero"], "hilrig: --config /dev/zero: is a character device, not a regular file; valid: a file"),
        ("config folder", ["screen", "--config", "{D}/folder"], "hilrig: --config {D}/folder: is a folder; valid: a file"),
        ("config empty", ["screen", "--config", "{D}/empty.yaml"], "{D}/empty.yaml:1:1: the file is empty; expected keys: rigId, backend, results, slots, sim, pi, cloud, line, fleet, screening"),
        ("config yaml syntax", ["screen", "--config", "{D}/bad-yaml.yaml"], "{D}/bad-yaml.yaml:4:1: not valid YAML: While parsing a flow mapping, did not find expected ',' or '}'."),
        ("config binary", ["identify", "--config", "{D}/binary.yaml"], "{D}/binary.yaml:1:2: not valid YAML: While scanning for the next token, found character that cannot start any token."),
        ("config backend", ["screen", "--config", "{D}/backend.yaml"], "{D}/backend.yaml:12:10: backend: arduino is not a backend; valid: sim, pi"),
        ("config seed", ["screen", "--config", "{D}/seed.yaml"], "{D}/seed.yaml:99:9: sim.seed: forty-two is not a seed; valid: a 32-bit integer"),
        ("config bootloader", ["doctor", "--config", "{D}/bootloader.yaml"], "{D}/bootloader.yaml:100:15: sim.bootloader: BL99 is not a bootloader; valid: BL13, BL14, candidate"),
        ("config slot 0", ["screen", "--config", "{D}/slot0.yaml"], "{D}/slot0.yaml:48:11: slots[0].slot: 0 is not a slot number; valid: 1-16\n{D}/slot0.yaml:132:15: sim.cores[0].slot: slot 1 is not in the rig; valid: 2, 3, 4, 5, 6, 7, 8"),
        ("config duplicate slot", ["screen", "--config", "{D}/dupslot.yaml"], "{D}/dupslot.yaml:54:11: slots[1].slot: slot 1 is already slots[0]; each slot number once\n{D}/dupslot.yaml:133:15: sim.cores[1].slot: slot 2 is not in the rig; valid: 1, 3, 4, 5, 6, 7, 8"),
        ("config results kind", ["screen", "--config", "{D}/kind.yaml"], "{D}/kind.yaml:30:9: results.kind: oracle is not a results store kind; valid: sqlite, postgres"),
        ("results path a folder", ["screen", "--readback-only", "--config", "{D}/store-folder.yaml"], "hilrig: {D}/store-folder.yaml: results.path: {D}/folder is a folder; valid: a database file path, e.g. results/hilrig.db"),
        ("results path under /proc", ["screen", "--readback-only", "--config", "{D}/store-proc.yaml"], "hilrig: {D}/store-proc.yaml: results.path: /proc/hilrig/hilrig.db: cannot write in /proc/hilrig: Could not find file '/proc/hilrig'.; valid: a path in a folder this user can write"),
        ("results path not sqlite", ["identify", "--config", "{D}/store-text.yaml"], "hilrig: {D}/store-text.yaml: results.path: {D}/text.txt: not a results store: it has no SQLite header; valid: a SQLite file written by hilrig, or a new path"),
        ("results path under a file", ["power", "on", "--slot", "1", "--config", "{D}/store-under-file.yaml"], "hilrig: {D}/store-under-file.yaml: results.path: {D}/text.txt/hilrig.db: cannot write in {D}/text.txt: The file '{D}/text.txt' already exists.; valid: a path in a folder this user can write"),

        // images
        ("ota image missing", ["ota", "--slot", "1", "{D}/nope.bin", .. Good], "hilrig: {D}/nope.bin: cannot read the image: Could not find file '{D}/nope.bin'."),
        ("ota image empty", ["ota", "--slot", "1", "{D}/empty.bin", .. Good], "hilrig: {D}/empty.bin: image is empty; expected 8..110592 bytes"),
        ("ota image too big", ["ota", "--slot", "1", "{D}/big.bin", .. Good], "hilrig: {D}/big.bin: image has 110593 bytes; the app area holds at most 110592"),
        ("ota image a device", ["ota", "--slot", "1", "/dev/zero", .. Good], "hilrig: /dev/zero: is a character device, not a regular file; valid: a file"),
        ("screen ota empty", ["screen", "--ota", "{D}/empty.bin", .. Good], "hilrig: --ota {D}/empty.bin: image is empty; expected 8..110592 bytes"),
        ("screen ota too big", ["screen", "--ota", "{D}/big.bin", .. Good], "hilrig: --ota {D}/big.bin: image has 110593 bytes; the app area holds at most 110592"),
        ("bootloader no vector table", ["soak", "--cycles", "1", "--bootloader", "{D}/novector.bin", .. Good], "hilrig: --bootloader {D}/novector.bin: no valid vector table: word 0 (initial stack pointer) is 0x00000000, expected a word address in SRAM 0x20000000-0x20005000; nothing was flashed"),
        ("bootloader too big", ["soak", "--cycles", "1", "--bootloader", "{D}/bl-big.bin", .. Good], "hilrig: --bootloader {D}/bl-big.bin: 20480 bytes; a Core bootloader fits pages 0-18 at 0x08000000, at most 19456 bytes (page 19 holds the system flags); nothing was flashed"),
        ("dfu download missing", ["dfu", "download", "--slot", "1", "--address", "0x20000", "{D}/nope.bin", .. Good], "hilrig: {D}/nope.bin: no such file"),
        ("dfu download empty", ["dfu", "download", "--slot", "1", "--address", "0x20000", "{D}/empty.bin", .. Good], "hilrig: {D}/empty.bin: empty file, nothing to download"),
        ("dfu download a folder", ["dfu", "download", "--slot", "1", "--address", "0x20000", "{D}/folder", .. Good], "hilrig: {D}/folder: is a folder; valid: a file"),

        // trace CSVs
        ("trace missing", ["led", "classify", "{D}/nope.csv"], "hilrig: {D}/nope.csv: no such trace file"),
        ("trace empty", ["led", "classify", "{D}/trace-empty.csv"], "hilrig: {D}/trace-empty.csv: empty trace; expected the header 'time_ms,r,g,b,c,gain,integration_ms'"),
        ("trace header", ["led", "classify", "{D}/trace-header.csv"], "hilrig: {D}/trace-header.csv:1: header is 't,r,g,b'; expected 'time_ms,r,g,b,c,gain,integration_ms'"),
        ("trace text", ["led", "classify", "{D}/trace-text.csv"], "hilrig: {D}/trace-text.csv:2: field 'r' is 'red'; expected a whole count 0..65535"),
        ("trace fields", ["led", "classify", "{D}/trace-fields.csv"], "hilrig: {D}/trace-fields.csv:2: 4 fields; expected 7 (time_ms,r,g,b,c,gain,integration_ms)"),
        ("trace time backwards", ["led", "classify", "{D}/trace-back.csv"], "hilrig: {D}/trace-back.csv:3: field 'time_ms' is 5, earlier than the line before; samples must be in time order"),
        ("trace negative", ["led", "classify", "{D}/trace-negative.csv"], "hilrig: {D}/trace-negative.csv:2: field 'r' is '-1'; expected a whole count 0..65535"),
        ("trace /dev/zero", ["led", "classify", "/dev/zero"], "hilrig: /dev/zero: is a character device, not a regular file; valid: a file"),

        // inventory CSVs
        ("lots missing", ["lots", "check", "{D}/nope.csv"], "hilrig: {D}/nope.csv: no such file; give the path of an inventory CSV"),
        ("lots empty", ["lots", "check", "{D}/lots-empty.csv"], "lots-empty.csv:1: header: '': file is empty; expected the header device_id,lot,date_code,supplier\nlots-empty.csv: 1 problem; nothing would be imported"),
        ("lots header", ["lots", "check", "{D}/lots-header.csv"], "lots-header.csv:1: header: 'id': unknown column; expected the columns device_id,lot,date_code,supplier in any order\nlots-header.csv:1: header: 'id,lot': missing column 'device_id'; expected the columns device_id,lot,date_code,supplier in any order\nlots-header.csv:1: header: 'id,lot': missing column 'date_code'; expected the columns device_id,lot,date_code,supplier in any order\nlots-header.csv:1: header: 'id,lot': missing column 'supplier'; expected the columns device_id,lot,date_code,supplier in any order\nlots-header.csv: 4 problems; nothing would be imported"),
        ("lots device id", ["lots", "check", "{D}/lots-id.csv"], "lots-id.csv:2: device_id: 'not-a-device': expected 24 hex digits (0-9, a-f), e.g. 53ff6c065067544854291187\nlots-id.csv: 1 problem; nothing would be imported"),
        ("lots fields", ["lots", "check", "{D}/lots-fields.csv"], "lots-fields.csv:2: row: '53ff6c065067544854291187,SST25-1348A': has 2 fields; the header has 4 (device_id,lot,date_code,supplier)\nlots-fields.csv: 1 problem; nothing would be imported"),
        ("lots duplicate", ["lots", "import", "{D}/lots-dup.csv", "--store", "{D}/new.db"], "lots-dup.csv:3: device_id: '53ff6c065067544854291187': duplicate of line 2; each device appears once\nlots-dup.csv: 1 problem; nothing imported"),
        ("lots no lot", ["lots", "import", "{D}/lots-nolot.csv", "--store", "{D}/new.db"], "lots-nolot.csv:2: lot: '': must not be empty; give the chip lot printed on the reel\nlots-nolot.csv: 1 problem; nothing imported"),
        ("lots open quote", ["lots", "check", "{D}/lots-quote.csv"], "lots-quote.csv:2: row: '\"SST25,1348,Microchip\n': quote is never closed; end the field with \"\nlots-quote.csv: 1 problem; nothing would be imported"),
        ("lots /dev/zero", ["lots", "check", "/dev/zero"], "hilrig: /dev/zero: is a character device, not a regular file; valid: a file"),
        ("lots known-lots missing", ["lots", "check", "{D}/lots-id.csv", "--known-lots", "{D}/nope.txt"], "hilrig: --known-lots: {D}/nope.txt: no such file; give a text file with one lot per line"),

        // stores and output files
        ("store not sqlite", ["report", "lots", "--store", "{D}/text.txt"], "hilrig: {D}/text.txt: not a results store: it has no SQLite header; valid: a SQLite file written by hilrig"),
        ("store a folder", ["report", "lots", "--store", "{D}/folder"], "hilrig: --store {D}/folder: is a folder; valid: a file"),
        ("store missing", ["report", "slots", "--store", "{D}/nope.db"], "hilrig: no results store at {D}/nope.db; run `hilrig screen` or `hilrig sim fleet` first, or pass --store FILE"),
        // a read-only command never writes: no HilRig tables added to a file it only reads ("*": any one hilrig line)
        ("store unrelated sqlite", ["report", "lots", "--store", "{D}/unrelated.db"], "*"),
        ("dashboard store not sqlite", ["dashboard", "--store", "{D}/text.txt"], "hilrig: {D}/text.txt: not a results store: it has no SQLite header; valid: a SQLite file written by hilrig"),
        ("import into non-sqlite", ["lots", "import", "{D}/lots-good.csv", "--store", "{D}/text.txt"], "hilrig: {D}/text.txt: not a results store: it has no SQLite header; valid: a SQLite file written by hilrig"),
        ("output under /proc", ["image", "generate", "--out", "/proc/hilrig/app.bin"], "hilrig: /proc/hilrig/app.bin: cannot write it: Could not find file '/proc/hilrig'.; valid: a file in a folder this user can write"),
        ("output under a file", ["image", "generate", "--out", "{D}/text.txt/app.bin"], "hilrig: {D}/text.txt/app.bin: cannot write it: The file '{D}/text.txt' already exists.; valid: a file in a folder this user can write"),
        ("output a folder", ["image", "generate", "--out", "{D}/folder"], "hilrig: --out {D}/folder: is a folder; valid: a file"),
        ("export-lots under /proc", ["sim", "export-lots", "--cores", "4", "--lots", "1", "--seed", "1", "--output", "/proc/hilrig/lots.csv"], "hilrig: /proc/hilrig/lots.csv: cannot write it: Could not find file '/proc/hilrig'.; valid: a file in a folder this user can write"),
    ];

    private static IEnumerable<TestCaseData> Corpus() => Cases.Select(c => new TestCaseData(c.Args, c.Expected).SetName($"Bad input: {c.Name}"));

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
            // HILRIG_CORPUS_PRINT=FILE appends what each case printed, to review a new case's line
            if (Environment.GetEnvironmentVariable("HILRIG_CORPUS_PRINT") is { Length: > 0 } print)
                File.AppendAllText(print, $"{TestContext.CurrentContext.Test.Name}|{exit}|{actual.Replace("\n", "\\n", StringComparison.Ordinal)}\n");
            Assert.Multiple(() =>
            {
                if (expected == "*") Assert.That(actual, Does.Match("^hilrig: [^\n]+$"), "stderr");
                else Assert.That(actual, Is.EqualTo(expected), "stderr");
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
