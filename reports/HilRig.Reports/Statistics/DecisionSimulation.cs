using HilRig.Core.Seeded;

namespace HilRig.Reports.Statistics;

/// <summary>What one look of a synthetic campaign runs in one lot: the candidate's and the baseline's cycles.</summary>
public sealed record LookExposure(string Lot, long CandidateCycles, long BaselineCycles);

/// <summary>
/// A synthetic campaign's shape: <paramref name="Rigs"/> rigs of <paramref name="SlotsPerRig"/> slots, Cores of
/// <paramref name="Lots"/> chip lots in blocks of four slots, lot baseline rates spread evenly from half to one and a
/// half times <paramref name="BaselinePerThousand"/> failures per 1,000 cycles, <paramref name="Cycles"/> candidate
/// cycles planned by <see cref="HilRig.Core.Campaigns.CampaignPlanner"/> (the baseline build running as many).
/// </summary>
public sealed record SyntheticCampaign(int Rigs, int SlotsPerRig, int Lots, double BaselinePerThousand, long Cycles)
{
    public string LotName(int index) => $"LOT-{index + 1}";

    /// <summary>Each lot's baseline rate per cycle.</summary>
    public IReadOnlyDictionary<string, double> BaselinePerCycle() =>
        Enumerable.Range(0, Lots).ToDictionary(
            LotName,
            i => BaselinePerThousand / PoissonRate.CyclesPerUnit * (Lots == 1 ? 1 : 0.5 + ((double)i / (Lots - 1))));

    /// <summary>The plan's looks, as <see cref="DecisionSimulation.LooksFromPlan"/> makes them.</summary>
    public HilRig.Core.Campaigns.CampaignPlan Plan(DecisionDesign design)
    {
        ArgumentNullException.ThrowIfNull(design);
        var campaign = new HilRig.Core.Campaigns.Campaign(
            "synthetic", HilRig.Core.Campaigns.CampaignKind.Soak, new HilRig.Core.Campaigns.CampaignBootloader.Build("candidate"),
            new HilRig.Core.Campaigns.CampaignBaseline.Build("BL14"), Cycles, 0, [.. Enumerable.Range(0, Lots).Select(LotName)], [],
            design.Margin, design.Alpha, design.Power);
        var rigs = Enumerable.Range(1, Rigs).Select(r => new HilRig.Core.Campaigns.RigCapacity($"rig-{r:00}", SlotsPerRig)).ToList();
        if (!HilRig.Core.Campaigns.CampaignPlanner.TryPlan(campaign, rigs, out var plan, out var error)) throw new InvalidOperationException(error);
        return plan!;
    }

    public IReadOnlyDictionary<string, IReadOnlyList<string>> SlotLots() =>
        Enumerable.Range(0, Rigs).ToDictionary(
            r => $"rig-{r + 1:00}",
            r => (IReadOnlyList<string>)[.. Enumerable.Range(0, SlotsPerRig).Select(s => LotName((((r * SlotsPerRig) + s) / 4) % Lots))]);

    /// <summary>
    /// Candidate cycles at which to truncate: twice the larger of the rule's expected cycles to a decision under H0 and
    /// under H1 at the base rate (Wald's approximation), so most campaigns decide before the end.
    /// </summary>
    public static long DesignCycles(DecisionDesign design, double baselinePerThousand, int lots)
    {
        var expected = SequentialDecision.ExpectedCyclesToDecide(
            design, baselinePerThousand / PoissonRate.CyclesPerUnit, 0.5, 0, SequentialDecision.NoGoThreshold(design, lots), SequentialDecision.GoThreshold(design));
        return (long)Math.Ceiling(2 * expected);
    }
}

/// <summary>How often the rule ended each way over many synthetic campaigns at one true rate ratio.</summary>
public sealed record DecisionRates(double TrueRatio, int Campaigns, int Go, int NoGo, int Undecided, double MeanLooksToDecision, double MeanCandidateCycles)
{
    public double GoRate => (double)Go / Campaigns;

    public double NoGoRate => (double)NoGo / Campaigns;

    public double UndecidedRate => (double)Undecided / Campaigns;

    /// <summary>The binomial standard error of a rate near <paramref name="p"/> estimated from these campaigns.</summary>
    public double StandardError(double p) => Math.Sqrt(p * (1 - p) / Campaigns);
}

