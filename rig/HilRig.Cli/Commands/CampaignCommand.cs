using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using HilRig.Core.Campaigns;
using HilRig.Core.Config;
using HilRig.Core.Results;
using HilRig.Core.Spark;
using HilRig.Reports.Campaigns;

namespace HilRig.Cli.Commands;

/// <summary>
/// <c>hilrig campaign create|status|list|cancel</c>: qualification campaigns in the fleet's PostgreSQL (fleet step 3),
/// split into work items that the rigs' agents (<c>hilrig agent</c>) claim. Create and cancel need the fleet owner's
/// connection; status and list work from a rig's too.
/// </summary>
internal static class CampaignCommand
{
    public static Command Create()
    {
        var campaign = new Command("campaign", "Qualification campaigns over the fleet: create, status (go / no-go with its evidence), list, cancel");
        campaign.Subcommands.Add(CreateCommand());
        campaign.Subcommands.Add(Status());
        campaign.Subcommands.Add(ListCommand());
        campaign.Subcommands.Add(Cancel());
        return campaign;
    }

    private static Option<string?> To() => new("--to")
    {
        Description = $"the fleet database (default: {FleetSettings.ConnectionVariable}, or fleet.connectionString of --config); create and cancel need its owner",
    };

    /// <summary>--to and --config, the fleet database every subcommand works on.</summary>
    private sealed record FleetArgs(Option<string?> To, Option<FileInfo> Config);

    private static FleetArgs FleetOptions(Command command)
    {
        var fleet = new FleetArgs(To(), CommonOptions.Config());
        command.Options.Add(fleet.To);
        command.Options.Add(fleet.Config);
        return fleet;
    }

    /// <summary>The fleet's connection string from the options, then <paramref name="action"/> on it with the fleet's refusals turned into one line and their exit code.</summary>
    private static int OnFleet(ParseResult pr, FleetArgs fleet, Func<string, int> action)
    {
        var error = pr.InvocationConfiguration.Error;
        return TryConnection(pr, fleet.To, fleet.Config, error, out var cs) ? Guard(error, () => action(cs)) : ExitCodes.BadInput;
    }

