using HilRig.Core.Procedures;

namespace HilRig.Reports.Statistics;

/// <summary>From soak engine results to what a look of the campaign decision rule adds per chip lot.</summary>
public static class CampaignLooks
{
    /// <summary>
    /// One look: the candidate's and the baseline's soak of the same rig's Cores, counted per lot by the soak's own rule
    /// (<see cref="SoakSlotResult.CyclesJudged"/> and <see cref="SoakSlotResult.Failures"/>; failure modes from the failed
    /// OTA and factory-reset rows). Slots without a lot are counted under <paramref name="unlistedLot"/>.
    /// </summary>
    /// <param name="lotOfSlot">The chip lot of the Core in each slot.</param>
    public static IReadOnlyList<LotCounts> FromSoak(SoakResult candidate, SoakResult baseline, IReadOnlyDictionary<int, string?> lotOfSlot, string unlistedLot = "unlisted")
    {
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(baseline);
        ArgumentNullException.ThrowIfNull(lotOfSlot);
        string Lot(int slot) => lotOfSlot.GetValueOrDefault(slot) ?? unlistedLot;
        var lots = candidate.Slots.Select(s => Lot(s.Slot)).Concat(baseline.Slots.Select(s => Lot(s.Slot))).Distinct(StringComparer.Ordinal).OrderBy(l => l, StringComparer.Ordinal);
        return [.. lots.Select(lot => new LotCounts(
            lot,
            candidate.Slots.Where(s => Lot(s.Slot) == lot).Sum(s => (long)s.CyclesJudged),
            candidate.Slots.Where(s => Lot(s.Slot) == lot).Sum(s => s.Failures),
            baseline.Slots.Where(s => Lot(s.Slot) == lot).Sum(s => (long)s.CyclesJudged),
            baseline.Slots.Where(s => Lot(s.Slot) == lot).Sum(s => s.Failures))
        {
            CandidateModes = Modes(candidate, lot, Lot),
            BaselineModes = Modes(baseline, lot, Lot),
        })];
    }

    private static Dictionary<string, int> Modes(SoakResult result, string lot, Func<int, string> lotOf) =>
        result.Rows
            .Where(r => r.Verdict == Verdict.Fail && SoakRunner.CountsForRate(r.Test) && lotOf(r.Slot) == lot)
            .GroupBy(r => r.FailureMode ?? r.Test, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
}
