using System.Globalization;

namespace HilRig.Reports.Statistics;

/// <summary>A campaign's error rates and the effect it must detect.</summary>
/// <param name="Alpha">False no-go: the chance of calling a candidate as good as the baseline worse (all lots and the overall test together).</param>
/// <param name="Power">1 − false go: the chance of not calling a candidate worse by <paramref name="Margin"/> a go.</param>
/// <param name="Margin">Relative excess: the candidate's rate may be at most (1 + Margin) × the baseline's.</param>
public sealed record DecisionDesign(double Alpha, double Power, double Margin)
{
    /// <summary>The rate ratio the design must not let through (H1).</summary>
    public double WorseRatio => 1 + Margin;

    public double Beta => 1 - Power;

    public void Validate()
    {
        if (!(Alpha > 0 && Alpha < 1)) throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, "alpha must be between 0 and 1 (exclusive)");
        if (!(Power > 0 && Power < 1)) throw new ArgumentOutOfRangeException(nameof(Power), Power, "power must be between 0 and 1 (exclusive)");
        if (!(Margin > 0) || !double.IsFinite(Margin)) throw new ArgumentOutOfRangeException(nameof(Margin), Margin, "margin must be a relative excess above 0");
    }
}

/// <summary>
/// What one look adds for one chip lot: the candidate's and the baseline's cycles and failures since the previous look
/// (on the same rig's Cores). <paramref name="CandidateModes"/>/<paramref name="BaselineModes"/>: failures by failure mode.
/// </summary>
public sealed record LotCounts(string Lot, long CandidateCycles, int CandidateFailures, long BaselineCycles, int BaselineFailures)
{
    public IReadOnlyDictionary<string, int>? CandidateModes { get; init; }

    public IReadOnlyDictionary<string, int>? BaselineModes { get; init; }
}

public enum DecisionKind
{
    Undecided,
    Go,
    NoGo,
}

/// <summary>A failure mode with its counts in both arms (the lots that drive a no-go).</summary>
public sealed record ModeCount(string Mode, int Candidate, int Baseline);

/// <summary>
/// The evidence for one lot or for the whole campaign: cumulative counts, failures per 1,000 cycles with their exact
/// 95 % intervals, the exact conditional test's one-sided p-value on the cumulative counts (as `hilrig soak` reports it;
/// a single look, not adjusted for repeated looks), and the sequential statistic the decision uses.
/// </summary>
/// <param name="LogLikelihoodRatio">Σ over looks of the log conditional likelihood ratio, rate ratio 1 + margin against 1.</param>
/// <param name="AnytimeP">1 / the largest likelihood ratio seen (capped at 1): a p-value valid however often one looks (Ville's inequality).</param>
public sealed record ArmEvidence(
    string Name,
    long CandidateCycles,
    int CandidateFailures,
    Interval CandidatePerThousand,
    long BaselineCycles,
    int BaselineFailures,
    Interval BaselinePerThousand,
    double ExactP,
    double LogLikelihoodRatio,
    double AnytimeP,
    bool NoGo,
    IReadOnlyList<ModeCount> Modes);

/// <param name="DecidedAtLook">1-based look at which the decision was reached (null: undecided).</param>
/// <param name="NoGoLots">The lots whose own test crossed the no-go boundary, or, for an overall no-go, the lots whose evidence points that way.</param>
/// <param name="CyclesStillNeeded">
/// Undecided: expected further candidate cycles (with as many baseline cycles) until the rule decides, whichever way the
/// truth lies (as good as the baseline, or worse by the margin); a lower bound (<see cref="CyclesIsLowerBound"/>) while
/// no failure has been seen, computed at the upper 95 % bound of the pooled rate.
/// </param>
public sealed record CampaignDecision(
    DecisionKind Kind,
    int Looks,
    int? DecidedAtLook,
    ArmEvidence Overall,
    IReadOnlyList<ArmEvidence> Lots,
    IReadOnlyList<string> NoGoLots,
    IReadOnlyList<ModeCount> DrivingModes,
    double NoGoThreshold,
    double GoThreshold,
    int Tests,
    long? CyclesStillNeeded,
    bool CyclesIsLowerBound,
    double WorseRatio)
{
    /// <summary>go, no-go or undecided, as the status shows it.</summary>
    public string Label => Kind switch { DecisionKind.Go => "go", DecisionKind.NoGo => "no-go", _ => "undecided" };

    /// <summary>One line for the status: "no-go at look 3: lot SST25-1402B (factory-reset-failed 12 vs 0)".</summary>
    public string Summary
    {
        get
        {
            var c = CultureInfo.InvariantCulture;
            return Kind switch
            {
                DecisionKind.NoGo => $"no-go at look {DecidedAtLook}: {(NoGoLots.Count == 0 ? "overall" : "lot " + string.Join(", ", NoGoLots))}"
                    + (DrivingModes.Count == 0 ? "" : " (" + string.Join(", ", DrivingModes.Select(m => $"{m.Mode} {m.Candidate} vs {m.Baseline}")) + ")"),
                DecisionKind.Go => string.Create(c, $"go at look {DecidedAtLook}: the candidate's rate is shown below {WorseRatio:0.##} x the baseline's"),
                _ => CyclesStillNeeded is null
                    ? "undecided: no cycles in both arms yet"
                    : string.Create(c, $"undecided: {(CyclesIsLowerBound ? "at least " : "about ")}{CyclesStillNeeded:N0} more candidate cycles (and as many baseline) to decide"),
            };
        }
    }
}

