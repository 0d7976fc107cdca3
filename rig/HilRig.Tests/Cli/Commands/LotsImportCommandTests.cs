using HilRig.Cli;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using Microsoft.Data.Sqlite;

namespace HilRig.Tests.Cli;

/// <summary>`hilrig lots import`: a whole inventory or nothing, every problem named with its line, field and value.</summary>
public class LotsImportCommandTests
{
    private const string Id1 = "53ff6c065067544854291187";
    private const string Id2 = "53ff70065067544839331287";
    private const string Id3 = "48ff6a065067555008342387";
    private static readonly DateTimeOffset T0 = new(2026, 3, 14, 8, 0, 0, TimeSpan.Zero);
    private string _folder = "";

    private string Store => Path.Combine(_folder, "results.db");

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("hilrig-import-").FullName;

    [TearDown]
    public void RemoveFolder() => Directory.Delete(_folder, recursive: true);

    private string Csv(string text)
    {
        var path = Path.Combine(_folder, "lots.csv");
        File.WriteAllText(path, text);
        return path;
    }

    private static List<(string Id, string Lot, string? DateCode, string? Supplier)> Devices(string store)
    {
        using var db = new SqliteConnection($"Data Source={store};Pooling=False");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT device_id, lot, date_code, supplier FROM devices ORDER BY device_id";
        using var reader = cmd.ExecuteReader();
        var list = new List<(string, string, string?, string?)>();
        while (reader.Read())
            list.Add((reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3)));
        return list;
    }

    /// <summary>A store that already knows one device, so "nothing imported" can be seen as "nothing changed".</summary>
    private void SeedStore() => ResultsStore.Open(Store).UpsertDevice(Id3, "OLD-LOT", T0, "1301", "Old supplier");

    private (int Exit, string Output, string Error) Import(string csv, params string[] more) =>
        CliHarness.Run(["lots", "import", csv, "--store", Store, .. more]);

    [Test]
    public void A_valid_inventory_is_imported_whole_and_moves_known_devices_with_their_verdicts()
    {
        SeedStore();
        var store = ResultsStore.Open(Store);
        var run = store.StartRun(new RunInfo("rig", "h", 1, "BL14", "screen", T0));
        store.RecordResult(new ResultRecord(run, Id3, 1, "dfu-readback", Verdict.Fail, T0, T0.AddSeconds(17)));

        var (exit, output, error) = Import(Csv($"device_id,lot,date_code,supplier\n{Id1},SST25-1402A,1402,Microchip\n{Id2},SST25-1402A,1402,\n{Id3},SST25-1350B,1350,\"Acme, Inc.\"\n"));

        Assert.That(error, Is.Empty);
        Assert.That(exit, Is.EqualTo(ExitCodes.Ok));
        Assert.That(output, Does.Contain("imported 3 devices in 2 lots (2 new, 1 updated)"));
        Assert.That(Devices(Store), Is.EqualTo(new[]
        {
            (Id3, "SST25-1350B", (string?)"1350", (string?)"Acme, Inc."),
            (Id1, "SST25-1402A", "1402", "Microchip"),
            (Id2, "SST25-1402A", "1402", null),
        }));
        // The failed verdict recorded under the old lot now counts for the corrected one.
        var lots = HilRig.Reports.Queries.ResultsQueries.OpenSqlite(Store).LotCounts();
        Assert.That(lots, Is.EqualTo(new[] { new HilRig.Reports.Statistics.GroupCount("SST25-1350B", 1, 1) }));
    }

    [Test]
    public void A_missing_column_is_named_on_line_1_and_nothing_is_imported()
    {
        SeedStore();
        var (exit, _, error) = Import(Csv($"device_id,lot,supplier\n{Id1},L1,Acme\n"));

        Assert.That(exit, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(error, Does.Contain("lots.csv:1: header: 'device_id,lot,supplier': missing column 'date_code'"));
        Assert.That(error, Does.Contain("nothing imported"));
        Assert.That(Devices(Store), Is.EqualTo(new[] { (Id3, "OLD-LOT", (string?)"1301", (string?)"Old supplier") }));
    }

    [Test]
    public void A_duplicate_device_id_is_named_with_both_lines_and_nothing_is_imported()
    {
        SeedStore();
        var (exit, _, error) = Import(Csv($"device_id,lot,date_code,supplier\n{Id1},L1,1402,A\n{Id3},L2,1402,A\n{Id1},L3,1402,A\n"));

        Assert.That(exit, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(error, Does.Contain($"lots.csv:4: device_id: '{Id1}': duplicate of line 2"));
        Assert.That(Devices(Store).Select(d => d.Lot), Is.EqualTo(new[] { "OLD-LOT" }), "the valid lines were not imported either");
    }

    [Test]
    public void An_unknown_lot_reference_is_named_with_the_known_lots_and_nothing_is_imported()
    {
        SeedStore();
        var known = Path.Combine(_folder, "known-lots.txt");
        File.WriteAllText(known, "SST25-1402A\nSST25-1350B\n");
        var (exit, _, error) = Import(Csv($"device_id,lot,date_code,supplier\n{Id1},SST25-1402A,1402,A\n{Id2},SST25-9999Z,1402,A\n"), "--known-lots", known);

        Assert.That(exit, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(error, Does.Contain("lots.csv:3: lot: 'SST25-9999Z': unknown lot; known lots: SST25-1350B, SST25-1402A"));
        Assert.That(Devices(Store).Select(d => d.Id), Is.EqualTo(new[] { Id3 }));
    }

    [Test]
    public void A_device_id_that_is_not_24_hex_digits_is_named_and_nothing_is_imported()
    {
        SeedStore();
        var (exit, _, error) = Import(Csv($"device_id,lot,date_code,supplier\n{Id1},L1,1402,A\n53ff6c0650675448542911,L1,1402,A\n53ff6c065067544854291zz7,L1,1402,A\n"));

        Assert.That(exit, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(error, Does.Contain("lots.csv:3: device_id: '53ff6c0650675448542911': expected 24 hex digits"));
        Assert.That(error, Does.Contain("lots.csv:4: device_id: '53ff6c065067544854291zz7': expected 24 hex digits"));
        Assert.That(error, Does.Contain("2 problems; nothing imported"));
        Assert.That(Devices(Store).Select(d => d.Id), Is.EqualTo(new[] { Id3 }));
    }

    [Test]
    public void A_bad_inventory_never_creates_a_store()
    {
        var (exit, _, _) = Import(Csv("device_id,lot,date_code,supplier\nnot-an-id,L1,1402,A\n"));
        Assert.That(exit, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(File.Exists(Store), Is.False);
    }

    [Test]
    public void The_simulated_population_exports_as_an_inventory_that_imports_cleanly()
    {
        var csv = Path.Combine(_folder, "fleet-lots.csv");
        var (exportExit, _, exportError) = CliHarness.Run("sim", "export-lots", "--cores", "300", "--lots", "5", "--seed", "9", "--output", csv);
        Assert.That(exportExit, Is.EqualTo(ExitCodes.Ok), exportError);
        var lines = File.ReadAllLines(csv);
        Assert.That(lines[0], Is.EqualTo("device_id,lot,date_code,supplier"));
        Assert.That(lines, Has.Length.EqualTo(301));

        var (exit, output, error) = Import(csv);

        Assert.That(exit, Is.EqualTo(ExitCodes.Ok), error);
        Assert.That(output, Does.Contain("imported 300 devices in 5 lots (300 new, 0 updated)"));
        Assert.That(Devices(Store), Has.Count.EqualTo(300));
    }
}
