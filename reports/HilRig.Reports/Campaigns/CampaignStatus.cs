using System.Globalization;
using HilRig.Core.Campaigns;
using HilRig.Reports.Statistics;

namespace HilRig.Reports.Campaigns;

/// <summary>A rate per 1,000 cycles (or a proportion) with its 95 % interval; null parts when nothing was run.</summary>
public sealed record RateFigure(double? Point, double? Lower, double? Upper)
{
    public static RateFigure Of(Interval i) => new(Finite(i.Point), Finite(i.Lower), Finite(i.Upper));

    public override string ToString() => Point is null ? "-"
        : string.Create(CultureInfo.InvariantCulture, $"{Point:0.##} [{Lower:0.##}, {Upper:0.##}]");

    private static double? Finite(double x) => double.IsFinite(x) ? Math.Round(x, 6) : null;
}

/// <summary>The evidence for one lot (or overall): both arms' counts and rates, the exact test, the sequential statistic.</summary>
public sealed record LotEvidence(
    string Lot,
    long CandidateCycles,
    int CandidateFailures,
    RateFigure CandidatePerThousand,
    long BaselineCycles,
    int BaselineFailures,
    RateFigure BaselinePerThousand,
    double ExactP,
    double? LogLikelihoodRatio,
    double AnytimeP,
    bool NoGo,
    IReadOnlyList<ModeCount> Modes);

/// <summary>One rig's share: items planned on it, what it holds or finished, cycles credited to its runs.</summary>
public sealed record RigProgress(
    string Rig,
    int ItemsPlanned,
    int ItemsDone,
    int ItemsLeased,
    long CandidateCycles,
    long BaselineCycles,
    int Failures,
    long Units,
    string? Agent,
    double? HeartbeatAgeSeconds,
    IReadOnlyList<string> Runs);

public sealed record ItemProgress(int Number, int Look, string PlannedRig, string Arm, string State, int CyclesDone, int CyclesPerSlot, int Slots, int Cores,
    string? LeasedBy, double? LeaseSecondsLeft, int Attempts, IReadOnlyList<string> Runs);

public sealed record DecisionFigure(
    string Label,
    string Summary,
    int LooksComplete,
    int LooksPlanned,
    int? DecidedAtLook,
    IReadOnlyList<string> NoGoLots,
    IReadOnlyList<ModeCount> DrivingModes,
    long? CyclesStillNeeded,
    bool CyclesIsLowerBound,
    double? NoGoThreshold,
    double? GoThreshold,
    string Method);

/// <summary>Screened units of one lot: failed share with its Wilson interval, yield, and the screen decision's test.</summary>
public sealed record LotUnits(string Lot, long Units, long Failed, RateFigure FailedShare)
{
    /// <summary>Passed share in per cent, with its 95 % Wilson interval.</summary>
    public RateFigure YieldPercent { get; init; } = new(null, null, null);

    /// <summary>Fisher's exact one-sided p of "this lot fails more often than the campaign's other lots" (null: one lot, or none screened).</summary>
    public double? ExactP { get; init; }

    public bool NoGo { get; init; }
}

/// <summary>What `hilrig campaign status` and the dashboard's campaign page show.</summary>
public sealed record CampaignStatusReport(
    string Name,
    string Kind,
    string State,
    string? Candidate,
    string? Baseline,
    double Margin,
    double Alpha,
    double Power,
    long PlannedCycles,
    int Cores,
    int ItemsDone,
    int ItemsLeased,
    int ItemsQueued,
    int ItemsSkipped,
    long CandidateCycles,
    long BaselineCycles,
    DecisionFigure Decision,
    LotEvidence? Overall,
    IReadOnlyList<LotEvidence> Lots,
    IReadOnlyList<LotUnits> Units,
    IReadOnlyList<RigProgress> Rigs,
    IReadOnlyList<ItemProgress> Items,
    string? RecordedDecision,
    int? RecordedLook,
    string? DecidedBy);

