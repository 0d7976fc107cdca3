using HilRig.Core.Led;
using HilRig.Sim.Optics.Independent;

namespace HilRig.Tests.Led;

/// <summary>
/// The classifier on light it was not tuned on: traces from <see cref="IndependentLedModel"/>, written from the
/// documents alone (its own PWM, timings, channel response, room flicker, neighbour leak, noise and calibration).
/// </summary>
public class IndependentModelTests
{
    private static IndependentTrace One(IndependentState state, IndependentCondition condition, int seed) =>
        IndependentLedModel.Generate(condition, 1, new Random(seed), state);

    /// <summary>Measured on held-out seeds (see the README's limits), less a margin of about a point.</summary>
    internal const double IndependentFloor = 0.91;

    private static LedTimeline Classify(IndependentTrace trace) => LedClassifier.Classify(new LedTrace(trace.Samples, trace.Calibration));

    private static IEnumerable<TestCaseData> SosCodes() =>
        Enumerable.Range(1, 12).Select(code => new TestCaseData(code).SetName($"SOS {code} from a random point of its round"));

    [TestCaseSource(nameof(SosCodes))]
    public void An_SOS_is_named_with_its_code_wherever_its_round_starts(int code)
    {
        var state = IndependentLedModel.Catalogue.Single(s => s.Pattern == LedPattern.Sos && s.SosCode == code);
        var right = 0;
        var seen = new List<string>();
        for (var seed = 0; seed < 6; seed++)
        {
            var condition = new IndependentCondition(new[] { 12, 19.2, 24 }[seed % 3], seed % 2 == 0 ? 0 : 0.15, 0.02, seed % 4 != 3);
            var trace = One(state, condition, 1000 * code + seed);
            var timeline = Classify(trace);
            var verdicts = TimelineScore.Score(trace.Truth, timeline);
            if (verdicts[1].Right) right++;
            seen.Add(timeline.ToString());
        }
        Assert.That(right, Is.GreaterThanOrEqualTo(4), string.Join(Environment.NewLine, seen));
    }

    [Test]
    public void A_solid_colour_under_flickering_room_light_is_never_called_breathing()
    {
        var solids = IndependentLedModel.Catalogue.Where(s => s.Pattern == LedPattern.Solid).ToList();
        var breathing = new List<string>();
        var n = 0;
        foreach (var integration in new[] { 12, 19.2, 24 })
        foreach (var room in new[] { 0.15, 0.5 })
        foreach (var solid in solids)
        {
            var trace = One(solid, new IndependentCondition(integration, room, 0.03, DarkLine: true), n++);
            var timeline = Classify(trace);
            if (timeline.Segments.Any(s => s.State.Pattern == LedPattern.Breathing))
                breathing.Add($"{integration} ms room {room}: {solid.Name} seen as {timeline}");
        }
        Assert.That(breathing, Is.Empty, string.Join(Environment.NewLine, breathing));
    }

    [Test]
    public void The_sampling_cadence_follows_the_integration_time_and_the_gain_follows_the_calibration_rule()
    {
        var gains = new HashSet<int>();
        foreach (var integration in new[] { 12, 19.2, 24 })
        {
            for (var seed = 0; seed < 40; seed++)
            {
                var trace = IndependentLedModel.Generate(new IndependentCondition(integration, seed % 2 == 0 ? 0 : 0.5, 0, true), 1, new Random(seed));
                gains.Add(trace.Gain);
                var steps = trace.Samples.Zip(trace.Samples.Skip(1), (a, b) => (b.Time - a.Time).TotalMilliseconds).ToList();
                Assert.That(steps.Average(), Is.EqualTo(integration).Within(0.5), "one reading per window");
                Assert.That(trace.Samples.All(s => s.IntegrationMs == integration && s.Gain == trace.Gain));
                Assert.That(trace.Calibration, Is.Not.Null);
                Assert.That(trace.Samples.Where(s => s.Time.TotalSeconds > 3).Max(s => s.C), Is.LessThan(trace.Samples[0].MaxCount), "the rule leaves headroom");
            }
        }
        Assert.That(gains, Is.SupersetOf(new[] { 1, 4, 16 }), "dark and bright rooms, strong and weak coupling");
    }

    /// <summary>
    /// A fixed-seed sample of the bench's grid (every integration time, room light, with and without the dark line,
    /// random neighbour leak), on a seed not used while the classifier was developed (the bench's seed 1 was): the
    /// accuracy reached must not slip. The target is 99.5 % (issue 18); see `hilrig bench led` for where it stands.
    /// </summary>
    [Test]
    public void Accuracy_on_the_independent_model_does_not_slip_below_what_it_reaches_now()
    {
        var random = new Random(5);
        int segments = 0, right = 0;
        var codes = new HashSet<int>();
        var i = 0;
        foreach (var condition in Conditions(48, random))
        {
            var first = IndependentLedModel.Catalogue.Where(s => s.Pattern == LedPattern.Sos).ElementAt(i++ % 12);
            var trace = IndependentLedModel.Generate(condition, 10, random, first);
            foreach (var v in TimelineScore.Score(trace.Truth, Classify(trace)))
            {
                segments++;
                if (!v.Right) continue;
                right++;
                if (v.Truth.State.SosCode is { } code) codes.Add(code);
            }
        }
        TestContext.Out.WriteLine($"{right}/{segments} = {right / (double)segments:P2}");
        Assert.Multiple(() =>
        {
            Assert.That(segments, Is.GreaterThanOrEqualTo(400));
            Assert.That(right / (double)segments, Is.GreaterThanOrEqualTo(IndependentFloor));
            Assert.That(codes, Is.EquivalentTo(Enumerable.Range(1, 12)), "every SOS code recognised somewhere");
        });
    }

    private static IEnumerable<IndependentCondition> Conditions(int count, Random random)
    {
        double[] rooms = [0, 0.03, 0.15, 0.5];
        double[] integrations = [12, 19.2, 24];
        for (var i = 0; i < count; i++)
            yield return new IndependentCondition(integrations[i % 3], rooms[i / 3 % 4], 0.04 * random.NextDouble(), i / 12 % 2 == 0);
    }
}