/// <summary>
/// The campaign's go / no-go rule: a truncated sequential probability ratio test (SPRT) on the conditional binomial of
/// two Poisson rates, stratified by chip lot, with thresholds from Ville's inequality so its error rates hold however
/// many looks a campaign makes and whenever it makes them.
/// <para>
/// Each look adds, per lot, the candidate's failures x_c over n_c cycles and the baseline's x_b over n_b on the same
/// Cores. Given the look's k = x_c + x_b failures in that lot, x_c ~ Binomial(k, π(θ)) with
/// π(θ) = θ·n_c / (θ·n_c + n_b), θ the rate ratio (candidate / baseline): the baseline's own rate drops out, which is
/// what makes `hilrig soak`'s comparison exact. The look's log likelihood ratio of θ₁ = 1 + margin against θ₀ = 1 is
/// x_c·ln(π₁/π₀) + x_b·ln((1 − π₁)/(1 − π₀)); summed over looks it is the log of a product of factors each with
/// expectation 1 given the past under θ₀, a nonnegative martingale, so P(it ever reaches 1/a) ≤ a (Ville's inequality)
/// for any number and timing of looks. The same holds for its inverse under θ₁. Hence:
/// </para>
/// <list type="bullet">
/// <item>no-go when a lot's or the overall sum (the sum of the lots' sums, so lots with different base rates are never
/// pooled) reaches ln(m / α), where m = lots + 1 tests (1 with a single lot): Bonferroni over the m tests, so a
/// candidate as good as the baseline is called no-go with probability at most α in all;</item>
/// <item>go when the overall sum falls to ln(β) = ln(1 − power) and no lot has reached no-go: a candidate worse by the
/// margin in every lot is called go with probability at most β;</item>
/// <item>undecided otherwise; at the campaign's planned end it stays undecided (truncation only turns would-be decisions
/// into undecided, never into errors), with the cycles still needed.</item>
/// </list>
/// <para>
/// Wald's thresholds ln((1 − β)/α) and ln(β/(1 − α)) are approximations that can be exceeded; Ville's are bounds, at a
/// few per cent more cycles. A look where one arm added no cycles in a lot tells nothing about that lot (the binomial is
/// degenerate) and adds 0. The lot with no failures yet in either arm adds 0 too: a ratio needs failures to be judged.
/// </para>
/// </summary>
public static class SequentialDecision
{
    /// <summary>How many tests share α: each lot and the overall test, or just one when there is a single lot.</summary>
    public static int Tests(int lots) => lots > 1 ? lots + 1 : 1;

    public static double NoGoThreshold(DecisionDesign design, int lots) => Math.Log(Tests(lots) / design.Alpha);

    public static double GoThreshold(DecisionDesign design) => Math.Log(design.Beta);

    /// <summary>One look's log likelihood ratio for one lot (θ₁ = <paramref name="worseRatio"/> against θ₀ = 1).</summary>
    public static double LookLogLikelihoodRatio(int candidateFailures, long candidateCycles, int baselineFailures, long baselineCycles, double worseRatio)
    {
        if (candidateFailures < 0 || baselineFailures < 0) throw new ArgumentOutOfRangeException(nameof(candidateFailures), "failures must be 0 or more");
        if (candidateCycles < 0 || baselineCycles < 0) throw new ArgumentOutOfRangeException(nameof(candidateCycles), "cycles must be 0 or more");
        if ((candidateFailures > 0 && candidateCycles == 0) || (baselineFailures > 0 && baselineCycles == 0))
            throw new ArgumentException("failures without cycles run");
        if (candidateCycles == 0 || baselineCycles == 0 || candidateFailures + baselineFailures == 0) return 0;
        var p0 = (double)candidateCycles / (candidateCycles + baselineCycles);
        var p1 = worseRatio * candidateCycles / ((worseRatio * candidateCycles) + baselineCycles);
        return (candidateFailures * Math.Log(p1 / p0)) + (baselineFailures * Math.Log((1 - p1) / (1 - p0)));
    }

