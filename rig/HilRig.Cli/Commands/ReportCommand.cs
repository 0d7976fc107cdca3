using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using HilRig.Core.Config;
using HilRig.Core.Results;
using Spectre.Console;

namespace HilRig.Cli.Commands;

/// <summary><c>hilrig report lots</c>: failure rate per chip lot from the results store.</summary>
internal static class ReportCommand
{
    public static Command Create()
    {
        var report = new Command("report", "Reports from the results store");
        report.Subcommands.Add(Lots());
        return report;
    }

    private static Command Lots()
    {
        var config = CommonOptions.Config();
        var store = new Option<FileInfo?>("--store")
        {
            Description = "results store file (default: results.path from the rig config)",
        };
        var format = CommonOptions.Format();
        var lots = new Command("lots", "Per chip lot: units tested, units failed (last attempt of any test failed), failure rate");
        lots.Options.Add(config);
        lots.Options.Add(store);
        lots.Options.Add(format);
        lots.SetAction((ParseResult pr, CancellationToken ct) => Task.FromResult(RunLots(
            pr.GetValue(config)!, pr.GetValue(store), CommonOptions.ParseFormat(pr.GetValue(format)),
            pr.InvocationConfiguration.Output, pr.InvocationConfiguration.Error)));
        return lots;
    }

    private static int RunLots(FileInfo configFile, FileInfo? storeFile, OutputFormat format, TextWriter output, TextWriter error)
    {
        string path;
        if (storeFile is not null)
        {
            path = storeFile.FullName;
        }
        else
        {
            if (!ConfigLoading.TryLoad(configFile, error, out var config))
                return ExitCodes.BadInput;
            if (config.Results.Kind != ResultsStoreKind.Sqlite)
            {
                error.WriteLine($"hilrig: {configFile}: results.kind: report lots reads sqlite stores only for now; pass --store FILE");
                return ExitCodes.BadInput;
            }
            path = config.ResolveStorePath();
        }
        // Reading must not leave an empty store behind for a mistyped path.
        if (!File.Exists(path))
        {
            error.WriteLine($"hilrig: no results store at {path}; run a screen first or pass --store FILE");
            return ExitCodes.BadInput;
        }

        IReadOnlyList<LotSummary> summary;
        try
        {
            summary = ResultsStore.Open(path).LotSummary();
        }
        catch (ResultsStoreException e)
        {
            error.WriteLine($"hilrig: {e.Message}");
            return ExitCodes.BadInput;
        }

        switch (format)
        {
            case OutputFormat.Csv:
                WriteCsv(summary, output);
                break;
            case OutputFormat.Json:
                WriteJson(summary, output);
                break;
            default:
                WriteTable(summary, output);
                break;
        }
        return ExitCodes.Ok;
    }

    private static void WriteTable(IReadOnlyList<LotSummary> summary, TextWriter output)
    {
        if (summary.Count == 0)
        {
            output.WriteLine("No results in the store yet.");
            return;
        }
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
        var table = new Table().AddColumn("Lot").AddColumn("Units", c => c.RightAligned())
            .AddColumn("Failed", c => c.RightAligned()).AddColumn("Failure rate", c => c.RightAligned());
        foreach (var lot in summary)
        {
            table.AddRow(
                Markup.Escape(lot.Lot),
                lot.Units.ToString(CultureInfo.InvariantCulture),
                lot.Failed.ToString(CultureInfo.InvariantCulture),
                lot.FailureRate.ToString("P1", CultureInfo.InvariantCulture));
        }
        console.Write(table);
    }

    private static void WriteCsv(IReadOnlyList<LotSummary> summary, TextWriter output)
    {
        output.WriteLine("lot,units,failed,failureRate");
        foreach (var lot in summary)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{CsvField(lot.Lot)},{lot.Units},{lot.Failed},{lot.FailureRate}"));
        }
    }

    private static string CsvField(string value) =>
        value.IndexOfAny([',', '"', '\n', '\r']) < 0 ? value : "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static void WriteJson(IReadOnlyList<LotSummary> summary, TextWriter output)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartArray();
            foreach (var lot in summary)
            {
                json.WriteStartObject();
                json.WriteString("lot", lot.Lot);
                json.WriteNumber("units", lot.Units);
                json.WriteNumber("failed", lot.Failed);
                json.WriteNumber("failureRate", lot.FailureRate);
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }
}
