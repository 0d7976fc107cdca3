namespace HilRig.Core.Led;

/// <summary>
/// Classifies a trace of any length in bounded memory and linear time: samples are classified in chunks of
/// <see cref="Chunk"/> with <see cref="Context"/> of samples either side, each chunk's segments clipped to its own
/// stretch, and a segment running across a chunk boundary joined again when both chunks name the same state.
/// A trace no longer than one chunk gives exactly the timeline <see cref="LedClassifier.Classify(LedTrace)"/> gives.
/// </summary>
public static class StreamingClassifier
{
    public static readonly TimeSpan Chunk = TimeSpan.FromSeconds(120);

    /// <summary>Longer than any pattern's period (a 12-blink SOS round is about 12 s) and the classifier's windows.</summary>
    public static readonly TimeSpan Context = TimeSpan.FromSeconds(20);

    public static IEnumerable<LedSegment> Classify(IEnumerable<LedSample> samples, SlotCalibration calibration)
    {
        var classifier = new LedClassifier(calibration);
        var buffer = new List<LedSample>();
        TimeSpan? coreStart = null;
        LedSegment? pending = null;
        var first = true;
        foreach (var sample in samples)
        {
            coreStart ??= sample.Time;
            buffer.Add(sample);
            if (sample.Time < coreStart.Value + Chunk + Context) continue;
            var coreEnd = coreStart.Value + Chunk;
            foreach (var s in Clip(classifier.Classify(buffer), first ? TimeSpan.MinValue : coreStart.Value, coreEnd))
                if (Join(ref pending, s) is { } done) yield return done;
            first = false;
            // keep the context the next chunk needs before its own start
            var keepFrom = coreEnd - Context;
            var drop = buffer.FindIndex(x => x.Time >= keepFrom);
            buffer.RemoveRange(0, drop < 0 ? buffer.Count : drop);
            coreStart = coreEnd;
        }
        if (buffer.Count > 0)
            foreach (var s in Clip(classifier.Classify(buffer), first ? TimeSpan.MinValue : coreStart!.Value, TimeSpan.MaxValue))
                if (Join(ref pending, s) is { } done) yield return done;
        if (pending is not null) yield return pending;
    }

    private static IEnumerable<LedSegment> Clip(LedTimeline timeline, TimeSpan from, TimeSpan to)
    {
        foreach (var s in timeline.Segments)
        {
            if (s.End <= from || s.Start >= to) continue;
            yield return s with { Start = s.Start < from ? from : s.Start, End = s.End > to ? to : s.End };
        }
    }

    /// <summary>Extends the pending segment with one of the same state, else hands the pending one out.</summary>
    private static LedSegment? Join(ref LedSegment? pending, LedSegment next)
    {
        if (pending is { } p && p.State.Matches(next.State) && next.State.Matches(p.State) && next.Start <= p.End)
        {
            var (dp, dn) = (p.Duration.TotalMilliseconds, next.Duration.TotalMilliseconds);
            var weight = dp + dn <= 0 ? 0.5 : dp / (dp + dn);
            pending = new LedSegment(p.Start, next.End, p.State with { SosCode = p.State.SosCode ?? next.State.SosCode },
                Math.Round(p.Confidence * weight + next.Confidence * (1 - weight), 3));
            return null;
        }
        var done = pending;
        pending = next;
        return done;
    }
}

/// <summary>
/// The dark level of a trace without a <c># dark</c> line, from one pass in constant memory: the same estimate as
/// <see cref="LedClassifier.EstimateDark"/> (the darkest 5 % of readings), with clear levels binned on a fine log scale.
/// </summary>
public sealed class DarkEstimator
{
    private const int Bins = 4096;
    private const double MinLevel = 1e-4;
    private const double MaxLevel = 1e6;
    private readonly long[] _count = new long[Bins];
    private readonly double[] _r = new double[Bins];
    private readonly double[] _g = new double[Bins];
    private readonly double[] _b = new double[Bins];
    private readonly double[] _c = new double[Bins];
    private readonly double[] _cc = new double[Bins];
    private long _total;

    public void Add(LedSample s)
    {
        if (s.Saturated) return;
        var k = 1.0 / (s.Gain * s.IntegrationMs);
        var c = s.C * k;
        var bin = c <= MinLevel ? 0 : (int)Math.Clamp(Math.Log(c / MinLevel) / Math.Log(MaxLevel / MinLevel) * (Bins - 1), 0, Bins - 1);
        _count[bin]++;
        _r[bin] += s.R * k;
        _g[bin] += s.G * k;
        _b[bin] += s.B * k;
        _c[bin] += c;
        _cc[bin] += c * c;
        _total++;
    }

    public SlotCalibration Estimate()
    {
        if (_total < 10) return SlotCalibration.None;
        var want = Math.Max(3, _total / 20);
        long n = 0;
        double r = 0, g = 0, b = 0, c = 0, cc = 0;
        for (var i = 0; i < Bins && n < want; i++)
        {
            n += _count[i];
            (r, g, b, c, cc) = (r + _r[i], g + _g[i], b + _b[i], c + _c[i], cc + _cc[i]);
        }
        long seen = 0;
        var top = 0.0;
        for (var i = 0; i < Bins; i++)
        {
            seen += _count[i];
            if (seen > _total * 0.95) { top = _count[i] == 0 ? 0 : _c[i] / _count[i]; break; }
        }
        var darkC = c / n;
        var noise = Math.Sqrt(Math.Max(0, cc / n - darkC * darkC));
        if (!LedClassifier.DarkStandsApart(darkC, noise, top)) return SlotCalibration.None;
        return new SlotCalibration(-1, r / n, g / n, b / n, darkC, noise, 1, 0);
    }
}