    /// <summary>
    /// The decision after the given looks (each the counts it added, per lot). The first look at which a boundary is
    /// reached decides and later looks do not undo it (the campaign stops there).
    /// </summary>
    /// <param name="plannedLots">Lots the campaign was planned for (fixed before the data: it sets the Bonferroni share); more lots seen count too.</param>
    public static CampaignDecision Decide(DecisionDesign design, IReadOnlyList<IReadOnlyList<LotCounts>> looks, int plannedLots = 0)
    {
        ArgumentNullException.ThrowIfNull(design);
        ArgumentNullException.ThrowIfNull(looks);
        design.Validate();
        var lotNames = looks.SelectMany(l => l).Select(l => l.Lot).Distinct(StringComparer.Ordinal).OrderBy(l => l, StringComparer.Ordinal).ToList();
        var lotCount = Math.Max(plannedLots, lotNames.Count);
        var tests = Tests(lotCount);
        var noGo = NoGoThreshold(design, lotCount);
        var go = GoThreshold(design);
        var theta = design.WorseRatio;

        var acc = lotNames.ToDictionary(l => l, l => new Accumulator(l), StringComparer.Ordinal);
        var overall = new Accumulator("overall");
        DecisionKind kind = DecisionKind.Undecided;
        int? decidedAt = null;
        var noGoLots = new List<string>();
        for (var i = 0; i < looks.Count && kind == DecisionKind.Undecided; i++)
        {
            var lookLlr = 0.0;
            foreach (var lot in looks[i])
            {
                var llr = LookLogLikelihoodRatio(lot.CandidateFailures, lot.CandidateCycles, lot.BaselineFailures, lot.BaselineCycles, theta);
                acc[lot.Lot].Add(lot, llr);
                overall.Add(lot, llr);
                lookLlr += llr;
            }
            // per-lot tests only mean something as separate tests when there are several lots
            if (lotCount > 1) noGoLots.AddRange(acc.Values.Where(a => a.Llr >= noGo).Select(a => a.Name));
            if (noGoLots.Count > 0 || overall.Llr >= noGo)
            {
                kind = DecisionKind.NoGo;
                decidedAt = i + 1;
            }
            else if (overall.Llr <= go)
            {
                kind = DecisionKind.Go;
                decidedAt = i + 1;
            }
        }

        var lots = acc.Values.Select(a => a.Evidence(noGo, lotCount > 1 && noGoLots.Contains(a.Name))).ToList();
        var overallEvidence = overall.Evidence(noGo, kind == DecisionKind.NoGo && overall.Llr >= noGo);
        var drivers = kind != DecisionKind.NoGo ? []
            : noGoLots.Count > 0 ? noGoLots
            : lots.Where(l => l.LogLikelihoodRatio > 0).OrderByDescending(l => l.LogLikelihoodRatio).Select(l => l.Name).ToList();
        var modes = kind == DecisionKind.NoGo
            ? DrivingModes(drivers.Count > 0 ? drivers.Select(d => acc[d]) : acc.Values)
            : [];
        long? needed = null;
        var lowerBound = false;
        if (kind == DecisionKind.Undecided)
            (needed, lowerBound) = CyclesStillNeeded(design, overall, noGo, go);
        return new CampaignDecision(kind, looks.Count, decidedAt, overallEvidence, lots, kind == DecisionKind.NoGo ? noGoLots.Count > 0 ? noGoLots : drivers : [],
            modes, noGo, go, tests, needed, lowerBound, theta);
    }

