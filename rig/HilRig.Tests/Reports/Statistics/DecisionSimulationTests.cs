using HilRig.Reports.Statistics;

namespace HilRig.Tests.Campaigns;

/// <summary>
/// The decision rule's error rates over synthetic campaigns with looks after every pair of work items (the plan of
/// 4 rigs x 8 slots, 4 lots). Tolerance: the simulated rate is a binomial proportion over n campaigns, so a rule whose
/// true rate were exactly the configured one would exceed it by more than 3 standard errors, 3·√(p(1−p)/n), about
/// once in 740 seeds; the seed is fixed, so the test is deterministic.
/// </summary>
public class DecisionSimulationTests
{
    private const int Campaigns = 400;

    [TestCase(0.05, 0.8, 1.0, 2.0, 1UL)]
    [TestCase(0.10, 0.9, 0.5, 5.0, 2UL)]
    public void False_no_go_stays_within_alpha_and_false_go_within_one_minus_power_under_repeated_looks(double alpha, double power, double margin, double perThousand, ulong seed)
    {
        var design = new DecisionDesign(alpha, power, margin);
        var scenario = new SyntheticCampaign(4, 8, 4, perThousand, SyntheticCampaign.DesignCycles(design, perThousand, 4));
        var looks = DecisionSimulation.LooksFromPlan(scenario.Plan(design), scenario.SlotLots());
        Assert.That(looks, Has.Count.GreaterThanOrEqualTo(20), "a look after every pair of items");

        var h0 = DecisionSimulation.Run(design, looks, scenario.BaselinePerCycle(), 1, Campaigns, seed);
        var h1 = DecisionSimulation.Run(design, looks, scenario.BaselinePerCycle(), design.WorseRatio, Campaigns, seed + 100);

        var falseNoGo = $"false no-go {h0.NoGoRate:0.000} of {Campaigns}";
        var falseGo = $"false go {h1.GoRate:0.000} of {Campaigns}";
        Assert.That(h0.NoGoRate, Is.LessThanOrEqualTo(alpha + (3 * h0.StandardError(alpha))), falseNoGo);
        Assert.That(h1.GoRate, Is.LessThanOrEqualTo(design.Beta + (3 * h1.StandardError(design.Beta))), falseGo);
        // and the rule decides: a rule that stayed undecided would meet both bounds and be useless
        Assert.That(h0.GoRate, Is.GreaterThanOrEqualTo(0.8), $"go under H0 {h0.GoRate:0.000}");
        Assert.That(h1.NoGoRate, Is.GreaterThanOrEqualTo(power - (3 * h1.StandardError(power))), $"no-go under H1 {h1.NoGoRate:0.000}");
        // early: on average well before the planned end
        Assert.That(h0.MeanLooksToDecision, Is.LessThan(looks.Count * 0.6));
    }

    [Test]
    public void The_same_seed_gives_the_same_figures()
    {
        var design = new DecisionDesign(0.05, 0.8, 1.0);
        var scenario = new SyntheticCampaign(2, 8, 2, 3.0, 8000);
        var looks = DecisionSimulation.LooksFromPlan(scenario.Plan(design), scenario.SlotLots());
        var a = DecisionSimulation.Run(design, looks, scenario.BaselinePerCycle(), 2, 50, 9);
        var b = DecisionSimulation.Run(design, looks, scenario.BaselinePerCycle(), 2, 50, 9);
        Assert.That(b, Is.EqualTo(a));
    }

    [Test]
    public void Poisson_draws_have_the_mean_and_variance_of_their_rate_also_above_the_split_at_30()
    {
        foreach (var mean in new[] { 0.7, 45.0 })
        {
            var random = new HilRig.Core.Seeded.SplitMix64(3);
            var draws = Enumerable.Range(0, 20_000).Select(_ => (double)random.Poisson(mean)).ToList();
            var average = draws.Average();
            var variance = draws.Sum(d => (d - average) * (d - average)) / (draws.Count - 1);
            // standard error of the mean √(mean/n); of the variance about mean·√(2/n) for a Poisson this size
            Assert.That(average, Is.EqualTo(mean).Within(4 * Math.Sqrt(mean / draws.Count)), $"mean {mean}");
            Assert.That(variance, Is.EqualTo(mean).Within(4 * mean * Math.Sqrt(2.0 / draws.Count) + 0.02), $"variance at mean {mean}");
        }
    }
}
