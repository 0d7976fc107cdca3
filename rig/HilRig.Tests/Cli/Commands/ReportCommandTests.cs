using System.Text.Json;
using HilRig.Cli;
using HilRig.Sim.Fleet;
using HilRig.Core.Results;

namespace HilRig.Tests.Cli;

/// <summary>`hilrig report lots|modes|slots|soak|device ID` in every format over a generated fleet.</summary>
public class ReportCommandTests
{
    private static string _folder = "";
    private static string _store = "";

    [OneTimeSetUp]
    public static void Fleet()
    {
        _folder = Directory.CreateTempSubdirectory("hilrig-reports-").FullName;
        _store = Path.Combine(_folder, "fleet.db");
        new FleetFastPath(FleetPlan.Create(new FleetOptions(2500, 5, 3, 1, SoakCycles: 20)), 8).WriteTo(ResultsStore.Open(_store), "rig");
    }

    [OneTimeTearDown]
    public static void Remove() => Directory.Delete(_folder, recursive: true);

    [TestCase("lots")]
    [TestCase("modes")]
    [TestCase("slots")]
    [TestCase("soak")]
    public void Every_report_is_one_self_contained_html_file_with_an_svg_or_table(string report)
    {
        var file = Path.Combine(_folder, report + ".html");
        var (exit, _, error) = CliHarness.Run("report", report, "--store", _store, "--format", "html", "--output", file);

        Assert.That(exit, Is.EqualTo(ExitCodes.Ok), error);
        var html = File.ReadAllText(file);
        Assert.That(html, Does.StartWith("<!DOCTYPE html>"));
        Assert.That(html, Does.Contain("<table"));
        Assert.That(html, Does.Not.Contain("<script").And.Not.Contain("<link").And.Not.Contain("src="), "nothing loaded from elsewhere");
        if (report != "modes") Assert.That(html, Does.Contain("<svg"));
    }

    [TestCase("lots", "lots")]
    [TestCase("modes", "lots")]
    [TestCase("slots", "slots")]
    [TestCase("soak", "builds")]
    public void Every_report_json_is_the_one_envelope_a_report_header_then_its_rows_under_a_name(string report, string rows)
    {
        var (exit, output, error) = CliHarness.Run("report", report, "--store", _store, "--format", "json");

        Assert.That(exit, Is.EqualTo(ExitCodes.Ok), error);
        using var doc = JsonDocument.Parse(output);
        Assert.That(doc.RootElement.ValueKind, Is.EqualTo(JsonValueKind.Object), "never a bare array");
        var header = doc.RootElement.EnumerateObject().First();
        Assert.That(header.Name, Is.EqualTo("report"), "the header comes first");
        Assert.That(header.Value.GetProperty("name").GetString(), Is.EqualTo(report));
        Assert.That(header.Value.GetProperty("title").GetString(), Is.Not.Empty);
        Assert.That(doc.RootElement.GetProperty(rows).GetArrayLength(), Is.GreaterThan(0));
        Assert.That(output, Does.Not.Match("\"[A-Za-z]+_[a-z]+\":"), "camelCase names, no snake_case");
        Assert.That(output, Does.Not.Match("\"[A-Z][A-Za-z]*\":"), "camelCase names, no PascalCase");
    }

    [Test]
    public void A_device_report_json_has_the_report_header_and_the_attempts()
    {
        var device = ResultsStore.Open(_store).GetResults().First().DeviceId;
        var (exit, output, error) = CliHarness.Run("report", "device", device, "--store", _store, "--format", "json");

        Assert.That(exit, Is.EqualTo(ExitCodes.Ok), error);
        using var doc = JsonDocument.Parse(output);
        Assert.That(doc.RootElement.GetProperty("report").GetProperty("name").GetString(), Is.EqualTo("device"));
        Assert.That(doc.RootElement.GetProperty("deviceId").GetString(), Is.EqualTo(device));
        Assert.That(doc.RootElement.GetProperty("attempts").GetArrayLength(), Is.GreaterThan(0));
    }