    /// <summary>
    /// The decision against a stored baseline (a soak run or an earlier campaign: fixed counts, so the sequential sum
    /// cannot grow; see the class remarks). At every look the exact conditional tests run on the cumulative counts, each
    /// lot against the baseline's same lot when it soaked that lot, else against the whole baseline: no-go when a lot's or
    /// the overall one-sided p (<see cref="ExactTests.PoissonRatesOneSided"/>) is at most α / (m·J), go when the overall
    /// non-inferiority p (H: ratio ≥ 1 + margin, lower tail) is at most β / J, for J <paramref name="plannedLooks"/>:
    /// Bonferroni over the planned looks and tests, valid whatever their dependence, conservative, and never more looks
    /// than planned are taken. <see cref="ArmEvidence.LogLikelihoodRatio"/> is NaN here; <see cref="ArmEvidence.AnytimeP"/>
    /// is J times the smallest p seen (capped at 1).
    /// </summary>
    /// <param name="candidateLooks">Per look, the candidate's counts per lot that look added (baseline fields ignored).</param>
    /// <param name="baseline">The stored baseline per lot.</param>
    public static CampaignDecision DecideAgainstStoredBaseline(
        DecisionDesign design, IReadOnlyList<IReadOnlyList<LotCounts>> candidateLooks, IReadOnlyList<LotCounts> baseline, int plannedLooks, int plannedLots = 0)
    {
        ArgumentNullException.ThrowIfNull(design);
        ArgumentNullException.ThrowIfNull(candidateLooks);
        ArgumentNullException.ThrowIfNull(baseline);
        design.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(plannedLooks, 1);
        var baselineCycles = baseline.Sum(b => b.BaselineCycles);
        var baselineFailures = baseline.Sum(b => b.BaselineFailures);
        if (baselineCycles <= 0) throw new ArgumentException("a stored baseline needs cycles run", nameof(baseline));
        var lotNames = candidateLooks.SelectMany(l => l).Select(l => l.Lot).Distinct(StringComparer.Ordinal).OrderBy(l => l, StringComparer.Ordinal).ToList();
        var lotCount = Math.Max(plannedLots, lotNames.Count);
        var tests = Tests(lotCount);
        var looks = Math.Min(candidateLooks.Count, plannedLooks);
        var noGoLevel = design.Alpha / (tests * (double)plannedLooks);
        var goLevel = design.Beta / plannedLooks;
        var acc = lotNames.ToDictionary(l => l, l => new Accumulator(l), StringComparer.Ordinal);
        var overall = new Accumulator("overall");
        var minP = new Dictionary<string, double>(StringComparer.Ordinal);
        (long Cycles, int Failures, IReadOnlyDictionary<string, int>? Modes) BaselineOf(string lot) =>
            baseline.FirstOrDefault(b => b.Lot == lot && b.BaselineCycles > 0) is { } own ? (own.BaselineCycles, own.BaselineFailures, own.BaselineModes) : (baselineCycles, baselineFailures, null);
        var kind = DecisionKind.Undecided;
        int? decidedAt = null;
        var noGoLots = new List<string>();
        for (var i = 0; i < looks && kind == DecisionKind.Undecided; i++)
        {
            foreach (var lot in candidateLooks[i])
            {
                var candidateOnly = lot with { BaselineCycles = 0, BaselineFailures = 0, BaselineModes = null };
                acc[lot.Lot].Add(candidateOnly, double.NaN);
                overall.Add(candidateOnly, double.NaN);
            }
            var overallP = overall.CandidateCycles > 0 ? ExactTests.PoissonRatesOneSided(overall.CandidateFailures, overall.CandidateCycles, baselineFailures, baselineCycles) : 1;
            minP["overall"] = Math.Min(minP.GetValueOrDefault("overall", 1), overallP);
            foreach (var a in acc.Values.Where(a => a.CandidateCycles > 0))
            {
                var b = BaselineOf(a.Name);
                var p = ExactTests.PoissonRatesOneSided(a.CandidateFailures, a.CandidateCycles, b.Failures, b.Cycles);
                minP[a.Name] = Math.Min(minP.GetValueOrDefault(a.Name, 1), p);
                if (lotCount > 1 && p <= noGoLevel && !noGoLots.Contains(a.Name)) noGoLots.Add(a.Name);
            }
            if (noGoLots.Count > 0 || overallP <= noGoLevel)
            {
                kind = DecisionKind.NoGo;
                decidedAt = i + 1;
            }
            else if (overall.CandidateCycles > 0 && NonInferiorityP(overall.CandidateFailures, overall.CandidateCycles, baselineFailures, baselineCycles, design.WorseRatio) <= goLevel)
            {
                kind = DecisionKind.Go;
                decidedAt = i + 1;
            }
        }

        ArmEvidence Evidence(Accumulator a, long cycles, int failures, IReadOnlyDictionary<string, int>? modes, bool isNoGo) => new(
            a.Name, a.CandidateCycles, a.CandidateFailures,
            a.CandidateCycles > 0 ? PoissonRate.PerThousandCycles(a.CandidateFailures, a.CandidateCycles) : new Interval(double.NaN, double.NaN, double.NaN),
            cycles, failures, PoissonRate.PerThousandCycles(failures, cycles),
            a.CandidateCycles > 0 ? ExactTests.PoissonRatesOneSided(a.CandidateFailures, a.CandidateCycles, failures, cycles) : 1,
            double.NaN,
            Math.Min(1, minP.GetValueOrDefault(a.Name, 1) * plannedLooks),
            isNoGo,
            [.. a.CandidateModes.Select(kv => new ModeCount(kv.Key, kv.Value, modes?.GetValueOrDefault(kv.Key) ?? 0)).OrderByDescending(m => m.Candidate).ThenBy(m => m.Mode, StringComparer.Ordinal)]);

        var lots = acc.Values.Select(a => { var b = BaselineOf(a.Name); return Evidence(a, b.Cycles, b.Failures, b.Modes, noGoLots.Contains(a.Name)); }).ToList();
        var overallEvidence = Evidence(overall, baselineCycles, baselineFailures, null, kind == DecisionKind.NoGo && noGoLots.Count == 0);
        var drivers = kind != DecisionKind.NoGo ? []
            : noGoLots.Count > 0 ? noGoLots
            : [.. lots.Where(l => l.ExactP < 0.5).OrderBy(l => l.ExactP).Select(l => l.Name)];
        var modes = kind == DecisionKind.NoGo ? DrivingModes(drivers.Count > 0 ? drivers.Select(d => acc[d]) : acc.Values) : [];
        return new CampaignDecision(kind, candidateLooks.Count, decidedAt, overallEvidence, lots, drivers, modes,
            Math.Log(1 / noGoLevel), Math.Log(goLevel), tests, null, false, design.WorseRatio);
    }

