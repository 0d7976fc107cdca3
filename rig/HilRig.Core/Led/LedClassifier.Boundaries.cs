namespace HilRig.Core.Led;

/// <summary>
/// Where one state turns into the next, the firmware's timing places the boundary that the light alone leaves open:
/// a flashing pattern starts with its LED on (the Core sets the colour, then toggles), so after a solid of its own
/// colour its first blink is the solid's last toggle; panic.c repeats whole rounds, so an SOS entered in one of its
/// pauses ends in the same pause.
/// </summary>
public sealed partial class LedClassifier
{
    /// <summary>panic.c's pauses: after the code's last blink 300 + 800 ms; after the signature's last blink 100 + 900 ms.</summary>
    private static readonly TimeSpan PauseAfterCode = TimeSpan.FromMilliseconds(1100);
    private static readonly TimeSpan PauseAfterSignature = TimeSpan.FromMilliseconds(1000);

    /// <summary>
    /// The pause an SOS was entered in, when it begins with a whole group and ends with a whole group that this pause
    /// separates (signature first and code last: the pause after the code; code first and signature last: the pause
    /// after the signature). Null when it was entered inside a blink group.
    /// </summary>
    private static TimeSpan? EnteredInPause(List<Pulse> pulses, (int From, int To, SosGroup Kind) first, (int From, int To, SosGroup Kind) last, int? code, bool cutLast)
    {
        if (first.From == last.From) return null;
        bool WholeSignature((int From, int To, SosGroup Kind) g) => g.Kind == SosGroup.Signature && g.To - g.From == SignatureLong.Length - 1;
        bool WholeCode((int From, int To, SosGroup Kind) g) => g.Kind == SosGroup.Code && code is { } c && g.To - g.From + 1 == c
            && SosLong(pulses[g.From]) && SosLong(pulses[g.To]);
        if (WholeSignature(first) && WholeCode(last) && !cutLast) return PauseAfterCode;
        if (WholeCode(first) && WholeSignature(last)) return PauseAfterSignature;
        return null;
    }

    /// <summary>
    /// The dark before the SOS's first blink (the rest after its last is the pause less that): a lit neighbour closer
    /// than the pause on either side fixes it; with dark on both sides (off before and after) it is unknown, and the
    /// middle of what both sides allow halves the worst error.
    /// </summary>
    private static TimeSpan SplitPause(TimeSpan pause, TimeSpan darkBefore, TimeSpan darkAfter)
    {
        var slack = TimeSpan.FromMilliseconds(60);
        var hi = Min(pause, darkBefore < TimeSpan.Zero ? TimeSpan.Zero : darkBefore);
        var lo = darkAfter == TimeSpan.MaxValue ? TimeSpan.Zero : pause - darkAfter;
        if (lo < TimeSpan.Zero) lo = TimeSpan.Zero;
        if (lo > hi) return hi;
        // a neighbour that starts lit right after the SOS (or ended lit right before it) pins the split
        if (darkAfter <= pause + slack) return lo;
        if (darkBefore <= pause + slack) return hi;
        return (lo + hi) / 2;
    }

    /// <summary>
    /// A flashing pattern right after a solid (or an SOS) of its own colour: its first blink is lit from the solid's
    /// end, so the first dark seen is its first off toggle and the state began one toggle before that dark, two
    /// toggles before the first rise seen. What is left of the solid under <see cref="SolidMin"/> is the end of the
    /// state before it when that is of the same colour (an SOS's last code blink).
    /// </summary>
    private static List<LedSegment> FlashingEnteredLit(List<LedSegment> segments)
    {
        var result = new List<LedSegment>(segments);
        for (var k = 1; k < result.Count; k++)
        {
            var s = result[k];
            if (s.State.Pattern is not (LedPattern.Flashing or LedPattern.FastFlashing) || s.State.Period is not { } toggle) continue;
            var gapIndex = k - 1;
            var gap = TimeSpan.Zero;
            if (result[gapIndex].State.Pattern == LedPattern.Off)
            {
                gap = result[gapIndex].Duration;
                gapIndex--;
            }
            if (gapIndex < 0) continue;
            var lit = result[gapIndex];
            if (lit.State.Color != s.State.Color || lit.State.Pattern is not (LedPattern.Solid or LedPattern.Sos)) continue;
            // the dark seen between them is one off toggle (under OffMin it was given to the solid); an SOS's tail is
            // its pause, so only a dark of its own after the SOS's last blink is a toggle
            if (gap == TimeSpan.Zero && lit.State.Pattern == LedPattern.Sos) continue;
            if (gap > TimeSpan.Zero && Math.Abs(gap.TotalMilliseconds - toggle.TotalMilliseconds) > 0.35 * toggle.TotalMilliseconds) continue;
            var boundary = s.Start - 2 * toggle;
            if (boundary <= lit.Start) continue;
            result[k] = s with { Start = boundary };
            if (gapIndex < k - 1) result.RemoveAt(k - 1);
            if (lit.State.Pattern == LedPattern.Solid && boundary - lit.Start < SolidMin && gapIndex > 0
                && result[gapIndex - 1].State.Color == lit.State.Color && result[gapIndex - 1].End >= lit.Start)
            {
                result[gapIndex - 1] = result[gapIndex - 1] with { End = boundary };
                result.RemoveAt(gapIndex);
            }
            else result[gapIndex] = lit with { End = boundary };
            k = Math.Min(k, result.Count - 1);
        }
        return result;
    }
}
