namespace HilRig.Core.Led;

/// <summary>
/// One raw colour-sensor reading of a slot: counts as the TCS34725 reports them, with the gain and integration
/// time they were taken at. <see cref="Time"/> is when the reading was taken (end of the integration window).
/// </summary>
public readonly record struct LedSample(TimeSpan Time, ushort R, ushort G, ushort B, ushort C, int Gain, double IntegrationMs)
{
    /// <summary>Full-scale count for this integration time: min(65535, cycles x 1024) with 2.4 ms cycles.</summary>
    public int MaxCount => Math.Min(65535, (int)Math.Round(IntegrationMs / 2.4) * 1024);

    public bool Saturated => C >= MaxCount || R >= MaxCount || G >= MaxCount || B >= MaxCount;
}

/// <summary>One stretch of time in one LED state.</summary>
public sealed record LedSegment(TimeSpan Start, TimeSpan End, LedState State, double Confidence)
{
    public TimeSpan Duration => End - Start;

    public override string ToString() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Start.TotalSeconds:0.0}-{End.TotalSeconds:0.0} s {State}");
}

/// <summary>What a slot's LED did, as segments in time order: the evidence a verdict carries.</summary>
public sealed class LedTimeline
{
    public static readonly LedTimeline Empty = new([]);

    public LedTimeline(IReadOnlyList<LedSegment> segments)
    {
        Segments = segments;
    }

    public IReadOnlyList<LedSegment> Segments { get; }

    public LedSegment? Current => Segments.Count == 0 ? null : Segments[^1];

    /// <summary>"0.0-3.0 s off, 3.0-9.9 s flashing yellow".</summary>
    public override string ToString() => Segments.Count == 0 ? "(no LED samples)" : string.Join(", ", Segments);
}
