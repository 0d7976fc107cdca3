namespace HilRig.Core.Campaigns;

/// <summary>Which side of the comparison a work item feeds.</summary>
public enum CampaignArm
{
    Candidate,
    Baseline,
}

/// <summary>A rig a campaign may use and how many slots it holds.</summary>
public sealed record RigCapacity(string Rig, int Slots);

/// <summary>
/// One unit of work a rig claims: its slots for <see cref="CyclesPerSlot"/> soak cycles on one arm's bootloader, or a batch of
/// <see cref="Cores"/> Cores to screen.
/// </summary>
/// <param name="Number">1.., unique in the campaign; the order in which the queue hands items out.</param>
/// <param name="Look">
/// The decision rule's look this item completes (soak with a concurrent baseline: a look is a rig's candidate item and
/// its baseline item, same rig, same Cores, same cycles, so the look compares like with like; otherwise one item).
/// </param>
/// <param name="Rig">The rig it is planned on (a lease that expires hands it to another rig).</param>
/// <param name="Slots">Soak: the rig's slots the item runs on.</param>
public sealed record WorkItem(int Number, int Look, string Rig, CampaignArm Arm, string? Bootloader, int Slots, int CyclesPerSlot, int Cores)
{
    /// <summary>Soak cycles the item runs in all (slots x cycles per slot), the exposure it adds to its arm.</summary>
    public long Cycles => (long)Slots * CyclesPerSlot;
}

/// <summary>The work of a campaign, in queue order.</summary>
/// <param name="CyclesPerSlot">Soak: cycles each slot runs per work item.</param>
/// <param name="Looks">How many times the decision rule looks (once per completed look, see <see cref="WorkItem.Look"/>).</param>
public sealed record CampaignPlan(Campaign Campaign, IReadOnlyList<WorkItem> Items, int CyclesPerSlot, int Looks)
{
    /// <summary>Candidate cycles the plan runs (at least the campaign's cycles: the last round fills every slot).</summary>
    public long CandidateCycles => Items.Where(i => i.Arm == CampaignArm.Candidate).Sum(i => i.Cycles);

    public long BaselineCycles => Items.Where(i => i.Arm == CampaignArm.Baseline).Sum(i => i.Cycles);
}

/// <summary>
/// Splits a campaign into work items. A soak runs in rounds: in each round every rig runs its slots for
/// <see cref="CampaignPlan.CyclesPerSlot"/> cycles on the candidate, then (concurrent baseline) as many on the baseline
/// build, so every look of the decision rule adds matched exposure on the same Cores and lots. The item size gives
/// about <see cref="TargetLooks"/> looks per rig (enough for an early decision when the evidence is overwhelming),
/// capped at <see cref="MaxItemCycles"/> cycles (about 1.5 h of a healthy Core's soak) so a lost rig loses little.
/// </summary>
public static class CampaignPlanner
{
    public const int TargetLooks = 10;
    public const int MaxItemCycles = 100;

    /// <summary>The plan, or one line saying why there is none (no rig to run it on, a rig with no slots).</summary>
    public static bool TryPlan(Campaign campaign, IReadOnlyList<RigCapacity> available, out CampaignPlan? plan, out string? error)
    {
        ArgumentNullException.ThrowIfNull(campaign);
        ArgumentNullException.ThrowIfNull(available);
        plan = null;
        error = null;
        // unnamed, a rig with no usable slot (all quarantined or in maintenance) is left out; named, it is an error
        var rigs = campaign.Rigs.Count == 0 ? available.Where(a => a.Slots > 0).ToList() : campaign.Rigs.Select(r => available.FirstOrDefault(a => a.Rig == r) ?? new RigCapacity(r, 0)).ToList();
        var unknown = rigs.FirstOrDefault(r => r.Slots <= 0);
        if (unknown is not null)
        {
            error = available.Any(a => a.Rig == unknown.Rig)
                ? $"rig {unknown.Rig}: no usable slot to run on (its agent reports every slot quarantined or in maintenance; `hilrig slots` on that rig)"
                : $"--rigs {unknown.Rig}: no such rig; known: {(available.Count == 0 ? "none" : string.Join(", ", available.Select(a => a.Rig)))}";
            return false;
        }
        if (rigs.Count == 0)
        {
            error = available.Count == 0 ? "no rig to run the campaign on: none is known yet" : "no rig to run the campaign on: every live rig reports all its slots quarantined or in maintenance";
            return false;
        }

        plan = campaign.Kind == CampaignKind.Soak ? PlanSoak(campaign, rigs) : PlanScreen(campaign, rigs);
        return true;
    }

    private static CampaignPlan PlanSoak(Campaign campaign, IReadOnlyList<RigCapacity> rigs)
    {
        long slots = rigs.Sum(r => r.Slots);
        var perSlot = (int)Math.Clamp(CeilDiv(campaign.Cycles, TargetLooks * slots), 1, MaxItemCycles);
        var rounds = CeilDiv(campaign.Cycles, perSlot * slots);
        var concurrent = campaign.Baseline?.Concurrent == true;
        var items = new List<WorkItem>();
        var look = 0;
        for (var round = 0; round < rounds; round++)
        {
            foreach (var rig in rigs)
            {
                look++;
                items.Add(new WorkItem(items.Count + 1, look, rig.Rig, CampaignArm.Candidate, campaign.Bootloader?.ToString(), rig.Slots, perSlot, 0));
                if (concurrent) items.Add(new WorkItem(items.Count + 1, look, rig.Rig, CampaignArm.Baseline, campaign.Baseline!.ToString(), rig.Slots, perSlot, 0));
            }
        }
        return new CampaignPlan(campaign, items, perSlot, look);
    }

    private static CampaignPlan PlanScreen(Campaign campaign, IReadOnlyList<RigCapacity> rigs)
    {
        var items = new List<WorkItem>();
        var left = campaign.Cores;
        while (left > 0)
        {
            foreach (var rig in rigs)
            {
                if (left == 0) break;
                var batch = Math.Min(left, rig.Slots);
                left -= batch;
                items.Add(new WorkItem(items.Count + 1, items.Count + 1, rig.Rig, CampaignArm.Candidate, null, 0, 0, batch));
            }
        }
        return new CampaignPlan(campaign, items, 0, items.Count);
    }

    private static long CeilDiv(long a, long b) => (a + b - 1) / b;
}
