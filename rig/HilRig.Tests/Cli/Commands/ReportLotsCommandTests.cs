using HilRig.Core.Procedures;
using System.CommandLine;
using System.Text.Json;
using HilRig.Cli;
using HilRig.Cli.Commands;
using HilRig.Core.Results;

namespace HilRig.Tests.Cli;

public class ReportLotsCommandTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 14, 8, 0, 0, TimeSpan.Zero);
    private string _folder = "";

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("hilrig-report-").FullName;

    [TearDown]
    public void RemoveFolder() => Directory.Delete(_folder, recursive: true);

    private static RootCommand Root()
    {
        var root = new RootCommand("hilrig");
        foreach (var command in CommandCatalog.All())
            root.Subcommands.Add(command);
        return root;
    }

    private static (int Exit, string Output, string Error) Invoke(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = Root().Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>Lot A: 3 units, 1 failed. Lot "B,2": 1 unit, failed after a retest (its name needs CSV quoting).</summary>
    private string SeedStore(string path)
    {
        var store = ResultsStore.Open(path);
        var run = store.StartRun(new RunInfo("rig-1", "hash", 42, "BL14", "screen", T0));
        store.UpsertDevice("a1", "SST25-1348A", T0);
        store.UpsertDevice("a2", "SST25-1348A", T0);
        store.UpsertDevice("a3", "SST25-1348A", T0);
        store.UpsertDevice("b1", "B,2", T0);
        var at = T0;
        void Record(string device, Verdict verdict)
        {
            at = at.AddMinutes(1);
            store.RecordResult(new ResultRecord(run, device, 1, "dfu-readback", verdict, at, at.AddSeconds(20)));
        }
        Record("a1", Verdict.Pass);
        Record("a2", Verdict.Fail);
        Record("a3", Verdict.Pass);
        Record("b1", Verdict.Pass);
        Record("b1", Verdict.Fail);
        return path;
    }

    [Test]
    public void Csv_has_a_header_and_one_row_per_lot()
    {
        var store = SeedStore(Path.Combine(_folder, "s.db"));

        var (exit, output, error) = Invoke("report", "lots", "--store", store, "--format", "csv");

        Assert.That(error, Is.Empty);
        Assert.That(exit, Is.EqualTo(ExitCodes.Ok));
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines[0], Is.EqualTo("lot,units,failed,failureRate,lower,upper,clopperPearsonLower,clopperPearsonUpper,ruleOfThreeUpper,pChartUpperLimit,flagged,additionalUnitsNeeded"));
        Assert.That(lines, Has.Length.EqualTo(3));
        Assert.That(lines[1], Does.StartWith("\"B,2\",1,1,1,"));
        Assert.That(lines[2], Does.StartWith("SST25-1348A,3,1,0.3333333333333333,"));
    }

    [Test]
    public void Json_is_the_report_envelope_with_each_lot_and_its_counts_and_rate()
    {
        var store = SeedStore(Path.Combine(_folder, "s.db"));

        var (exit, output, _) = Invoke("report", "lots", "--store", store, "--format", "json");

        Assert.That(exit, Is.EqualTo(ExitCodes.Ok));
        using var doc = JsonDocument.Parse(output);
        Assert.That(doc.RootElement.ValueKind, Is.EqualTo(JsonValueKind.Object), "never a bare array");
        Assert.That(doc.RootElement.GetProperty("report").GetProperty("name").GetString(), Is.EqualTo("lots"));
        var lots = doc.RootElement.GetProperty("lots").EnumerateArray().ToList();
        Assert.That(lots, Has.Count.EqualTo(2));
        Assert.That(lots[1].GetProperty("lot").GetString(), Is.EqualTo("SST25-1348A"));
        Assert.That(lots[1].GetProperty("units").GetInt32(), Is.EqualTo(3));
        Assert.That(lots[1].GetProperty("failed").GetInt32(), Is.EqualTo(1));
        Assert.That(lots[1].GetProperty("failureRate").GetDouble(), Is.EqualTo(1.0 / 3).Within(1e-12));
    }

    [Test]
    public void The_table_is_the_default_and_shows_each_lot_with_its_rate()
    {
        var store = SeedStore(Path.Combine(_folder, "s.db"));

        var (exit, output, _) = Invoke("report", "lots", "--store", store);

        Assert.That(exit, Is.EqualTo(ExitCodes.Ok));
        var row = output.Split('\n').Single(l => l.Contains("SST25-1348A", StringComparison.Ordinal));
        Assert.That(row, Does.Match(@"SST25-1348A\s+3\s+1\s+33\.33 %"));
        Assert.That(output, Does.Contain("Failure rate"));
    }

    [Test]
    public void Without_store_the_path_comes_from_the_rig_config()
    {
        var config = Path.Combine(_folder, "rig-config.yaml");
        File.Copy(RepoFiles.Path("rig-config.yaml"), config);
        SeedStore(Path.Combine(_folder, "results", "hilrig.db"));

        var (exit, output, _) = Invoke("report", "lots", "--config", config, "--format", "csv");

        Assert.That(exit, Is.EqualTo(ExitCodes.Ok));
        Assert.That(output, Does.Contain("SST25-1348A,3,1,"));
    }

    [Test]
    public void A_bad_format_exits_2_before_anything_runs()
    {
        var store = SeedStore(Path.Combine(_folder, "s.db"));

        var exit = CliRunner.InvokeAsync(Root(), ["report", "lots", "--store", store, "--format", "xml"]).GetAwaiter().GetResult();

        Assert.That(exit, Is.EqualTo(ExitCodes.BadInput));
    }

    [Test]
    public void A_broken_config_exits_2_with_every_error_on_its_own_line()
    {
        var config = RepoFiles.Path("examples/invalid-rig.yaml");

        var (exit, output, error) = Invoke("report", "lots", "--config", config);

        Assert.That(exit, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(output, Is.Empty);
        var lines = error.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(11));
        Assert.That(lines, Is.All.Match(@"^.*invalid-rig\.yaml:\d+:\d+: \S+: .+$"));
    }

    [Test]
    public void A_missing_store_exits_2_and_creates_nothing()
    {
        var missing = Path.Combine(_folder, "nowhere", "hilrig.db");

        var (exit, _, error) = Invoke("report", "lots", "--store", missing);

        Assert.That(exit, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(error.Trim(), Is.EqualTo($"hilrig: no results store at {missing}; run `hilrig screen` or `hilrig sim fleet` first, or pass --store FILE"));
        Assert.That(Directory.Exists(Path.GetDirectoryName(missing)), Is.False);
    }
}
