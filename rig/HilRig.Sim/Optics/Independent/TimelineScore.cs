using HilRig.Core.Led;

namespace HilRig.Sim.Optics.Independent;

/// <summary>
/// Scores a classified timeline against the truth: a true segment is right when the observed segment overlapping
/// it most names the same state (colour, pattern, period within 35 %, SOS code) and covers at least 80 % of it.
/// </summary>
public static class TimelineScore
{
    public sealed record Verdict(LedSegment Truth, LedSegment? Seen, bool Right);

    public static List<Verdict> Score(IReadOnlyList<LedSegment> truth, LedTimeline timeline)
    {
        var seen = timeline.Segments;
        var verdicts = new List<Verdict>(truth.Count);
        var from = 0;
        foreach (var t in truth)
        {
            while (from < seen.Count && seen[from].End <= t.Start) from++;
            LedSegment? best = null;
            var bestOverlap = TimeSpan.Zero;
            for (var i = from; i < seen.Count && seen[i].Start < t.End; i++)
            {
                var o = Overlap(seen[i], t);
                if (o > bestOverlap) (best, bestOverlap) = (seen[i], o);
            }
            var right = best is not null && t.State.Matches(best.State) && bestOverlap >= 0.8 * t.Duration;
            verdicts.Add(new Verdict(t, best, right));
        }
        return verdicts;
    }

    /// <summary>Distance from each true change of state to the nearest observed boundary, ms.</summary>
    public static IEnumerable<(LedState From, LedState To, double ErrorMs)> TransitionErrors(IReadOnlyList<LedSegment> truth, LedTimeline timeline)
    {
        var boundaries = timeline.Segments.Skip(1).Select(s => s.Start).ToList();
        for (var i = 1; i < truth.Count; i++)
        {
            if (truth[i].State.Matches(truth[i - 1].State)) continue;
            var at = truth[i].Start;
            var error = boundaries.Count == 0 ? double.PositiveInfinity : boundaries.Min(b => Math.Abs((b - at).TotalMilliseconds));
            yield return (truth[i - 1].State, truth[i].State, error);
        }
    }

    public static TimeSpan Overlap(LedSegment a, LedSegment b)
    {
        var start = a.Start > b.Start ? a.Start : b.Start;
        var end = a.End < b.End ? a.End : b.End;
        return end > start ? end - start : TimeSpan.Zero;
    }

    /// <summary>The name a confusion matrix uses: pattern and colour, without period or code.</summary>
    public static string Kind(LedState? s) => s is null ? "(nothing)" : s.Pattern switch
    {
        LedPattern.Off => "off",
        LedPattern.Sos => "SOS",
        _ => s.Pattern switch
        {
            LedPattern.Solid => "solid",
            LedPattern.Flashing => "flashing",
            LedPattern.FastFlashing => "fast flashing",
            LedPattern.Breathing => "breathing",
            LedPattern.Fade => "fade",
            _ => s.Pattern.ToString(),
        },
    };
}
