using System.CommandLine;
using HilRig.Core.Results;
using HilRig.Dashboard;
using HilRig.Reports.Queries;
using Microsoft.Extensions.Hosting;

namespace HilRig.Cli.Commands;

/// <summary><c>hilrig dashboard</c>: the read-only quality dashboard over the results store, on loopback by default.</summary>
internal static class DashboardCommand
{
    public static Command Create()
    {
        var config = CommonOptions.Config();
        var store = StoreLocation.Option();
        var urls = new Option<string>("--urls") { Description = $"where to listen (default {DashboardApp.DefaultUrls}: this machine only)", DefaultValueFactory = _ => DashboardApp.DefaultUrls };
        var allowRemote = new Option<bool>("--allow-remote") { Description = "serve a non-loopback --urls address (the results store becomes readable from the network)" };
        var command = new Command("dashboard", "Serve the quality dashboard: lots, one lot, failure modes, soak, slots, devices; every page also as ?format=json and ?format=csv");
        command.Options.Add(config);
        command.Options.Add(store);
        command.Options.Add(urls);
        command.Options.Add(allowRemote);
        command.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var error = pr.InvocationConfiguration.Error;
            if (DashboardApp.CheckUrls(pr.GetValue(urls)!, pr.GetValue(allowRemote)) is { } badUrls)
            {
                error.WriteLine($"hilrig: {badUrls}");
                return ExitCodes.BadInput;
            }
            if (!StoreLocation.TryResolveReader(pr.GetValue(config)!, pr.GetValue(store), error, out var path))
                return ExitCodes.BadInput;
            ResultsQueries queries;
            try
            {
                queries = path.OpenQueries();
            }
            catch (ResultsStoreException e)
            {
                error.WriteLine($"hilrig: {e.Message}");
                return ExitCodes.BadInput;
            }
            await using var app = DashboardApp.Build(queries, pr.GetValue(urls)!, pr.GetValue(allowRemote), path.Description);
            try
            {
                await app.StartAsync(ct);
            }
            catch (IOException e)
            {
                error.WriteLine($"hilrig: --urls: {pr.GetValue(urls)}: cannot listen there: {e.Message}");
                return ExitCodes.BadInput;
            }
            pr.InvocationConfiguration.Output.WriteLine($"dashboard over {path} at {string.Join(", ", DashboardApp.Addresses(app))} (read-only; Ctrl+C to stop)");
            await app.WaitForShutdownAsync(ct);
            return ExitCodes.Ok;
        });
        return command;
    }
}
