using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using HilRig.Cli.Agent;
using HilRig.Core.Config;
using HilRig.Core.Results;

namespace HilRig.Cli.Commands;

/// <summary><c>hilrig agent</c>: the rig's campaign worker (systemd: scripts/pi/hilrig-agent.service).</summary>
internal static class AgentCommand
{
    public static Command Create()
    {
        var config = CommonOptions.Config();
        var to = new Option<string?>("--to") { Description = $"the fleet database (default: fleet.connectionString of the config, or {FleetSettings.ConnectionVariable})" };
        var lease = new Option<double>("--lease") { Description = "seconds a claimed work item is held without renewal (5..3600); a rig that dies gives its work back after this", DefaultValueFactory = _ => 120 };
        var heartbeat = new Option<double>("--heartbeat") { Description = "seconds between heartbeats (1..600); three missed ones and the rig gets no work, its planned work goes to others", DefaultValueFactory = _ => 10 };
        var poll = new Option<double>("--poll") { Description = "seconds to wait when there is no work (0.2..600)", DefaultValueFactory = _ => 5 };
        var command = new Command("agent", "Run this rig's campaign work: heartbeat, claim work items with a lease, soak them on the rig's slots, sync, renew, release; SIGTERM finishes the current step and exits 0");
        foreach (var o in new Option[] { config, to, lease, heartbeat, poll })
            command.Options.Add(o);
        command.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var error = pr.InvocationConfiguration.Error;
            var c = CultureInfo.InvariantCulture;
            if (pr.GetValue(lease) is < 5 or > 3600 or double.NaN)
            {
                error.WriteLine(string.Create(c, $"hilrig: --lease {pr.GetValue(lease)}: valid: 5..3600 seconds"));
                return ExitCodes.BadInput;
            }
            if (pr.GetValue(heartbeat) is < 1 or > 600 or double.NaN)
            {
                error.WriteLine(string.Create(c, $"hilrig: --heartbeat {pr.GetValue(heartbeat)}: valid: 1..600 seconds"));
                return ExitCodes.BadInput;
            }
            if (pr.GetValue(poll) is < 0.2 or > 600 or double.NaN)
            {
                error.WriteLine(string.Create(c, $"hilrig: --poll {pr.GetValue(poll)}: valid: 0.2..600 seconds"));
                return ExitCodes.BadInput;
            }
            if (!ConfigLoading.TryLoad(pr.GetValue(config)!, error, out var rig)) return ExitCodes.BadInput;
            if (rig.Results.Kind != ResultsStoreKind.Sqlite)
            {
                error.WriteLine($"hilrig: {rig.SourcePath}: results.kind: the agent keeps its rows in the rig's sqlite store and syncs them; this rig writes to postgres directly");
                return ExitCodes.BadInput;
            }
            var target = pr.GetValue(to) ?? rig.Fleet?.ConnectionString;
            if (string.IsNullOrEmpty(target))
            {
                error.WriteLine($"hilrig: {rig.SourcePath}: fleet.connectionString: no fleet to work for; set it (hilrig fleet add-rig prints it), or {FleetSettings.ConnectionVariable}, or pass --to");
                return ExitCodes.BadInput;
            }
            CampaignAgent agent;
            try
            {
                agent = new CampaignAgent(rig, target, new AgentOptions(TimeSpan.FromSeconds(pr.GetValue(lease)), TimeSpan.FromSeconds(pr.GetValue(heartbeat)),
                    TimeSpan.FromSeconds(pr.GetValue(poll))), error, TimeProvider.System);
            }
            catch (ResultsStoreException e)
            {
                error.WriteLine($"hilrig: {(pr.GetValue(to) is null ? "fleet.connectionString" : "--to")}: {e.Message}");
                return ExitCodes.BadInput;
            }
            // systemd stops the service with SIGTERM: the step in progress finishes, its item is released, exit 0
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, s => { s.Cancel = true; stop.Cancel(); });
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, s => { s.Cancel = true; stop.Cancel(); });
            return await agent.RunAsync(stop.Token);
        });
        return command;
    }
}
