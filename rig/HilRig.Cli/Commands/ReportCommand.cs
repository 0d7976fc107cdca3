using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using HilRig.Core.Results;
using HilRig.Reports.Html;
using HilRig.Reports.Queries;

namespace HilRig.Cli.Commands;

/// <summary>
/// <c>hilrig report lots|modes|slots|soak|device ID</c>: reports from the results store as a terminal table, CSV,
/// JSON, or one self-contained HTML file (inline SVG charts) to send to a supplier.
/// </summary>
internal static class ReportCommand
{
    public static Command Create()
    {
        var report = new Command("report", "Reports from the results store: lots, modes, slots, soak, device ID");
        var target = new Option<double?>("--target") { Description = "claim target for the failure rate, e.g. 0.01: per lot, the passing units still to test before the exact 95 % upper bound is below it" };
        target.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<double?>() is { } t && t is not (> 0 and < 1))
                r.AddError($"--target: {t.ToString(System.Globalization.CultureInfo.InvariantCulture)}: must be a proportion between 0 and 1, e.g. 0.01");
        });
        report.Subcommands.Add(Report("lots", "Per chip lot: units, failed, failure rate with Wilson and exact 95 % intervals, p-chart limit and flag",
            (q, pr) =>
            {
                var v = q.Lots(pr.GetValue(target));
                var lots = v.Lots.OrderBy(l => l.Lot, StringComparer.Ordinal).ToList();
                var body = ReportJson.Lots(v, lots, pr.GetValue(target));
                return new Rendered(ReportTables.Lots(lots), body, HtmlPages.Lots(v, links: false)) { Footer = v.Yields is { } y ? HtmlPages.YieldText(y) : null };
            }, extra: target));
        report.Subcommands.Add(Report("modes", "Failure modes and defect kinds per chip lot",
            (q, _) => { var m = q.Modes(); return new Rendered(ReportTables.Modes(m), Body(new { lots = m }), HtmlPages.Modes(m, links: false)); }));
        report.Subcommands.Add(Report("slots", "Slot health: devices failed or rig-faulted per slot against the p-chart of all slots",
            (q, _) => { var s = q.Slots(); return new Rendered(ReportTables.Slots(s), Body(new { slots = s }), HtmlPages.Slots(s, links: false)); }));
        report.Subcommands.Add(Report("soak", "Soak failures per 1,000 cycles by bootloader build, newest build against the previous",
            (q, _) => { var s = q.Soak(); return new Rendered(ReportTables.Soak(s), Body(s), HtmlPages.Soak(s, links: false)); }));
        var device = new Argument<string>("id") { Description = "device id (24 hex digits)" };
        report.Subcommands.Add(Report("device", "Every attempt of one device with its evidence", (q, pr) =>
        {
            var id = pr.GetValue(device)!;
            var v = q.Device(id);
            return v is null ? null : new Rendered(ReportTables.Device(v), Body(v), HtmlPages.Device(v, links: false));
        }, device));
        return report;
    }

    /// <summary>A report's fields as a JSON object, camelCase like every export; the rows are under a named field.</summary>
    private static JsonObject Body(object value) => ReportJson.Body(value);

    /// <summary>The one envelope of every JSON export, shared with the dashboard's <c>?format=json</c> (<see cref="ReportJson"/>).</summary>
    private static string Envelope(string name, ReportTable table, StoreTarget store, JsonObject body) =>
        ReportJson.Envelope(name, table.Title, store.Description, body);

    private sealed record Rendered(ReportTable Table, JsonObject Json, string Html)
    {
        /// <summary>A line under the terminal table (the lots report's screening yields).</summary>
        public string? Footer { get; init; }
    }

    private static Command Report(string name, string description, Func<ResultsQueries, ParseResult, Rendered?> render, Argument<string>? argument = null, Option? extra = null)
    {
        var config = CommonOptions.Config();
        var store = StoreLocation.Option();
        var format = CommonOptions.Format("html");
        format.Description += " (html: one self-contained file)";
        var outputFile = CommonOptions.Output("write to this file instead of standard output (written whole or not at all)");
        var command = new Command(name, description);
        if (argument is not null) command.Arguments.Add(argument);
        command.Options.Add(config);
        command.Options.Add(store);
        command.Options.Add(format);
        outputFile.AddTo(command);
        if (extra is not null) command.Options.Add(extra);
        command.SetAction((ParseResult pr, CancellationToken ct) =>
        {
            var output = pr.InvocationConfiguration.Output;
            var error = pr.InvocationConfiguration.Error;
            if (!StoreLocation.TryResolveReader(pr.GetValue(config)!, pr.GetValue(store), error, out var path))
                return Task.FromResult(ExitCodes.BadInput);
            Rendered? rendered;
            try
            {
                rendered = render(path.OpenQueries(), pr);
            }
            catch (ResultsStoreException e)
            {
                error.WriteLine($"hilrig: {e.Message}");
                return Task.FromResult(ExitCodes.BadInput);
            }
            if (rendered is null)
            {
                error.WriteLine($"hilrig: device '{pr.GetValue(argument!)}' is not in the results store {path}; give a device id the store has results for");
                return Task.FromResult(ExitCodes.BadInput);
            }
            var text = pr.GetValue(format) switch
            {
                "csv" => rendered.Table.ToCsv(),
                "json" => Envelope(name, rendered.Table, path, rendered.Json) + "\n",
                "html" => rendered.Html + "\n",
                _ => TableText(rendered.Table, outputFile.Get(pr) is null ? output : null) + (rendered.Footer is { } footer ? footer + "\n" : ""),
            };
            if (outputFile.Get(pr) is { } file)
            {
                FileOutput.WriteAtomically(file.FullName, System.Text.Encoding.UTF8.GetBytes(text));
                error.WriteLine($"{name} report written to {file.FullName}");
            }
            else
            {
                output.Write(text);
            }
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    /// <summary>
    /// The table in words, fitted to the terminal (80 columns in a pipe or a file): figures never wrap, lots and modes
    /// wrap at spaces; colour never (a report is read in files and mails as often as on a screen).
    /// </summary>
    private static string TableText(ReportTable report, TextWriter? terminal)
    {
        if (report.Rows.Count == 0) return $"{report.Title}: no results in the store yet.\n";
        var table = new TextTable();
        for (var i = 0; i < report.Columns.Count; i++)
        {
            var c = report.Columns[i];
            var figure = c.Kind is CellKind.Count or CellKind.Rate or CellKind.Number;
            // the first column names the row (a lot, a slot, a device): never cut; on a narrow terminal the second
            // opinions on an interval go first (exact bounds, the rule of three), the Wilson interval and the flag stay
            var drop = c.Header.StartsWith("Exact", StringComparison.Ordinal) ? 3 : c.Header.StartsWith("Rule of", StringComparison.Ordinal) ? 2
                : i == 0 ? 0 : 1; // then from the right, until it fits (every column is in csv and json)
            table.Column(c.Header, right: figure, wrap: !figure, keepWords: i == 0, drop: drop);
        }
        foreach (var row in report.Rows)
            table.Row([.. row.Select((v, i) => ReportTable.Display(report.Columns[i].Kind, v))]);
        var width = terminal is null ? Terminal.DefaultWidth : Terminal.Width(terminal);
        return TextWrap.Paragraph(report.Title, width) + "\n" + table.Render(width);
    }
}
