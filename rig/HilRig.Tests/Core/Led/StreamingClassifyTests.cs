using HilRig.Core.Led;
using HilRig.Sim.Optics.Independent;

namespace HilRig.Tests.Led;

/// <summary>`hilrig led classify` reads a trace of any length in chunks; it must say what a whole-trace reading says.</summary>
public class StreamingClassifyTests
{
    [Test]
    public void A_trace_classified_in_chunks_names_the_same_states_as_classified_whole()
    {
        var trace = IndependentLedModel.Generate(new IndependentCondition(24, 0.03, 0.01, true), 45, new Random(11));
        Assert.That(trace.Samples[^1].Time, Is.GreaterThan(StreamingClassifier.Chunk * 2), "the trace spans several chunks");
        var whole = LedClassifier.Classify(new LedTrace(trace.Samples, trace.Calibration));
        var chunked = new LedTimeline([.. StreamingClassifier.Classify(trace.Samples, trace.Calibration!)]);

        static string At(LedTimeline t, TimeSpan time) => t.Segments.FirstOrDefault(s => s.Start <= time && time < s.End)?.State.ToString() ?? "-";
        var differ = trace.Truth.Select(t => t.Start + t.Duration / 2).Where(m => At(whole, m) != At(chunked, m)).ToList();
        Assert.That(differ, Has.Count.LessThanOrEqualTo(1), $"whole: {whole}\nchunked: {chunked}");
        Assert.That(chunked.Segments.Zip(chunked.Segments.Skip(1)).All(p => p.First.End <= p.Second.Start + TimeSpan.FromMilliseconds(1)), "segments in order, not overlapping");
    }

    [Test]
    public void The_one_pass_dark_estimate_agrees_with_the_whole_trace_estimate()
    {
        var trace = IndependentLedModel.Generate(new IndependentCondition(19.2, 0.15, 0.02, false), 12, new Random(3));
        var estimator = new DarkEstimator();
        foreach (var s in trace.Samples) estimator.Add(s);
        var streamed = estimator.Estimate();
        var whole = LedClassifier.EstimateDark(trace.Samples);
        Assert.That(whole.DarkC, Is.GreaterThan(0));
        Assert.That(streamed.DarkC, Is.EqualTo(whole.DarkC).Within(3).Percent);
        Assert.That(streamed.DarkR, Is.EqualTo(whole.DarkR).Within(3).Percent);
    }
}