    private static Command CreateCommand()
    {
        var name = new Argument<string>("NAME") { Description = "the campaign's name (letters, digits, '.', '_', '-')" };
        var kind = new Option<string?>("--kind") { Description = "soak (a bootloader against a baseline) or screen (Cores of chip lots through screening); default soak" };
        var bootloader = new Option<string?>("--bootloader") { Description = "soak: BL13, BL14, candidate (default) or a bootloader image FILE (stored centrally by content hash)" };
        var baseline = new Option<string?>("--baseline") { Description = "soak: what the candidate is compared with: BL14 (default) or BL13 run alongside on the same Cores, or a stored soak RUN id (or unique prefix) or an earlier CAMPAIGN, whose counts are taken from the fleet store" };
        var cycles = new Option<string?>("--cycles") { Description = $"soak: candidate cycles in all (default {Campaign.DefaultCycles}); the campaign may decide earlier" };
        var cores = new Option<string?>("--cores") { Description = "screen: how many Cores to screen" };
        var lots = new Option<string?>("--lots") { Description = "chip lots it is about, e.g. L1,L2 (fixes the decision's share of alpha per lot)" };
        var rigs = new Option<string?>("--rigs") { Description = "rigs that may run it, e.g. R1,R2 (default: every rig with a live agent)" };
        var margin = new Option<string?>("--margin") { Description = $"the candidate may fail at most (1 + X) times as often as the baseline (default {Campaign.DefaultMargin})" };
        var alpha = new Option<string?>("--alpha") { Description = $"false no-go rate (default {Campaign.DefaultAlpha})" };
        var power = new Option<string?>("--power") { Description = $"1 - false go rate against a candidate worse by the margin (default {Campaign.DefaultPower})" };
        var command = new Command("create", "Create a campaign and split it into work items that the rigs' agents claim");
        command.Arguments.Add(name);
        foreach (var o in new Option[] { kind, bootloader, baseline, cycles, cores, lots, rigs, margin, alpha, power })
            command.Options.Add(o);
        var fleet = FleetOptions(command);
        command.SetAction((ParseResult pr) =>
        {
            var (output, error) = (pr.InvocationConfiguration.Output, pr.InvocationConfiguration.Error);
            var request = new CampaignRequest(pr.GetValue(name)!)
            {
                Kind = pr.GetValue(kind), Bootloader = pr.GetValue(bootloader), Baseline = pr.GetValue(baseline), Cycles = pr.GetValue(cycles),
                Cores = pr.GetValue(cores), Lots = pr.GetValue(lots), Rigs = pr.GetValue(rigs), Margin = pr.GetValue(margin), Alpha = pr.GetValue(alpha),
                Power = pr.GetValue(power),
            };
            byte[]? image = null;
            if (!CampaignValidation.TryParse(request, out var c, out var errors, path =>
                {
                    if (!File.Exists(path)) return null;
                    image = File.ReadAllBytes(path);
                    return image;
                }))
            {
                foreach (var e in errors) error.WriteLine($"hilrig: {e}");
                return ExitCodes.BadInput;
            }
            if (c!.Bootloader is CampaignBootloader.Image && BootloaderImage.Validate(image, $"--bootloader {pr.GetValue(bootloader)}") is { } bad)
            {
                error.WriteLine($"hilrig: {bad}; nothing was created");
                return ExitCodes.BadInput;
            }
            return OnFleet(pr, fleet, cs =>
            {
                IReadOnlyList<BaselineCount>? baselineCounts = null;
                if (c.Baseline is CampaignBaseline.Stored stored)
                {
                    // a run or a campaign, resolved in the fleet store; its counts are kept with the campaign
                    (var resolved, baselineCounts) = CampaignStore.ResolveBaseline(cs, stored);
                    c = c with { Baseline = resolved };
                }
                var capacities = c.Rigs.Count == 0 ? CampaignStore.LiveRigs(cs) : CampaignStore.KnownRigs(cs);
                if (!CampaignPlanner.TryPlan(c, capacities, out var plan, out var why))
                {
                    error.WriteLine($"hilrig: {why}{(capacities.Count == 0 ? " (rigs are known once their `hilrig agent` has run)" : "")}");
                    return ExitCodes.BadInput;
                }
                CampaignStore.Create(cs, plan!, image, baselineCounts);
                var rigList = string.Join(", ", plan!.Items.Select(i => i.Rig).Distinct());
                output.WriteLine(c.Kind == CampaignKind.Soak
                    ? string.Create(CultureInfo.InvariantCulture,
                        $"campaign {c.Name}: {c.Bootloader} against {c.Baseline}, {plan.Items.Count} work items in {plan.Looks} looks of {plan.CyclesPerSlot} cycle(s) per slot on {rigList}; {plan.CandidateCycles} candidate cycles at most; margin {c.Margin}, alpha {c.Alpha}, power {c.Power}")
                    : string.Create(CultureInfo.InvariantCulture, $"campaign {c.Name}: screen {c.Cores} Cores in {plan.Items.Count} work items on {rigList}"));
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    private static Command Status()
    {
        var name = new Argument<string>("NAME") { Description = "the campaign" };
        var format = CommonOptions.Format();
        var command = new Command("status", "A campaign's progress per rig and per lot, failures per 1,000 cycles with 95 % intervals, and its decision: go, no-go or undecided");
        command.Arguments.Add(name);
        command.Options.Add(format);
        var fleet = FleetOptions(command);
        command.SetAction((ParseResult pr) =>
        {
            var (output, error) = (pr.InvocationConfiguration.Output, pr.InvocationConfiguration.Error);
            return OnFleet(pr, fleet, cs =>
            {
                var snapshot = CampaignStore.Snapshot(cs, pr.GetValue(name)!);
                if (snapshot is null)
                {
                    error.WriteLine($"hilrig: campaign {pr.GetValue(name)}: no such campaign (hilrig campaign list)");
                    return ExitCodes.BadInput;
                }
                var report = CampaignStatus.Build(snapshot);
                if (pr.GetValue(format) == "json")
                    output.WriteLine(JsonSerializer.Serialize(report, Json.Options));
                else if (pr.GetValue(format) == "csv")
                    // one row per lot and one "overall": the evidence the decision is taken on
                    output.Write(Csv.Records(report.Lots.Concat(report.Overall is { } all ? [all] : []).Select(l => new
                    {
                        Campaign = report.Name, l.Lot, l.CandidateCycles, l.CandidateFailures, CandidatePerThousand = l.CandidatePerThousand.Point,
                        l.BaselineCycles, l.BaselineFailures, BaselinePerThousand = l.BaselinePerThousand.Point, l.ExactP, l.AnytimeP, l.NoGo,
                        Decision = report.Decision.Label,
                    })));
                else
                    PrintTable(report, output);
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    private static Command ListCommand()
    {
        var format = CommonOptions.Format();
        var command = new Command("list", "The fleet's campaigns, newest first");
        command.Options.Add(format);
        var fleet = FleetOptions(command);
        command.SetAction((ParseResult pr) =>
        {
            var output = pr.InvocationConfiguration.Output;
            return OnFleet(pr, fleet, cs =>
            {
                var campaigns = CampaignStore.List(cs);
                var progress = CampaignStore.Progress(cs);
                var rows = campaigns.Select(c => new
                {
                    c.Name, c.Kind, c.State, c.Bootloader, c.Baseline,
                    ItemsDone = progress.GetValueOrDefault(c.Name).Done, Items = progress.GetValueOrDefault(c.Name).Items,
                    Decision = c.Decision ?? (c.State == "running" ? "undecided" : c.State == "cancelled" ? "cancelled" : "undecided"),
                    CreatedAt = DateTime.SpecifyKind(c.CreatedAt, DateTimeKind.Utc), c.CreatedBy,
                }).ToList();
                if (pr.GetValue(format) == "json")
                {
                    // an object like every export, the rows under a name
                    output.WriteLine(JsonSerializer.Serialize(new { campaigns = rows }, Json.Options));
                    return ExitCodes.Ok;
                }
                if (pr.GetValue(format) == "csv")
                {
                    output.Write(Csv.Records(rows));
                    return ExitCodes.Ok;
                }
                if (rows.Count == 0)
                {
                    output.WriteLine("no campaigns yet (hilrig campaign create NAME ...)");
                    return ExitCodes.Ok;
                }
                output.WriteLine($"{"campaign",-24} {"kind",-6} {"state",-10} {"items",-9} {"decision",-10} {"candidate vs baseline",-28} created");
                foreach (var r in rows)
                    output.WriteLine($"{r.Name,-24} {r.Kind,-6} {r.State,-10} {$"{r.ItemsDone}/{r.Items}",-9} {r.Decision,-10} {(r.Kind == "soak" ? $"{r.Bootloader} vs {r.Baseline}" : "-"),-28} {r.CreatedAt:yyyy-MM-dd HH:mm}Z");
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    private static Command Cancel()
    {
        var name = new Argument<string>("NAME") { Description = "the campaign" };
        var command = new Command("cancel", "Cancel a running campaign: queued work is dropped, agents stop theirs after the current step");
        command.Arguments.Add(name);
        var fleet = FleetOptions(command);
        command.SetAction((ParseResult pr) =>
        {
            var (output, error) = (pr.InvocationConfiguration.Output, pr.InvocationConfiguration.Error);
            return OnFleet(pr, fleet, cs =>
            {
                var n = pr.GetValue(name)!;
                switch (CampaignStore.Cancel(cs, n))
                {
                    case null:
                        error.WriteLine($"hilrig: campaign {n}: no such campaign (hilrig campaign list)");
                        return ExitCodes.BadInput;
                    case "running":
                        output.WriteLine($"campaign {n} cancelled: queued work dropped; agents stop theirs after the current step");
                        return ExitCodes.Ok;
                    case var state:
                        output.WriteLine($"campaign {n} is {state} already; nothing changed");
                        return ExitCodes.Ok;
                }
            });
        });
        return command;
    }

    /// <summary>--to, else HILRIG_FLEET_CONNECTION, else fleet.connectionString of the rig config (which the loader also takes from the variable).</summary>
    internal static bool TryConnection(ParseResult pr, Option<string?> to, Option<FileInfo> config, TextWriter error, out string connectionString)
    {
        connectionString = pr.GetValue(to) ?? Environment.GetEnvironmentVariable(FleetSettings.ConnectionVariable) ?? "";
        var from = pr.GetValue(to) is not null ? "--to" : FleetSettings.ConnectionVariable;
        if (connectionString.Length == 0)
        {
            var file = pr.GetValue(config)!;
            if (!file.Exists)
            {
                error.WriteLine($"hilrig: --to: no fleet database given; pass --to, set {FleetSettings.ConnectionVariable}, or give a rig config with fleet.connectionString (--config {file}: no such file)");
                return false;
            }
            if (!ConfigLoading.TryLoad(file, error, out var rig)) return false;
            if (rig.Fleet?.ConnectionString is not { Length: > 0 } fromConfig)
            {
                error.WriteLine($"hilrig: {rig.SourcePath}: fleet.connectionString: no fleet database; set it, or {FleetSettings.ConnectionVariable}, or pass --to");
                return false;
            }
            connectionString = fromConfig;
            from = $"{rig.SourcePath}: fleet.connectionString";
        }
        try
        {
            connectionString = new Npgsql.NpgsqlConnectionStringBuilder(connectionString).ConnectionString;
            return true;
        }
        catch (ArgumentException e)
        {
            error.WriteLine($"hilrig: {from}: not a PostgreSQL connection string ({e.Message}); e.g. Host=127.0.0.1;Database=fleet;Username=postgres;Password=...");
            return false;
        }
    }

    private static int Guard(TextWriter error, Func<int> action)
    {
        try
        {
            return action();
        }
        catch (FleetSyncException e)
        {
            var hint = e.Failure == SyncFailure.Permission && e.Message.Contains("campaign", StringComparison.Ordinal)
                ? "; creating and cancelling campaigns needs the fleet owner's connection (--to)"
                : "";
            error.WriteLine($"hilrig: {e.Message}{hint}");
            return SyncCommand.ExitCode(e.Failure);
        }
        catch (ResultsStoreException e)
        {
            error.WriteLine($"hilrig: {e.Message}");
            return ExitCodes.BadInput;
        }
    }

    private static void PrintTable(CampaignStatusReport r, TextWriter o)
    {
        var c = CultureInfo.InvariantCulture;
        o.WriteLine(r.Kind == "soak"
            ? string.Create(c, $"campaign {r.Name} ({r.State}): {r.Candidate} against {r.Baseline}; margin {r.Margin} (ratio at most {1 + r.Margin:0.##}), alpha {r.Alpha}, power {r.Power}")
            : $"campaign {r.Name} ({r.State}): screen {r.Cores} Cores");
        o.WriteLine(string.Create(c,
            $"work items: {r.ItemsDone} done, {r.ItemsLeased} leased, {r.ItemsQueued} queued, {r.ItemsSkipped} skipped; cycles credited: {r.CandidateCycles} candidate, {r.BaselineCycles} baseline of {r.PlannedCycles} planned"));
        o.WriteLine($"decision: {r.Decision.Label.ToUpperInvariant()}: {r.Decision.Summary}");
        o.WriteLine(r.Kind == "screen"
            ? $"  on {r.Decision.LooksComplete} of {r.Decision.LooksPlanned} batches screened ({r.Decision.Method})"
            : $"  on looks 1..{r.Decision.LooksComplete} complete of {r.Decision.LooksPlanned} ({r.Decision.Method})");
        if (r.Decision.DrivingModes.Count > 0)
            o.WriteLine("  failure modes driving it: " + string.Join(", ", r.Decision.DrivingModes.Select(m => $"{m.Mode} {m.Candidate} candidate vs {m.Baseline} baseline")));
        if (r.Lots.Count > 0)
        {
            o.WriteLine();
            o.WriteLine($"{"lot",-16} {"cand cycles",11} {"fail",5} {"per 1,000 [95 %]",-22} {"base cycles",11} {"fail",5} {"per 1,000 [95 %]",-22} {"exact p",9} {"log LR",8}  verdict");
            foreach (var l in r.Lots.Append(r.Overall!))
                o.WriteLine(string.Create(c,
                    $"{l.Lot,-16} {l.CandidateCycles,11} {l.CandidateFailures,5} {l.CandidatePerThousand,-22} {l.BaselineCycles,11} {l.BaselineFailures,5} {l.BaselinePerThousand,-22} {l.ExactP,9:0.#####} {l.LogLikelihoodRatio,8:0.###}  {(l.NoGo ? "NO-GO" : "")}")
                    + (l.Modes.Count > 0 ? "  " + string.Join(", ", l.Modes.Select(m => $"{m.Mode} {m.Candidate}/{m.Baseline}")) : ""));
        }
        if (r.Units.Count > 0)
        {
            o.WriteLine();
            o.WriteLine($"{"lot",-16} {"units",7} {"failed",7}  {"failed share [95 %]",-24} {"yield % [95 %]",-24} {"p vs others",11}  verdict");
            foreach (var u in r.Units)
                o.WriteLine(string.Create(c, $"{u.Lot,-16} {u.Units,7} {u.Failed,7}  {u.FailedShare,-24} {u.YieldPercent,-24} {(u.ExactP is { } p ? p.ToString("0.#####", c) : "-"),11}  {(u.NoGo ? "NO-GO" : "")}"));
        }
        o.WriteLine();
        o.WriteLine($"{"rig",-24} {"planned",7} {"done",5} {"leased",6} {"cand cycles",11} {"base cycles",11} {"fail",5}  agent");
        foreach (var g in r.Rigs)
            o.WriteLine(string.Create(c,
                $"{g.Rig,-24} {g.ItemsPlanned,7} {g.ItemsDone,5} {g.ItemsLeased,6} {g.CandidateCycles,11} {g.BaselineCycles,11} {g.Failures,5}  {(g.Agent is null ? "no agent" : $"{g.Agent}, heartbeat {g.HeartbeatAgeSeconds:0.#} s ago")}"));
        foreach (var i in r.Items.Where(i => i.State == "leased"))
            o.WriteLine(string.Create(c, $"  item {i.Number} (look {i.Look}, {i.Arm}) leased by {i.LeasedBy}: {i.CyclesDone}/{i.CyclesPerSlot} cycles per slot, lease {(i.LeaseSecondsLeft is >= 0 ? $"expires in {i.LeaseSecondsLeft:0.#} s" : "expired")}"));
    }
}