/// <summary>
/// A campaign's status from its snapshot: progress, and the decision of <see cref="SequentialDecision"/> over the
/// complete looks in plan order (a look is complete when all its items are done). Looks are taken in plan order, not in
/// the order rigs happened to finish them, so the decision depends on what was run, never on scheduling: the same
/// seeds give the same decision whichever rig ran which item, or took over an expired lease.
/// </summary>
public static class CampaignStatus
{
    public static CampaignStatusReport Build(CampaignSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var c = snapshot.Campaign;
        var items = snapshot.Items;
        var arms = items.ToDictionary(i => i.Number, i => i.Arm);
        var decision = Decide(snapshot, out var looksComplete);
        var counts = snapshot.Counts;

        long Cycles(string arm, Func<CampaignCount, bool>? where = null) =>
            counts.Where(x => arms.GetValueOrDefault(x.Number) == arm && (where?.Invoke(x) ?? true)).Sum(x => x.Cycles);

        var rigNames = items.Select(i => i.PlannedRig).Concat(counts.Select(x => x.RigId)).Concat(items.Where(i => i.LeasedBy is not null).Select(i => i.LeasedBy!))
            .Distinct(StringComparer.Ordinal).OrderBy(r => r, StringComparer.Ordinal);
        var rigs = rigNames.Select(rig =>
        {
            var agent = snapshot.Agents.FirstOrDefault(a => a.RigId == rig);
            return new RigProgress(rig,
                items.Count(i => i.PlannedRig == rig),
                items.Count(i => i.State == "done" && i.LeasedBy == rig),
                items.Count(i => i.State == "leased" && i.LeasedBy == rig),
                Cycles("candidate", x => x.RigId == rig),
                Cycles("baseline", x => x.RigId == rig),
                (int)counts.Where(x => x.RigId == rig).Sum(x => x.Failures),
                counts.Where(x => x.RigId == rig).Sum(x => x.Units),
                agent is null ? null : agent.Alive ? agent.State : $"{agent.State}, heartbeat stopped",
                agent is null ? null : Math.Round((snapshot.ServerTime - agent.HeartbeatAt).TotalSeconds, 1),
                [.. counts.Where(x => x.RigId == rig).Select(x => x.RunId).Distinct(StringComparer.Ordinal)]);
        }).ToList();

        var itemProgress = items.Select(i => new ItemProgress(i.Number, i.Look, i.PlannedRig, i.Arm, i.State, i.CyclesDone, i.CyclesPerSlot, i.Slots, i.Cores,
            i.LeasedBy, i.State == "leased" && i.LeaseExpires is { } e ? Math.Round((e - snapshot.ServerTime).TotalSeconds, 1) : null, i.Attempts,
            [.. counts.Where(x => x.Number == i.Number).Select(x => x.RunId).Distinct(StringComparer.Ordinal)])).ToList();

        IReadOnlyList<LotUnits> units = counts.Where(x => x.Units > 0).GroupBy(x => x.Lot, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g =>
            {
                var n = g.Sum(x => x.Units);
                var f = g.Sum(x => x.UnitsFailed);
                var yield = Proportion.Wilson((int)(n - f), (int)n);
                return new LotUnits(g.Key, n, f, RateFigure.Of(Proportion.Wilson((int)f, (int)n)))
                {
                    YieldPercent = RateFigure.Of(new Interval(yield.Point * 100, yield.Lower * 100, yield.Upper * 100)),
                };
            }).ToList();
        var figure = Figure(c, decision, looksComplete);
        if (c.Kind == "screen")
            (figure, units) = ScreenDecision(c, items, units);

        return new CampaignStatusReport(c.Name, c.Kind, c.State, c.Bootloader, c.Baseline, c.Margin, c.Alpha, c.Power, c.Cycles, c.Cores,
            items.Count(i => i.State == "done"), items.Count(i => i.State == "leased"), items.Count(i => i.State == "queued"), items.Count(i => i.State == "skipped"),
            Cycles("candidate"), Cycles("baseline"),
            figure,
            decision is null ? null : Evidence(decision.Overall),
            decision is null ? [] : [.. decision.Lots.Select(Evidence)],
            units, rigs, itemProgress, c.Decision, c.DecidedLook, c.DecidedBy);
    }

    /// <summary>
    /// The decision a rig records once it is reached: go or no-go with the last look it rests on, exactly the figure
    /// <c>campaign status</c> shows, for a soak (the sequential rule) and a screen (Fisher per lot) alike; null while undecided.
    /// </summary>
    public static DecisionFigure? Reached(CampaignSnapshot snapshot) =>
        Build(snapshot).Decision is { Label: "go" or "no-go", DecidedAtLook: not null } figure ? figure : null;

