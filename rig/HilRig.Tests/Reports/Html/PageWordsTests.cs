using HilRig.Reports.Html;
using HilRig.Reports.Queries;
using HilRig.Reports.Statistics;

namespace HilRig.Tests.Reports;

/// <summary>How the pages say numbers and filters: round axis ticks, the sample-size warning, headers in words, dates.</summary>
public class PageWordsTests
{
    [TestCase(0.269, new[] { 0, 0.1, 0.2, 0.3 })]
    [TestCase(0.49, new[] { 0, 0.1, 0.2, 0.3, 0.4, 0.5 })]
    [TestCase(0.0123, new[] { 0, 0.005, 0.01, 0.015 })]
    [TestCase(1.0, new[] { 0, 0.2, 0.4, 0.6, 0.8, 1.0 })]
    [TestCase(37.0, new[] { 0, 10.0, 20, 30, 40 })]
    [TestCase(0.0, new[] { 0, 0.2, 0.4, 0.6, 0.8, 1.0 })]
    public void Axis_ticks_are_round_steps_from_zero_past_the_largest_value(double max, double[] expected) =>
        Assert.That(Svg.NiceTicks(max), Is.EqualTo(expected).Within(1e-12));

    [TestCase(0.2, 0.1, true, "20 %")]
    [TestCase(0.015, 0.005, true, "1.5 %")]
    [TestCase(0.004, 0.002, true, "0.4 %")]
    [TestCase(40.0, 10.0, false, "40")]
    [TestCase(1.5, 0.5, false, "1.5")]
    public void A_tick_label_is_as_short_as_its_step_allows(double value, double step, bool percent, string expected) =>
        Assert.That(Svg.TickLabel(value, step, percent), Is.EqualTo(expected));

    [Test]
    public void Four_units_are_too_few_to_judge_and_four_hundred_are_not()
    {
        var four = LotReport.Build([new GroupCount("tiny", 0, 4)])[0];
        Assert.That(SampleSize.Warning(four.Units, four.Wilson), Is.EqualTo("n=4: too few units to judge, interval 0-49 %"));
        var many = LotReport.Build([new GroupCount("big", 8, 400)])[0];
        Assert.That(SampleSize.Warning(many.Units, many.Wilson), Is.Null);
    }

    [TestCase("failureMode", "Failure mode")]
    [TestCase("defectKind", "Defect kind")]
    [TestCase("signature", "Signature")]
    [TestCase("deviceTimeMs", "Device time ms")]
    public void A_field_name_becomes_a_header_in_words(string name, string header) =>
        Assert.That(ReportTables.Words(name), Is.EqualTo(header));

    [Test]
    public void A_date_as_to_means_the_end_of_that_day_and_a_time_means_that_minute()
    {
        Assert.That(ResultFilter.TryParse("2026-03-01", "2026-03-14", " rig-a ", "", out var f, out _), Is.True);
        Assert.That((f.From, f.ToExclusive, f.Rig, f.Line), Is.EqualTo((
            (DateTimeOffset?)new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero), (DateTimeOffset?)new DateTimeOffset(2026, 3, 15, 0, 0, 0, TimeSpan.Zero), "rig-a", (string?)null)));
        Assert.That(f.Query(), Is.EqualTo("from=2026-03-01&to=2026-03-14&rig=rig-a"));
        Assert.That(ResultFilter.TryParse(null, "2026-03-14T08:30", null, null, out var t, out _), Is.True);
        Assert.That(t.ToExclusive, Is.EqualTo(new DateTimeOffset(2026, 3, 14, 8, 30, 0, TimeSpan.Zero)));
        Assert.That(ResultFilter.TryParse("14/03/2026", null, null, null, out _, out var problem), Is.False);
        Assert.That(problem, Is.EqualTo("from '14/03/2026': valid: a UTC date such as 2026-03-14 or a UTC time such as 2026-03-14T08:00"));
        Assert.That(ResultFilter.TryParse(null, null, null, null, out var none, out _) && none.IsEmpty, Is.True);
    }
}
