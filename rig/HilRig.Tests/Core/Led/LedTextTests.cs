using HilRig.Core.Led;

namespace HilRig.Tests.Led;

public class LedTextTests
{
    private static LedSegment Seg(double from, double to, LedState state) =>
        new(TimeSpan.FromSeconds(from), TimeSpan.FromSeconds(to), state, 1);

    [Test]
    public void A_timeline_prints_as_users_read_it()
    {
        var timeline = new LedTimeline([
            Seg(0, 3, LedState.Dark),
            Seg(3, 9.94, new LedState(LedColor.Yellow, LedPattern.Flashing, TimeSpan.FromMilliseconds(101))),
            Seg(9.94, 14, new LedState(LedColor.Cyan, LedPattern.Breathing)),
            Seg(14, 20, new LedState(LedColor.Red, LedPattern.Sos, SosCode: 8)),
        ]);
        Assert.That(timeline.ToString(), Is.EqualTo("0.0-3.0 s off, 3.0-9.9 s flashing yellow, 9.9-14.0 s breathing cyan, 14.0-20.0 s SOS 8 (red)"));
    }

    [TestCase("flashing yellow", LedColor.Yellow, LedPattern.Flashing)]
    [TestCase("Breathing Cyan", LedColor.Cyan, LedPattern.Breathing)]
    [TestCase("fast flashing white", LedColor.White, LedPattern.FastFlashing)]
    [TestCase("solid orange", LedColor.Orange, LedPattern.Solid)]
    [TestCase("off", LedColor.Off, LedPattern.Off)]
    [TestCase("white fade", LedColor.White, LedPattern.Fade)]
    public void States_parse_from_the_words_users_say(string text, LedColor colour, LedPattern pattern)
    {
        var state = LedState.Parse(text);
        Assert.That((state.Color, state.Pattern), Is.EqualTo((colour, pattern)));
        Assert.That(LedState.Parse(state.ToString()), Is.EqualTo(state), "round trip");
    }

    [Test]
    public void An_unknown_state_name_says_what_would_be_valid()
    {
        var ex = Assert.Throws<FormatException>(() => LedState.Parse("blinking purple"));
        Assert.That(ex!.Message, Does.Contain("'blinking purple'").And.Contain("flashing").And.Contain("magenta"));
    }

    [Test]
    public void Matching_ignores_the_period_unless_asked_and_then_allows_35_percent()
    {
        var seen = new LedState(LedColor.Yellow, LedPattern.Flashing, TimeSpan.FromMilliseconds(104));
        Assert.Multiple(() =>
        {
            Assert.That(LedState.Parse("flashing yellow").Matches(seen), Is.True);
            Assert.That(new LedState(LedColor.Yellow, LedPattern.Flashing, TimeSpan.FromMilliseconds(100)).Matches(seen), Is.True);
            Assert.That(new LedState(LedColor.Yellow, LedPattern.Flashing, TimeSpan.FromMilliseconds(250)).Matches(seen), Is.False);
            Assert.That(LedState.Parse("flashing magenta").Matches(seen), Is.False);
            Assert.That(LedState.Parse("SOS 3").Matches(new LedState(LedColor.Red, LedPattern.Sos, SosCode: 8)), Is.False);
            Assert.That(LedState.Parse("SOS").Matches(new LedState(LedColor.Red, LedPattern.Sos, SosCode: 8)), Is.True);
        });
    }
}