/// <summary>
/// Synthetic campaigns for <see cref="SequentialDecision"/>: per look and lot, failures drawn as Poisson counts of the
/// lot's rate times the cycles run (the candidate's rate is the baseline's times the true ratio), then the rule applied
/// after every look as a campaign would apply it. Seeded (<see cref="SplitMix64"/>), so the same seed gives the same figures on any
/// runtime.
/// </summary>
public static class DecisionSimulation
{
    /// <param name="looks">The campaign's looks in order (from its plan), each the exposure it adds per lot.</param>
    /// <param name="baselinePerCycle">Each lot's baseline failure rate per cycle.</param>
    /// <param name="trueRatio">Candidate rate / baseline rate in every lot (1: H0; 1 + margin: H1).</param>
    public static DecisionRates Run(
        DecisionDesign design,
        IReadOnlyList<IReadOnlyList<LookExposure>> looks,
        IReadOnlyDictionary<string, double> baselinePerCycle,
        double trueRatio,
        int campaigns,
        ulong seed)
    {
        ArgumentNullException.ThrowIfNull(design);
        ArgumentNullException.ThrowIfNull(looks);
        ArgumentNullException.ThrowIfNull(baselinePerCycle);
        ArgumentOutOfRangeException.ThrowIfLessThan(campaigns, 1);
        var random = new SplitMix64(seed);
        var plannedLots = baselinePerCycle.Count;
        int go = 0, noGo = 0, undecided = 0;
        long looksToDecision = 0, decided = 0;
        double candidateCycles = 0;
        for (var c = 0; c < campaigns; c++)
        {
            var drawn = new List<IReadOnlyList<LotCounts>>(looks.Count);
            foreach (var look in looks)
            {
                drawn.Add([.. look.Select(e => new LotCounts(
                    e.Lot,
                    e.CandidateCycles,
                    random.Poisson(baselinePerCycle[e.Lot] * trueRatio * e.CandidateCycles),
                    e.BaselineCycles,
                    random.Poisson(baselinePerCycle[e.Lot] * e.BaselineCycles)))]);
            }
            var decision = SequentialDecision.Decide(design, drawn, plannedLots);
            switch (decision.Kind)
            {
                case DecisionKind.Go: go++; break;
                case DecisionKind.NoGo: noGo++; break;
                default: undecided++; break;
            }
            var used = decision.DecidedAtLook ?? looks.Count;
            if (decision.DecidedAtLook is not null)
            {
                looksToDecision += used;
                decided++;
            }
            candidateCycles += looks.Take(used).Sum(l => l.Sum(e => (double)e.CandidateCycles));
        }
        return new DecisionRates(trueRatio, campaigns, go, noGo, undecided, decided == 0 ? double.NaN : (double)looksToDecision / decided, candidateCycles / campaigns);
    }

    /// <summary>
    /// The looks a campaign plan makes: for each look (a rig's candidate item and its baseline item), per lot, the cycles
    /// each arm adds: cycles per slot times the rig's slots holding a Core of that lot.
    /// </summary>
    /// <param name="slotLots">Per rig, the chip lot of the Core in each slot (slot 1 first).</param>
    public static IReadOnlyList<IReadOnlyList<LookExposure>> LooksFromPlan(HilRig.Core.Campaigns.CampaignPlan plan, IReadOnlyDictionary<string, IReadOnlyList<string>> slotLots)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(slotLots);
        return [.. plan.Items.GroupBy(i => i.Look).OrderBy(g => g.Key).Select(look =>
        {
            IReadOnlyList<LookExposure> exposure = [.. look
                .SelectMany(item => slotLots[item.Rig].Take(item.Slots).Select(lot => (item.Arm, Lot: lot, item.CyclesPerSlot)))
                .GroupBy(x => x.Lot, StringComparer.Ordinal)
                .OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => new LookExposure(
                    g.Key,
                    g.Where(x => x.Arm == HilRig.Core.Campaigns.CampaignArm.Candidate).Sum(x => (long)x.CyclesPerSlot),
                    g.Where(x => x.Arm == HilRig.Core.Campaigns.CampaignArm.Baseline).Sum(x => (long)x.CyclesPerSlot)))];
            return exposure;
        })];
    }
}
