using System.CommandLine;
using System.Text.Json;
using HilRig.Core.Config;
using HilRig.Core.Results;

namespace HilRig.Cli.Commands;

/// <summary>
/// <c>hilrig sync</c>: forwards this rig's SQLite store to the fleet's PostgreSQL. The rig keeps screening and soaking
/// with the server away; whatever was not sent goes with the next sync.
/// </summary>
internal static class SyncCommand
{
    public static Command Create()
    {
        var config = CommonOptions.Config();
        var to = new Option<string?>("--to") { Description = "the fleet database (default: fleet.connectionString of the config, or HILRIG_FLEET_CONNECTION)" };
        var format = CommonOptions.Format();
        var watch = new Option<bool>("--watch") { Description = "keep syncing while the rig works: every --interval seconds, backing off while the server is away" };
        var interval = new Option<int>("--interval") { Description = "seconds between syncs with --watch (1..3600)", DefaultValueFactory = _ => 30 };
        var status = new Option<bool>("--status") { Description = "how far behind the rig is (from its own store; no server needed)" };
        var batch = new Option<int>("--batch") { Description = "results per batch and transaction (100..200000)", DefaultValueFactory = _ => 50_000 };
        var command = new Command("sync", "Forward this rig's runs, devices, results with evidence, lot inventory and sensor calibrations to the fleet's PostgreSQL (idempotent, resumable)");
        foreach (var option in new Option[] { config, to, format, watch, interval, status, batch })
            command.Options.Add(option);
        command.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var (output, error) = (pr.InvocationConfiguration.Output, pr.InvocationConfiguration.Error);
            var kind = CommonOptions.ParseFormat(pr.GetValue(format));
            var json = kind == OutputFormat.Json;
            if (pr.GetValue(interval) is < 1 or > 3600)
            {
                error.WriteLine($"hilrig: --interval {pr.GetValue(interval)}: valid: 1..3600 seconds");
                return ExitCodes.BadInput;
            }
            if (pr.GetValue(batch) is < 100 or > 200_000)
            {
                error.WriteLine($"hilrig: --batch {pr.GetValue(batch)}: valid: 100..200000");
                return ExitCodes.BadInput;
            }
            if (!ConfigLoading.TryLoad(pr.GetValue(config)!, error, out var rig)) return ExitCodes.BadInput;
            if (rig.Results.Kind != ResultsStoreKind.Sqlite)
            {
                error.WriteLine($"hilrig: {rig.SourcePath}: results.kind: sync forwards a rig's sqlite store; this rig writes to postgres directly");
                return ExitCodes.BadInput;
            }
            var target = pr.GetValue(to) ?? rig.Fleet?.ConnectionString;
            if (string.IsNullOrEmpty(target) && pr.GetValue(status))
            {
                // The backlog is the rig's own business: no server is needed to say it.
                try
                {
                    return PrintStatus(FleetSync.LocalStatus(ResultsStore.Open(rig.ResolveStorePath()), rig.RigId), kind, output);
                }
                catch (ResultsStoreException e)
                {
                    error.WriteLine($"hilrig: {e.Message}");
                    return ExitCodes.BadInput;
                }
            }
            if (string.IsNullOrEmpty(target))
            {
                error.WriteLine($"hilrig: {rig.SourcePath}: fleet.connectionString: no fleet to sync to; set it (hilrig fleet add-rig prints it), or {FleetSettings.ConnectionVariable}, or pass --to");
                return ExitCodes.BadInput;
            }
            FleetSync sync;
            try
            {
                sync = new FleetSync(ResultsStore.Open(rig.ResolveStorePath()), target, rig.RigId, rig.Line) { BatchSize = pr.GetValue(batch) };
            }
            catch (ResultsStoreException e)
            {
                error.WriteLine($"hilrig: {(pr.GetValue(to) is null ? "fleet.connectionString" : "--to")}: {e.Message}");
                return ExitCodes.BadInput;
            }

            if (pr.GetValue(status))
                return PrintStatus(sync.Status(), kind, output);
            if (!pr.GetValue(watch))
                return Once(sync, kind, output, error, ct);
            return await WatchAsync(sync, kind, TimeSpan.FromSeconds(pr.GetValue(interval)), output, error, ct);
        });
        return command;
    }

    private static int PrintStatus(SyncStatus s, OutputFormat format, TextWriter output)
    {
        if (format == OutputFormat.Csv)
        {
            output.Write(Csv.Records([s]));
            return ExitCodes.Ok;
        }
        output.WriteLine(format == OutputFormat.Json
            ? JsonSerializer.Serialize(s, Json.Options)
            : $"rig {s.RigId} -> {s.Target ?? "(no fleet connection)"}: {s.ResultsBehind} results behind"
              + (s.OldestBehind is { } oldest ? $" (oldest started {oldest:yyyy-MM-dd HH:mm:ss}Z)" : "")
              + $", {s.ResultsSynced} synced, last sync " + (s.LastSync is { } last ? $"{last:yyyy-MM-dd HH:mm:ss}Z" : "never")
              + (s.Target is null ? $"; the central side is unknown (no fleet.connectionString, {FleetSettings.ConnectionVariable} or --to)" : ""));
        return ExitCodes.Ok;
    }

    private static int Once(FleetSync sync, OutputFormat format, TextWriter output, TextWriter error, CancellationToken ct)
    {
        try
        {
            var report = sync.Sync(ct);
            output.Write(Text(report, format, header: true));
            return ExitCodes.Ok;
        }
        catch (FleetSyncException e)
        {
            error.WriteLine($"hilrig: {e.Message}");
            return ExitCode(e.Failure);
        }
    }

    private static async Task<int> WatchAsync(FleetSync sync, OutputFormat format, TimeSpan interval, TextWriter output, TextWriter error, CancellationToken ct)
    {
        var backoff = TimeSpan.FromSeconds(1);
        var first = true;
        var cap = TimeSpan.FromSeconds(60);
        while (!ct.IsCancellationRequested)
        {
            TimeSpan wait;
            try
            {
                var report = sync.Sync(ct);
                if (report.ResultsSent > 0 || report.Runs > 0 || report.Devices > 0)
                {
                    output.Write(Text(report, format, header: first));
                    first = false;
                }
                backoff = TimeSpan.FromSeconds(1);
                wait = interval;
            }
            catch (FleetSyncException e) when (e.Failure is SyncFailure.Unreachable or SyncFailure.Lost)
            {
                // The server away is the normal case for a rig on a shop floor: keep the rows, try again later.
                error.WriteLine($"hilrig: {e.Message}; retrying in {backoff.TotalSeconds:0} s");
                wait = backoff;
                backoff = TimeSpan.FromTicks(Math.Min(cap.Ticks, backoff.Ticks * 2));
            }
            catch (FleetSyncException e)
            {
                error.WriteLine($"hilrig: {e.Message}");
                return ExitCode(e.Failure);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            try
            {
                await Task.Delay(wait, ct);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        return ExitCodes.Ok;
    }

    /// <summary>A sync's report: JSON on one line (a stream of them under --watch), CSV (the header once), or words wrapped to the terminal.</summary>
    private static string Text(SyncReport report, OutputFormat format, bool header) => format switch
    {
        OutputFormat.Json => JsonSerializer.Serialize(report, Json.Options).ReplaceLineEndings(" ") + "\n",
        OutputFormat.Csv => header ? Csv.Records([report]) : Csv.Records([report]).Split('\n', 2)[1],
        _ => Line(report) + "\n",
    };

    private static string Line(SyncReport r) =>
        $"rig {r.RigId} -> {r.Target}: {r.ResultsInserted} new results of {r.ResultsSent} sent in {r.Batches} batches, "
        + $"{r.Runs} runs, {r.Devices} devices, {r.Calibrations} calibrations changed; clock offset {r.ClockOffsetMs:0.0} ms; {r.Elapsed.TotalSeconds:0.00} s";

    public static int ExitCode(SyncFailure failure) => failure switch
    {
        SyncFailure.Unreachable or SyncFailure.Lost => ExitCodes.FleetUnreachable,
        SyncFailure.Authentication => ExitCodes.FleetLogin,
        SyncFailure.Permission => ExitCodes.FleetPermission,
        _ => ExitCodes.FleetSchema,
    };
}
