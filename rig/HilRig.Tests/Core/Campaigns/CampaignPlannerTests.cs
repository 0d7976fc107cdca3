using HilRig.Core.Campaigns;

namespace HilRig.Tests.Campaigns;

public class CampaignPlannerTests
{
    private static readonly RigCapacity[] FourRigs = [.. Enumerable.Range(1, 4).Select(r => new RigCapacity($"rig-{r}", 8))];

    private static Campaign Soak(long cycles, string baseline = "BL14", string? rigs = null)
    {
        Assert.That(CampaignValidation.TryParse(new CampaignRequest("c") { Cycles = cycles.ToString(System.Globalization.CultureInfo.InvariantCulture), Baseline = baseline, Rigs = rigs }, out var c, out var errors, _ => null), Is.True, string.Join("; ", errors));
        return c!;
    }

    private static CampaignPlan Plan(Campaign campaign, IReadOnlyList<RigCapacity> rigs)
    {
        Assert.That(CampaignPlanner.TryPlan(campaign, rigs, out var plan, out var error), Is.True, error);
        return plan!;
    }

    [Test]
    public void A_soak_runs_in_rounds_of_each_rigs_slots_with_a_look_after_every_rigs_candidate_and_baseline_pair()
    {
        // 20,000 cycles on 32 slots, about ten looks per rig: ceil(20000 / 320) = 63 cycles per slot, ten rounds
        var plan = Plan(Soak(20_000), FourRigs);
        Assert.That((plan.CyclesPerSlot, plan.Looks), Is.EqualTo((63, 40)));
        Assert.That(plan.CandidateCycles, Is.EqualTo(10 * 32 * 63L).And.GreaterThanOrEqualTo(20_000));
        Assert.That(plan.BaselineCycles, Is.EqualTo(plan.CandidateCycles), "the baseline build runs as many cycles on the same Cores");
        foreach (var look in plan.Items.GroupBy(i => i.Look))
        {
            Assert.That(look.Select(i => i.Arm), Is.EqualTo(new[] { CampaignArm.Candidate, CampaignArm.Baseline }));
            Assert.That(look.Select(i => (i.Rig, i.Slots, i.CyclesPerSlot)).Distinct().Count(), Is.EqualTo(1), "same rig, slots and cycles: like with like");
        }
        Assert.That(plan.Items.Select(i => i.Number), Is.EqualTo(Enumerable.Range(1, 80)));
        Assert.That(plan.Items.Take(2).Select(i => i.Bootloader), Is.EqualTo(new[] { "candidate", "BL14" }));
        Assert.That(plan.Items.Take(8).Where(i => i.Arm == CampaignArm.Candidate).Select(i => i.Rig), Is.EqualTo(new[] { "rig-1", "rig-2", "rig-3", "rig-4" }), "round-robin: every rig works from the start");
    }

    [Test]
    public void Work_items_stay_short_enough_that_a_lost_rig_loses_little()
    {
        var plan = Plan(Soak(10_000_000), [new RigCapacity("rig-1", 8)]);
        Assert.That(plan.CyclesPerSlot, Is.EqualTo(CampaignPlanner.MaxItemCycles));
        Assert.That(plan.Looks, Is.EqualTo(10_000_000 / (8 * 100)));
    }

    [Test]
    public void A_stored_baseline_plans_the_candidate_alone()
    {
        var plan = Plan(Soak(1000, baseline: "4711"), FourRigs);
        Assert.That(plan.Items.Select(i => i.Arm), Is.All.EqualTo(CampaignArm.Candidate));
        Assert.That(plan.BaselineCycles, Is.Zero);
    }

    [Test]
    public void Only_the_named_rigs_are_used_and_an_unknown_one_is_one_line()
    {
        var plan = Plan(Soak(800, rigs: "rig-2"), FourRigs);
        Assert.That(plan.Items.Select(i => i.Rig).Distinct(), Is.EqualTo(new[] { "rig-2" }));

        Assert.That(CampaignPlanner.TryPlan(Soak(800, rigs: "rig-9"), FourRigs, out _, out var error), Is.False);
        Assert.That(error, Is.EqualTo("--rigs rig-9: no such rig; known: rig-1, rig-2, rig-3, rig-4"));
        Assert.That(CampaignPlanner.TryPlan(Soak(800), [], out _, out var none), Is.False);
        Assert.That(none, Is.EqualTo("no rig to run the campaign on: none is known yet"));
    }

    [Test]
    public void A_screen_is_batches_of_each_rigs_slots_until_every_Core_is_placed()
    {
        Assert.That(CampaignValidation.TryParse(new CampaignRequest("s") { Kind = "screen", Cores = "20" }, out var screen, out _, _ => null), Is.True);
        var plan = Plan(screen!, [new RigCapacity("a", 8), new RigCapacity("b", 4)]);
        Assert.That(plan.Items.Select(i => (i.Rig, i.Cores)), Is.EqualTo(new[] { ("a", 8), ("b", 4), ("a", 8) }));
    }
}