    /// <summary>
    /// Exact conditional test of "the candidate's rate is at least <paramref name="worseRatio"/> times the baseline's"
    /// (non-inferiority), lower tail: P(X ≤ failA) with X ~ Binomial(k, π₁), π₁ = θ₁·cyclesA / (θ₁·cyclesA + cyclesB).
    /// </summary>
    public static double NonInferiorityP(int failA, long cyclesA, int failB, long cyclesB, double worseRatio)
    {
        var k = failA + failB;
        if (failA >= k) return 1;
        var share = worseRatio * cyclesA / ((worseRatio * cyclesA) + cyclesB);
        // P(X ≤ x) = 1 − P(X ≥ x + 1) = 1 − I_π(x + 1, k − x)
        return 1 - SpecialFunctions.RegularizedBeta(share, failA + 1, k - failA);
    }

    /// <summary>
    /// Expected candidate cycles (with matched baseline cycles) for the sum to travel from <paramref name="llr"/> to each
    /// boundary, by Wald's approximation (the expected step per failure is −KL(π₀‖π₁) under θ₀ and +KL(π₁‖π₀) under θ₁,
    /// overshoot ignored): the larger of the two, so that the campaign can end whichever way the truth lies.
    /// </summary>
    /// <param name="ratePerCycle">The baseline's rate per cycle (the pooled rate under θ₀).</param>
    /// <param name="candidateShare">n_c / (n_c + n_b) per look (0.5 for matched arms).</param>
    public static double ExpectedCyclesToDecide(DecisionDesign design, double ratePerCycle, double candidateShare, double llr, double noGoThreshold, double goThreshold)
    {
        ArgumentNullException.ThrowIfNull(design);
        if (!(ratePerCycle > 0)) return double.PositiveInfinity;
        var p0 = candidateShare;
        var theta = design.WorseRatio;
        var p1 = theta * p0 / ((theta * p0) + 1 - p0);
        var kl01 = (p0 * Math.Log(p0 / p1)) + ((1 - p0) * Math.Log((1 - p0) / (1 - p1)));
        var kl10 = (p1 * Math.Log(p1 / p0)) + ((1 - p1) * Math.Log((1 - p1) / (1 - p0)));
        // failures per candidate cycle, both arms together: the baseline adds (1 − p0)/p0 cycles per candidate cycle
        var failuresH0 = ratePerCycle / p0;
        var failuresH1 = ratePerCycle * ((theta * p0) + 1 - p0) / p0;
        var toGo = Math.Max(0, llr - goThreshold) / (failuresH0 * kl01);
        var toNoGo = Math.Max(0, noGoThreshold - llr) / (failuresH1 * kl10);
        return Math.Max(toGo, toNoGo);
    }