    /// <summary>
    /// The rule's decision over the complete looks 1..k in plan order (null for a screen campaign, which judges units, or
    /// a campaign against a stored baseline, which this build does not decide yet).
    /// </summary>
    public static CampaignDecision? Decide(CampaignSnapshot snapshot, out int looksComplete)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var c = snapshot.Campaign;
        looksComplete = 0;
        foreach (var look in snapshot.Items.GroupBy(i => i.Look).OrderBy(g => g.Key))
        {
            if (look.Any(i => i.State != "done")) break;
            looksComplete = look.Key;
        }
        if (c.Kind != "soak") return null;
        if (!snapshot.Items.Any(i => i.Arm == "baseline")) return snapshot.Baseline.Count == 0 ? null : DecideAgainstStored(snapshot, looksComplete);
        var arms = snapshot.Items.ToDictionary(i => i.Number, i => (i.Arm, i.Look));
        var looks = new List<IReadOnlyList<LotCounts>>();
        for (var look = 1; look <= looksComplete; look++)
        {
            var rows = snapshot.Counts.Where(x => arms.TryGetValue(x.Number, out var a) && a.Look == look).ToList();
            looks.Add([.. rows.GroupBy(x => x.Lot, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
            {
                var cand = g.Where(x => arms[x.Number].Arm == "candidate").ToList();
                var base_ = g.Where(x => arms[x.Number].Arm == "baseline").ToList();
                return new LotCounts(g.Key, cand.Sum(x => x.Cycles), (int)cand.Sum(x => x.Failures), base_.Sum(x => x.Cycles), (int)base_.Sum(x => x.Failures))
                {
                    CandidateModes = Modes(cand),
                    BaselineModes = Modes(base_),
                };
            })]);
        }
        var design = new DecisionDesign(c.Alpha, c.Power, c.Margin);
        return SequentialDecision.Decide(design, looks, c.LotList.Count);
    }

    /// <summary>A stored baseline (a soak run, an earlier campaign): its fixed counts against the candidate's complete looks.</summary>
    private static CampaignDecision DecideAgainstStored(CampaignSnapshot snapshot, int looksComplete)
    {
        var c = snapshot.Campaign;
        var looks = snapshot.Items.ToDictionary(i => i.Number, i => i.Look);
        var candidate = new List<IReadOnlyList<LotCounts>>();
        for (var look = 1; look <= looksComplete; look++)
        {
            var rows = snapshot.Counts.Where(x => looks.TryGetValue(x.Number, out var l) && l == look);
            candidate.Add([.. rows.GroupBy(x => x.Lot, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => new LotCounts(g.Key, g.Sum(x => x.Cycles), (int)g.Sum(x => x.Failures), 0, 0) { CandidateModes = Modes(g) })]);
        }
        IReadOnlyList<LotCounts> baseline = [.. snapshot.Baseline.GroupBy(b => b.Lot, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new LotCounts(g.Key, 0, 0, g.Sum(b => b.Cycles), (int)g.Sum(b => b.Failures))
            {
                BaselineModes = g.Where(b => b.Mode is not null && b.Failures > 0).GroupBy(b => b.Mode!, StringComparer.Ordinal)
                    .ToDictionary(m => m.Key, m => (int)m.Sum(b => b.Failures), StringComparer.Ordinal),
            })];
        return SequentialDecision.DecideAgainstStoredBaseline(new DecisionDesign(c.Alpha, c.Power, c.Margin), candidate, baseline, Math.Max(1, c.Looks), c.LotList.Count);
    }

    /// <summary>
    /// A screen campaign's decision, taken once on every planned batch (a single look, so no sequential correction): a lot
    /// is no-go when Fisher's exact one-sided test finds it failing more often than the campaign's other lots pooled, at
    /// alpha shared over the lots (Bonferroni); go when every batch is screened and no lot is; undecided before, or with
    /// one lot only (nothing to compare its yield with).
    /// </summary>
    private static (DecisionFigure Figure, IReadOnlyList<LotUnits> Units) ScreenDecision(CampaignRecord c, IReadOnlyList<CampaignItemRecord> items, IReadOnlyList<LotUnits> units)
    {
        const string method = "Fisher's exact one-sided test of each lot's failed share against the other lots', alpha shared over the lots (Bonferroni), once every batch is screened";
        var done = items.Count(i => i.State == "done");
        var screened = units.Sum(u => u.Units);
        var judged = units.Select(u =>
        {
            var others = units.Where(o => o.Lot != u.Lot).ToList();
            double? p = units.Count > 1 && u.Units > 0 && others.Sum(o => o.Units) > 0
                ? Math.Round(ExactTests.FisherOneSided((int)u.Failed, (int)u.Units, (int)others.Sum(o => o.Failed), (int)others.Sum(o => o.Units)), 8)
                : null;
            return u with { ExactP = p, NoGo = p <= c.Alpha / units.Count };
        }).ToList();
        string label, summary;
        List<string> noGo = [.. judged.Where(u => u.NoGo).Select(u => u.Lot)];
        if (done < items.Count)
        {
            label = "undecided";
            summary = string.Create(CultureInfo.InvariantCulture, $"undecided: {screened} Cores screened, {done} of {items.Count} batches done; decided once every batch is screened");
            noGo = [];
        }
        else if (judged.Count < 2)
        {
            label = "undecided";
            summary = $"undecided: {(judged.Count == 0 ? "no Core judged" : $"one lot ({judged[0].Lot})")}, nothing to compare its yield with; see its failed share and interval";
            noGo = [];
        }
        else if (noGo.Count > 0)
        {
            label = "no-go";
            summary = "no-go: lot " + string.Join(", ", judged.Where(u => u.NoGo).Select(u =>
                string.Create(CultureInfo.InvariantCulture, $"{u.Lot} ({u.Failed} of {u.Units} failed, p {u.ExactP:0.#####} against the other lots)")));
        }
        else
        {
            label = "go";
            summary = string.Create(CultureInfo.InvariantCulture, $"go: no lot fails more often than the others at alpha {c.Alpha} ({screened} Cores screened)");
        }
        // taken on every batch: it rests on the last look
        int? at = label == "undecided" ? null : items.Max(i => i.Look);
        return (new DecisionFigure(label, summary, done, items.Count, at, noGo, [], null, false, null, null, method), judged);
    }

    private static Dictionary<string, int> Modes(IEnumerable<CampaignCount> rows) =>
        rows.Where(x => x.Mode is not null && x.Failures > 0).GroupBy(x => x.Mode!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (int)g.Sum(x => x.Failures), StringComparer.Ordinal);

    private static DecisionFigure Figure(CampaignRecord c, CampaignDecision? d, int looksComplete)
    {
        var method = c.Baseline is { } b && (b.StartsWith("run ", StringComparison.Ordinal) || b.StartsWith("campaign ", StringComparison.Ordinal))
            ? "exact conditional tests on the cumulative counts against the stored baseline's fixed counts, per lot and overall, Bonferroni over the planned looks and the lots"
            : "truncated SPRT on the conditional binomial of two Poisson rates, per lot and overall, Ville thresholds, Bonferroni over lots";
        if (d is null)
            return new DecisionFigure("undecided", $"baseline {c.Baseline}: no counts to compare with", looksComplete, c.Looks, null, [], [], null, false, null, null, method);
        var summary = d.Summary;
        if (d.Kind == DecisionKind.Undecided && looksComplete == c.Looks && c.State != "running")
            summary = $"undecided at the plan's end ({c.Looks} looks): " + summary["undecided: ".Length..];
        return new DecisionFigure(d.Label, summary, looksComplete, c.Looks, d.DecidedAtLook, d.NoGoLots, d.DrivingModes, d.CyclesStillNeeded,
            d.CyclesIsLowerBound, Math.Round(d.NoGoThreshold, 6), Math.Round(d.GoThreshold, 6), method);
    }

    private static LotEvidence Evidence(ArmEvidence e) => new(e.Name, e.CandidateCycles, e.CandidateFailures, RateFigure.Of(e.CandidatePerThousand),
        e.BaselineCycles, e.BaselineFailures, RateFigure.Of(e.BaselinePerThousand), Math.Round(e.ExactP, 8),
        double.IsFinite(e.LogLikelihoodRatio) ? Math.Round(e.LogLikelihoodRatio, 6) : null, Math.Round(e.AnytimeP, 8), e.NoGo, e.Modes);
}
