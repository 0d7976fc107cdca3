using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using HilRig.Core.Campaigns;
using HilRig.Reports.Statistics;

namespace HilRig.Cli.Bench;

/// <summary>
/// `hilrig bench campaign-decision`: the campaign decision rule (<see cref="SequentialDecision"/>) over many synthetic
/// campaigns, under H0 (candidate as good as the baseline) and H1 (worse by the margin), looking after every pair of
/// work items as a campaign does: false no-go against alpha, false go against 1 − power.
/// </summary>
internal static class CampaignDecisionBench
{
    public static Command Command()
    {
        var campaigns = new Option<int>("--campaigns") { Description = "synthetic campaigns per hypothesis (1..1000000)", DefaultValueFactory = _ => 1000 };
        var seed = new Option<ulong>("--seed") { Description = "seed of the failure draws", DefaultValueFactory = _ => 1 };
        var alpha = new Option<string?>("--alpha") { Description = "false no-go rate allowed (default 0.05)" };
        var power = new Option<string?>("--power") { Description = "1 - false go rate allowed (default 0.8)" };
        var margin = new Option<string?>("--margin") { Description = "relative excess the candidate may have, e.g. 0.5: at most 1.5x the baseline's rate (default 1)" };
        var rate = new Option<double>("--rate") { Description = "baseline failures per 1,000 cycles (lots spread 0.5x..1.5x)", DefaultValueFactory = _ => 2.0 };
        var cycles = new Option<string?>("--cycles") { Description = "candidate cycles per campaign (default: twice the rule's expected cycles to a decision)" };
        var command = new Command("campaign-decision", "The campaign go/no-go rule over synthetic campaigns (4 rigs x 8 slots, 4 lots), looking after every pair of work items: false no-go and false go rates against alpha and power");
        foreach (var o in new Option[] { campaigns, seed, alpha, power, margin, rate, cycles }) command.Options.Add(o);
        command.SetAction((ParseResult pr, CancellationToken ct) =>
        {
            var error = pr.InvocationConfiguration.Error;
            var n = pr.GetValue(campaigns);
            if (n is < 1 or > 1_000_000)
            {
                error.WriteLine($"hilrig: --campaigns {n}: valid: 1..1000000");
                return Task.FromResult(ExitCodes.BadInput);
            }
            var r = pr.GetValue(rate);
            if (!(r > 0 && r <= 1000))
            {
                error.WriteLine($"hilrig: --rate {r.ToString(CultureInfo.InvariantCulture)}: valid: failures per 1,000 cycles above 0 and at most 1000");
                return Task.FromResult(ExitCodes.BadInput);
            }
            // the same validation as `campaign create`, so the bench accepts exactly what a campaign does
            var request = new CampaignRequest("bench") { Alpha = pr.GetValue(alpha), Power = pr.GetValue(power), Margin = pr.GetValue(margin), Cycles = pr.GetValue(cycles) };
            if (!CampaignValidation.TryParse(request, out var campaign, out var errors))
            {
                foreach (var e in errors) error.WriteLine($"hilrig: {e}");
                return Task.FromResult(ExitCodes.BadInput);
            }
            var figures = Run(campaign!, pr.GetValue(cycles) is not null, r, n, pr.GetValue(seed), pr.InvocationConfiguration.Output);
            return Task.FromResult(figures.WithinBounds ? ExitCodes.Ok : ExitCodes.DutFailed);
        });
        return command;
    }

    public sealed record Figures(DecisionRates H0, DecisionRates H1, double Alpha, double Beta)
    {
        /// <summary>Three binomial standard errors of the simulation above the configured rate.</summary>
        public bool WithinBounds => H0.NoGoRate <= Alpha + (3 * H0.StandardError(Alpha)) && H1.GoRate <= Beta + (3 * H1.StandardError(Beta));
    }

    public static Figures Run(Campaign campaign, bool cyclesGiven, double ratePerThousand, int campaigns, ulong seed, TextWriter output)
    {
        var c = CultureInfo.InvariantCulture;
        var design = new DecisionDesign(campaign.Alpha, campaign.Power, campaign.Margin);
        const int lots = 4;
        var cycles = cyclesGiven ? campaign.Cycles : SyntheticCampaign.DesignCycles(design, ratePerThousand, lots);
        var scenario = new SyntheticCampaign(4, 8, lots, ratePerThousand, cycles);
        var plan = scenario.Plan(design);
        var looks = DecisionSimulation.LooksFromPlan(plan, scenario.SlotLots());
        var rates = scenario.BaselinePerCycle();
        var wall = Stopwatch.StartNew();
        var h0 = DecisionSimulation.Run(design, looks, rates, 1, campaigns, seed);
        var h1 = DecisionSimulation.Run(design, looks, rates, design.WorseRatio, campaigns, seed + 1);
        wall.Stop();
        var f = new Figures(h0, h1, design.Alpha, design.Beta);

        output.WriteLine(string.Create(c, $"campaign decision bench: {campaigns} synthetic campaigns per hypothesis, seed {seed}"));
        output.WriteLine(string.Create(c, $"  design: alpha {design.Alpha:0.###} (false no-go), power {design.Power:0.###} (false go <= {design.Beta:0.###}), margin {design.Margin:0.###} (H1: candidate rate {design.WorseRatio:0.###}x the baseline's)"));
        output.WriteLine(string.Create(c, $"  rule: truncated SPRT on the conditional binomial, {lots} lots + overall ({SequentialDecision.Tests(lots)} tests, alpha/{SequentialDecision.Tests(lots)} each): no-go at log LR >= {SequentialDecision.NoGoThreshold(design, lots):0.00}, go at <= {SequentialDecision.GoThreshold(design):0.00}"));
        output.WriteLine(string.Create(c, $"  campaign: 4 rigs x 8 slots, {lots} lots, baseline {ratePerThousand:0.###} per 1,000 cycles (lots {ratePerThousand * 0.5:0.###}..{ratePerThousand * 1.5:0.###}); {plan.CandidateCycles:N0} candidate + {plan.BaselineCycles:N0} baseline cycles at most, {plan.Looks} looks ({plan.CyclesPerSlot} cycles per slot per item)"));
        Line(output, "H0 (ratio 1)", h0, "false no-go", h0.NoGoRate, design.Alpha, "alpha");
        Line(output, string.Create(c, $"H1 (ratio {design.WorseRatio:0.##})"), h1, "false go", h1.GoRate, design.Beta, "1 - power");
        output.WriteLine(string.Create(c, $"  power reached under H1 (no-go): {h1.NoGoRate:0.000} against {design.Power:0.###} configured; undecided at the planned end {h1.UndecidedRate:0.000}"));
        output.WriteLine(string.Create(c, $"  within bounds (rate <= configured + 3 simulation SE): {(f.WithinBounds ? "yes" : "NO")}; wall {wall.Elapsed.TotalSeconds:0.0} s"));
        return f;
    }

    private static void Line(TextWriter output, string label, DecisionRates r, string errorName, double errorRate, double limit, string limitName) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {label,-14} go {r.GoRate:0.000}  no-go {r.NoGoRate:0.000}  undecided {r.UndecidedRate:0.000} | {errorName} {errorRate:0.000} (SE {r.StandardError(limit):0.000}) against {limitName} {limit:0.###} | mean looks to a decision {r.MeanLooksToDecision:0.0}, mean candidate cycles {r.MeanCandidateCycles:N0}"));
}