    [Test]
    public void Lots_json_gives_wilson_and_exact_intervals_and_the_p_chart_flag_per_lot()
    {
        var (exit, output, _) = CliHarness.Run("report", "lots", "--store", _store, "--format", "json");

        Assert.That(exit, Is.EqualTo(ExitCodes.Ok));
        using var doc = JsonDocument.Parse(output);
        // the one envelope of every export: the header object first, the rows under a named field
        Assert.That(doc.RootElement.EnumerateObject().First().Name, Is.EqualTo("report"));
        Assert.That(doc.RootElement.GetProperty("report").GetProperty("name").GetString(), Is.EqualTo("lots"));
        Assert.That(doc.RootElement.GetProperty("report").GetProperty("store").GetString(), Is.EqualTo(Path.GetFullPath(_store)));
        var lots = doc.RootElement.GetProperty("lots").EnumerateArray().ToList();
        Assert.That(lots, Has.Count.EqualTo(5));
        Assert.That(doc.RootElement.GetProperty("units").GetInt32(), Is.EqualTo(lots.Sum(l => l.GetProperty("units").GetInt32())));
        foreach (var lot in lots)
        {
            var rate = lot.GetProperty("failureRate").GetDouble();
            Assert.That(rate, Is.EqualTo((double)lot.GetProperty("failed").GetInt32() / lot.GetProperty("units").GetInt32()).Within(1e-12));
            Assert.That(lot.GetProperty("lower").GetDouble(), Is.LessThanOrEqualTo(rate));
            Assert.That(lot.GetProperty("upper").GetDouble(), Is.GreaterThanOrEqualTo(rate));
            Assert.That(lot.GetProperty("clopperPearson").GetProperty("upper").GetDouble(), Is.GreaterThanOrEqualTo(lot.GetProperty("upper").GetDouble() - 0.02));
            Assert.That(lot.GetProperty("pChart").GetProperty("upperLimit").GetDouble(), Is.GreaterThan(0));
        }
        Assert.That(lots.Count(l => l.GetProperty("flagged").GetBoolean()), Is.EqualTo(1), "the one bad lot");
    }

    [Test]
    public void A_claim_target_gives_each_lot_the_passing_units_still_needed()
    {
        var (exit, output, error) = CliHarness.Run("report", "lots", "--store", _store, "--format", "json", "--target", "0.02");
        Assert.That(exit, Is.EqualTo(ExitCodes.Ok), error);
        foreach (var lot in JsonDocument.Parse(output).RootElement.GetProperty("lots").EnumerateArray())
        {
            int failed = lot.GetProperty("failed").GetInt32(), units = lot.GetProperty("units").GetInt32();
            Assert.That(lot.GetProperty("additionalUnitsNeeded").GetInt32(),
                Is.EqualTo(HilRig.Reports.Statistics.Proportion.AdditionalUnitsNeeded(failed, units, 0.02)));
        }

        var (bad, _, badError) = CliHarness.Run("report", "lots", "--store", _store, "--target", "2");
        Assert.That(bad, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(badError, Does.Contain("--target: 2: must be a proportion between 0 and 1"));
    }

    [Test]
    public void Soak_csv_has_one_row_per_bootloader_and_the_table_compares_them()
    {
        var (exit, output, _) = CliHarness.Run("report", "soak", "--store", _store, "--format", "csv");
        Assert.That(exit, Is.EqualTo(ExitCodes.Ok));
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines[0], Is.EqualTo("bootloader,cycles,failures,perThousandCycles,lower,upper"));
        Assert.That(lines.Skip(1).Select(l => l.Split(',')[0]), Is.EquivalentTo(new[] { "BL13", "BL14" }));
    }

    [Test]
    public void A_device_report_lists_every_attempt_and_an_unknown_device_exits_2()
    {
        var failed = ResultsStore.Open(_store).GetResults().First(r => r.Verdict == HilRig.Core.Procedures.Verdict.Fail && r.Cycle is null);
        var (exit, output, _) = CliHarness.Run("report", "device", failed.DeviceId, "--store", _store, "--format", "csv");
        Assert.That(exit, Is.EqualTo(ExitCodes.Ok));
        Assert.That(output, Does.Contain("dfu-readback").And.Contain("fail"));

        var (html, htmlOut, _) = CliHarness.Run("report", "device", failed.DeviceId, "--store", _store, "--format", "html");
        Assert.That(html, Is.EqualTo(ExitCodes.Ok));
        Assert.That(htmlOut, Does.Contain("SPI flash sectors").Or.Contain("no bit errors").Or.Contain("never finishes"));

        var (unknown, _, error) = CliHarness.Run("report", "device", "55ff00000000000000000000", "--store", _store);
        Assert.That(unknown, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(error, Does.Contain("device '55ff00000000000000000000' is not in the results store"));
    }

    [Test]
    public void A_missing_store_is_one_line_and_exit_2()
    {
        var (exit, _, error) = CliHarness.Run("report", "slots", "--store", Path.Combine(_folder, "nope.db"));
        Assert.That(exit, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(error, Does.Contain("no results store at"));
        Assert.That(File.Exists(Path.Combine(_folder, "nope.db")), Is.False);
    }
}
