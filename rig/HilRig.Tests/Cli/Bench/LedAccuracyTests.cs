using HilRig.Cli.Bench;

namespace HilRig.Tests.Led;

/// <summary>
/// The bench's labelled traces, generated and classified once for the fixture (a regression guard: seeds 1-3 were
/// looked at while developing, the figures of issue 18 are taken on seeds 4-9 by `hilrig bench led`): the project model's quick grid (one run per integration time, each
/// in a different room, 16 slots) on seed 2, and the independent model's quick grid (every integration time x room x
/// with/without the `# dark` line) on seeds 2 and 3. Each model's accuracy must not slip below what those seeds reach
/// now, less a small margin; every SOS code must be named on each; solid lights called breathing must stay as rare as now. The 2,000-
/// segment figures and the targets of issue 18 (99.5 % on each model) are what `hilrig bench led` prints.
/// </summary>
[TestFixture]
public class LedAccuracyTests
{
    /// <summary>
    /// Measured on these seeds (see rig/HilRig.Core/Led/README.md), less a margin: the quick grids give 98.6 and 98.2 %
    /// on the independent model (was 93-95 % before blinks and solids were judged on pooled readings), the project
    /// model's about 99.5-100 %.
    /// </summary>
    private const double ProjectFloor = 0.99;
    private const double IndependentFloor = 0.965;

    private LedTally _project = null!;
    private LedTally[] _independent = null!;

    [OneTimeSetUp]
    public void Classify_the_held_out_traces()
    {
        _project = LedBench.Score(2, quick: true, "project").Project;
        _independent = [LedBench.Score(2, quick: true, "independent").Independent, LedBench.Score(3, quick: true, "independent").Independent];
    }

    private static string Misses(LedTally tally) => string.Join(Environment.NewLine, tally.Misses.Take(30));

    [Test]
    public void Project_model_accuracy_on_a_held_out_seed_does_not_slip()
    {
        Assert.That(_project.Segments, Is.GreaterThanOrEqualTo(600), "the quick grid still spans every integration time and room");
        Assert.That(_project.Accuracy, Is.GreaterThanOrEqualTo(ProjectFloor), Misses(_project));
    }

    [Test]
    public void Independent_model_accuracy_on_held_out_seeds_does_not_slip()
    {
        Assert.Multiple(() =>
        {
            foreach (var tally in _independent)
            {
                Assert.That(tally.Segments, Is.GreaterThanOrEqualTo(600), "the quick grid still spans every integration time and room");
                Assert.That(tally.Accuracy, Is.GreaterThanOrEqualTo(IndependentFloor), Misses(tally));
            }
        });
    }

    [Test]
    public void The_grids_span_every_integration_time_room_and_dark_line()
    {
        string[] integrations = ["integration 12.0 ms", "integration 19.2 ms", "integration 24.0 ms"];
        Assert.Multiple(() =>
        {
            Assert.That(_project.PerCondition.Keys, Is.SupersetOf(integrations.Concat(["ambient 0 counts/cycle", "ambient 4 counts/cycle", "ambient 40 counts/cycle"])));
            foreach (var tally in _independent)
                Assert.That(tally.PerCondition.Keys, Is.SupersetOf(integrations.Concat(["room dark", "room dim", "room lit", "room bright", "with # dark line", "without # dark line"])));
        });
    }

    [Test]
    public void Every_SOS_code_is_named_on_each_model()
    {
        Assert.Multiple(() =>
        {
            foreach (var tally in _independent.Prepend(_project))
            {
                Assert.That(tally.SosCodesSeen, Is.EquivalentTo(Enumerable.Range(1, 12)), "every code is in the grid");
                Assert.That(tally.SosCodesMissed, Is.Zero, Misses(tally));
            }
        });
    }

    /// <summary>
    /// Issue 18's target is none; these grids (about 2,100 segments) hold one left (a dim blue in a bright room
    /// without the `# dark` line, README limits), so this guards against more, not for the target.
    /// </summary>
    [Test]
    public void Solid_lights_are_not_called_breathing()
    {
        var all = _independent.Prepend(_project).SelectMany(t => t.SolidsCalledBreathing).ToList();
        Assert.That(all, Has.Count.LessThanOrEqualTo(1), string.Join(Environment.NewLine, all));
    }
}
