using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using HilRig.Core.Results;
using HilRig.Reports.Html;
using HilRig.Reports.Queries;

namespace HilRig.Cli.Commands;

/// <summary>
/// <c>hilrig runs</c> lists the stored runs newest first with their full ids (time-ordered ids share their first
/// digits, so a table never cuts them); <c>hilrig runs show RUN</c> shows one run and what each slot did. Read-only.
/// </summary>
internal static class RunsCommand
{
    public static Command Create()
    {
        var runs = new Command("runs", "List the runs in the results store, newest first, with full ids; `runs show RUN` for one run");
        var config = CommonOptions.Config();
        var store = StoreLocation.Option();
        var format = CommonOptions.Format();
        var limit = new Option<int?>("--limit") { Description = "list at most N runs (the newest)" };
        limit.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is { } n && n < 1)
                r.AddError($"--limit: {n}: must be a whole number of runs, 1 or more");
        });
        runs.Options.Add(config);
        runs.Options.Add(store);
        runs.Options.Add(format);
        runs.Options.Add(limit);
        runs.SetAction(pr =>
        {
            var error = pr.InvocationConfiguration.Error;
            if (Open(pr.GetValue(config)!, pr.GetValue(store), error) is not { } opened) return ExitCodes.BadInput;
            var list = opened.Queries.Runs(pr.GetValue(limit));
            var output = pr.InvocationConfiguration.Output;
            output.Write(Render(CommonOptions.ParseFormat(pr.GetValue(format)), ListTable(list),
                () => JsonSerializer.Serialize(new { store = opened.Path, runs = list }, ReportTables.Json), "no runs in the store yet", () => ListText(list, output)));
            return ExitCodes.Ok;
        });

        var showConfig = CommonOptions.Config();
        var showStore = StoreLocation.Option();
        var showFormat = CommonOptions.Format();
        var runArgument = new Argument<string>("run") { Description = "run id, or a unique prefix of one (as `hilrig runs` lists them)" };
        var show = new Command("show", "One run: its header and a verdict summary per slot");
        show.Arguments.Add(runArgument);
        show.Options.Add(showConfig);
        show.Options.Add(showStore);
        show.Options.Add(showFormat);
        show.SetAction(pr =>
        {
            var error = pr.InvocationConfiguration.Error;
            if (Open(pr.GetValue(showConfig)!, pr.GetValue(showStore), error) is not { } opened) return ExitCodes.BadInput;
            var text = pr.GetValue(runArgument)!;
            if (!RunIds.TryResolve(text, opened.Queries.RunIdList(), opened.Path, out var id, out var problem))
            {
                error.WriteLine($"hilrig: run {problem}");
                return ExitCodes.BadInput;
            }
            var detail = opened.Queries.Run(id)!;
            var output = pr.InvocationConfiguration.Output;
            switch (CommonOptions.ParseFormat(pr.GetValue(showFormat)))
            {
                case OutputFormat.Json:
                    output.WriteLine(JsonSerializer.Serialize(detail, ReportTables.Json));
                    break;
                case OutputFormat.Csv:
                    output.Write(SlotTable(detail).ToCsv());
                    break;
                default:
                    output.Write(Header(detail.Run));
                    output.WriteLine();
                    output.Write(detail.Slots.Count == 0 ? "no results in this run\n" : SlotText(detail, output));
                    break;
            }
            return ExitCodes.Ok;
        });
        runs.Subcommands.Add(show);
        return runs;
    }

    private sealed record Opened(ResultsQueries Queries, string Path);

    private static Opened? Open(FileInfo configFile, FileInfo? storeFile, TextWriter error)
    {
        if (!StoreLocation.TryResolveReader(configFile, storeFile, error, out var path)) return null;
        try
        {
            return new Opened(path.OpenQueries(), path.Description);
        }
        catch (ResultsStoreException e)
        {
            error.WriteLine($"hilrig: {e.Message}");
            return null;
        }
    }

    private static string Render(OutputFormat format, ReportTable table, Func<string> json, string empty, Func<string> text) => format switch
    {
        OutputFormat.Json => json() + "\n",
        OutputFormat.Csv => table.ToCsv(),
        _ => table.Rows.Count == 0 ? empty + "\n" : text(),
    };

    /// <summary>
    /// The runs for a terminal, within 80 columns: the full id (never cut), kind, status, when it started (UTC, to the
    /// minute) and pass/fail/rig-fault (P/F/RF) counts; the rig, the end and the totals are in --format json and csv.
    /// </summary>
    private static string ListText(IReadOnlyList<RunListing> runs, TextWriter output)
    {
        var table = new TextTable().Column("Run", wrap: false).Column("Kind", keepWords: true).Column("Status", keepWords: true)
            .Column("Started (UTC)", wrap: false).Column("P/F/RF", right: true, wrap: false);
        foreach (var r in runs)
            table.Row(r.Id.ToString("D"), r.Kind, r.Status, r.StartedAt.UtcDateTime.ToString("MM-dd HH:mm", CultureInfo.InvariantCulture),
                string.Create(CultureInfo.InvariantCulture, $"{r.Pass}/{r.Fail}/{r.RigFault}"));
        return table.For(output);
    }

    /// <summary>One run's slots for a terminal: devices wrap one per line, counts as pass/fail/rig fault, a long mode cut (whole in json).</summary>
    private static string SlotText(RunDetail detail, TextWriter output)
    {
        var table = new TextTable().Column("Slot", right: true, wrap: false).Column("Device", keepWords: true).Column("P/F/RF", right: true, wrap: false)
            .Column("Last test").Column("Verdict", keepWords: true).Column("Failure mode");
        foreach (var s in detail.Slots)
            table.Row(s.Slot.ToString(CultureInfo.InvariantCulture), string.Join(' ', s.Devices), string.Create(CultureInfo.InvariantCulture, $"{s.Pass}/{s.Fail}/{s.RigFault}"),
                s.LastTest, s.LastVerdict, s.FailureMode ?? "");
        return table.For(output);
    }

    private static Column C(string name, CellKind kind, string header) => new(name, kind, header);

    private static string Time(DateTimeOffset? t) => t is { } v ? v.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "";

    private static ReportTable ListTable(IReadOnlyList<RunListing> runs) => new(
        "Runs",
        [
            C("id", CellKind.Text, "Run"), C("kind", CellKind.Text, "Kind"), C("status", CellKind.Text, "Status"), C("rigId", CellKind.Text, "Rig"),
            C("startedAt", CellKind.Text, "Started"), C("endedAt", CellKind.Text, "Ended"), C("results", CellKind.Count, "Results"),
            C("pass", CellKind.Count, "Pass"), C("fail", CellKind.Count, "Fail"), C("rigFault", CellKind.Count, "Rig fault"),
        ],
        [.. runs.Select(r => new object?[] { r.Id.ToString("D"), r.Kind, r.Status, r.RigId, Time(r.StartedAt), Time(r.EndedAt), r.Results, r.Pass, r.Fail, r.RigFault })]);

    private static ReportTable SlotTable(RunDetail detail) => new(
        $"Run {detail.Run.Id:D}",
        [
            C("slot", CellKind.Count, "Slot"), C("devices", CellKind.Text, "Device"), C("results", CellKind.Count, "Results"),
            C("pass", CellKind.Count, "Pass"), C("fail", CellKind.Count, "Fail"), C("rigFault", CellKind.Count, "Rig fault"),
            C("lastTest", CellKind.Text, "Last test"), C("lastVerdict", CellKind.Text, "Verdict"), C("failureMode", CellKind.Text, "Failure mode"),
        ],
        [.. detail.Slots.Select(s => new object?[] { s.Slot, string.Join(' ', s.Devices), s.Results, s.Pass, s.Fail, s.RigFault, s.LastTest, s.LastVerdict, s.FailureMode })]);

    private static string Header(RunListing r)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"run      {r.Id:D}\n");
        sb.Append(CultureInfo.InvariantCulture, $"kind     {r.Kind}\n");
        sb.Append(CultureInfo.InvariantCulture, $"status   {r.Status}\n");
        sb.Append(CultureInfo.InvariantCulture, $"rig      {r.RigId}\n");
        if (r.Bootloader is not null) sb.Append(CultureInfo.InvariantCulture, $"build    {r.Bootloader}\n");
        if (r.Seed is not null) sb.Append(CultureInfo.InvariantCulture, $"seed     {r.Seed}\n");
        sb.Append(CultureInfo.InvariantCulture, $"started  {Time(r.StartedAt)}\n");
        sb.Append(CultureInfo.InvariantCulture, $"ended    {(r.EndedAt is null ? "-" : Time(r.EndedAt))}\n");
        sb.Append(CultureInfo.InvariantCulture, $"results  {r.Results} ({r.Pass} pass, {r.Fail} fail, {r.RigFault} rig fault)\n");
        return sb.ToString();
    }
}