    private static (long? Cycles, bool LowerBound) CyclesStillNeeded(DecisionDesign design, Accumulator overall, double noGo, double go)
    {
        var cycles = overall.CandidateCycles + overall.BaselineCycles;
        var failures = overall.CandidateFailures + overall.BaselineFailures;
        var share = overall.CandidateCycles > 0 && overall.BaselineCycles > 0 ? (double)overall.CandidateCycles / cycles : 0.5;
        var lowerBound = failures == 0;
        // no failure yet: the upper 95 % bound of the pooled rate, so the estimate is "at least"
        var rate = cycles == 0 ? double.NaN
            : lowerBound ? PoissonRate.PerThousandCycles(0, cycles).Upper / PoissonRate.CyclesPerUnit
            : (double)failures / cycles;
        if (double.IsNaN(rate)) return (null, false);
        var more = ExpectedCyclesToDecide(design, rate, share, overall.Llr, noGo, go);
        return double.IsFinite(more) ? ((long)Math.Ceiling(more), lowerBound) : (null, false);
    }

    private static List<ModeCount> DrivingModes(IEnumerable<Accumulator> lots)
    {
        var candidate = new Dictionary<string, int>(StringComparer.Ordinal);
        var baseline = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var lot in lots)
        {
            foreach (var (mode, n) in lot.CandidateModes) candidate[mode] = candidate.GetValueOrDefault(mode) + n;
            foreach (var (mode, n) in lot.BaselineModes) baseline[mode] = baseline.GetValueOrDefault(mode) + n;
        }
        return [.. candidate
            .Select(kv => new ModeCount(kv.Key, kv.Value, baseline.GetValueOrDefault(kv.Key)))
            .Where(m => m.Candidate > m.Baseline)
            .OrderByDescending(m => m.Candidate - m.Baseline)
            .ThenBy(m => m.Mode, StringComparer.Ordinal)
            .Take(3)];
    }

    private sealed class Accumulator(string name)
    {
        public string Name { get; } = name;
        public long CandidateCycles { get; private set; }
        public int CandidateFailures { get; private set; }
        public long BaselineCycles { get; private set; }
        public int BaselineFailures { get; private set; }
        public double Llr { get; private set; }
        public double MaxLlr { get; private set; }
        public Dictionary<string, int> CandidateModes { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, int> BaselineModes { get; } = new(StringComparer.Ordinal);

        public void Add(LotCounts counts, double llr)
        {
            CandidateCycles += counts.CandidateCycles;
            CandidateFailures += counts.CandidateFailures;
            BaselineCycles += counts.BaselineCycles;
            BaselineFailures += counts.BaselineFailures;
            Llr += llr;
            MaxLlr = Math.Max(MaxLlr, Llr);
            foreach (var (mode, n) in counts.CandidateModes ?? new Dictionary<string, int>()) CandidateModes[mode] = CandidateModes.GetValueOrDefault(mode) + n;
            foreach (var (mode, n) in counts.BaselineModes ?? new Dictionary<string, int>()) BaselineModes[mode] = BaselineModes.GetValueOrDefault(mode) + n;
        }

        public ArmEvidence Evidence(double noGo, bool isNoGo) => new(
            Name,
            CandidateCycles,
            CandidateFailures,
            Rate(CandidateFailures, CandidateCycles),
            BaselineCycles,
            BaselineFailures,
            Rate(BaselineFailures, BaselineCycles),
            CandidateCycles > 0 && BaselineCycles > 0 ? ExactTests.PoissonRatesOneSided(CandidateFailures, CandidateCycles, BaselineFailures, BaselineCycles) : 1,
            Llr,
            Math.Min(1, Math.Exp(-MaxLlr)),
            isNoGo && Llr >= noGo,
            [.. CandidateModes.Select(kv => new ModeCount(kv.Key, kv.Value, BaselineModes.GetValueOrDefault(kv.Key))).OrderByDescending(m => m.Candidate).ThenBy(m => m.Mode, StringComparer.Ordinal)]);

        private static Interval Rate(int failures, long cycles) =>
            cycles > 0 ? PoissonRate.PerThousandCycles(failures, cycles) : new Interval(double.NaN, double.NaN, double.NaN);
    }
}
