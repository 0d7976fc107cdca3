using System.Globalization;
using System.Net;
using System.Text;
using HilRig.Reports.Statistics;

namespace HilRig.Reports.Html;

/// <summary>Charts drawn as inline SVG on the server: no script, no external file, so a saved page is the whole report.</summary>
public static class Svg
{
    private static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    private static string E(string s) => WebUtility.HtmlEncode(s);

    /// <summary>
    /// One row per item: a dot at the rate, a whisker for its interval, a grey tick at its own p-chart upper limit,
    /// and a dashed line at the pooled rate. Flagged items are red.
    /// </summary>
    public static string IntervalChart(string title, IReadOnlyList<(string Label, double Rate, double Lower, double Upper, double? Limit, bool Flagged)> items, double? pooled, Func<double, string> axisLabel)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(axisLabel);
        const int labelWidth = 150, plotWidth = 560, rowHeight = 18, top = 28, bottom = 30;
        var height = top + (items.Count * rowHeight) + bottom;
        var dataMax = items.Select(i => Math.Max(i.Upper, i.Limit ?? 0)).Append(pooled ?? 0).DefaultIfEmpty(0).Max();
        var ticks = NiceTicks(dataMax);
        var max = ticks[^1];
        double X(double v) => labelWidth + (Math.Clamp(v, 0, max) / max * plotWidth);
        // an axis whose labels are percentages gets its ticks in whole percent steps (10 %, not 0.1)
        var percent = axisLabel(1).EndsWith('%');
        var step = ticks.Count > 1 ? ticks[1] - ticks[0] : max;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" class=\"chart\" width=\"{labelWidth + plotWidth + 20}\" height=\"{height}\" viewBox=\"0 0 {labelWidth + plotWidth + 20} {height}\">");
        sb.Append(CultureInfo.InvariantCulture, $"<title>{E(title)}</title><text x=\"4\" y=\"16\" font-size=\"13\" font-weight=\"bold\">{E(title)}</text>");
        foreach (var v in ticks)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(X(v))}\" y1=\"{top - 4}\" x2=\"{F(X(v))}\" y2=\"{height - bottom + 4}\" stroke=\"#e5e5e5\"/>");
            sb.Append(CultureInfo.InvariantCulture, $"<text class=\"tick\" x=\"{F(X(v))}\" y=\"{height - 10}\" font-size=\"11\" text-anchor=\"middle\">{E(TickLabel(v, step, percent))}</text>");
        }
        if (pooled is { } p)
            sb.Append(CultureInfo.InvariantCulture, $"<line class=\"pooled\" x1=\"{F(X(p))}\" y1=\"{top - 4}\" x2=\"{F(X(p))}\" y2=\"{height - bottom + 4}\" stroke=\"#555\" stroke-dasharray=\"4 3\"><title>pooled {E(axisLabel(p))}</title></line>");
        for (var i = 0; i < items.Count; i++)
        {
            var it = items[i];
            var y = top + (i * rowHeight) + (rowHeight / 2.0);
            var colour = it.Flagged ? "#c62828" : "#1f5fa8";
            sb.Append(CultureInfo.InvariantCulture, $"<g class=\"row{(it.Flagged ? " flagged" : "")}\"><title>{E(it.Label)}: {E(axisLabel(it.Rate))} [{E(axisLabel(it.Lower))}, {E(axisLabel(it.Upper))}]</title>");
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{labelWidth - 6}\" y=\"{F(y + 4)}\" font-size=\"11\" text-anchor=\"end\" fill=\"{colour}\">{E(it.Label)}</text>");
            sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(X(it.Lower))}\" y1=\"{F(y)}\" x2=\"{F(X(it.Upper))}\" y2=\"{F(y)}\" stroke=\"{colour}\" stroke-width=\"2\"/>");
            sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(X(it.Lower))}\" y1=\"{F(y - 4)}\" x2=\"{F(X(it.Lower))}\" y2=\"{F(y + 4)}\" stroke=\"{colour}\"/><line x1=\"{F(X(it.Upper))}\" y1=\"{F(y - 4)}\" x2=\"{F(X(it.Upper))}\" y2=\"{F(y + 4)}\" stroke=\"{colour}\"/>");
            if (it.Limit is { } limit)
                sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(X(limit))}\" y1=\"{F(y - 6)}\" x2=\"{F(X(limit))}\" y2=\"{F(y + 6)}\" stroke=\"#999\" stroke-width=\"2\"/>");
            sb.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{F(X(it.Rate))}\" cy=\"{F(y)}\" r=\"4\" fill=\"{colour}\"/></g>");
        }
        sb.Append("</svg>");
        return sb.ToString();
    }

    /// <summary>
    /// Axis ticks from 0 to at least <paramref name="max"/> at a round step: 1, 2 or 5 times a power of ten, the
    /// smallest giving at most <paramref name="most"/> intervals (Heckbert's nice numbers), so an axis reads 0, 10, 20 %
    /// rather than 0, 13.5, 26.9 %. An empty or zero range gets 0 to 1 in the same steps.
    /// </summary>
    public static IReadOnlyList<double> NiceTicks(double max, int most = 5)
    {
        if (!(max > 0) || double.IsInfinity(max)) max = 1;
        var raw = max / most;
        var power = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var step = new[] { 1.0, 2, 5, 10 }.Select(m => m * power).First(s => s >= raw * (1 - 1e-9));
        var count = (int)Math.Ceiling((max / step) - 1e-9);
        // round each tick to the step's decimals so 0.1 * 3 is 0.3, not 0.30000000000000004
        var decimals = Math.Clamp(-(int)Math.Floor(Math.Log10(step)) + 1, 0, 15);
        return [.. Enumerable.Range(0, count + 1).Select(i => Math.Round(i * step, decimals))];
    }

    /// <summary>A tick as short as its step allows: "20 %", "2.5 %", "0.4 %"; plain numbers the same way.</summary>
    public static string TickLabel(double value, double step, bool percent)
    {
        var scaled = percent ? value * 100 : value;
        var scaledStep = percent ? step * 100 : step;
        var decimals = scaledStep >= 1 ? 0 : Math.Clamp(-(int)Math.Floor(Math.Log10(scaledStep) + 1e-9), 0, 6);
        var text = scaled.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        return percent ? text + " %" : text;
    }

    public static string LotChart(IReadOnlyList<LotFailureRate> lots, double pooled) => IntervalChart(
        "Failure rate by lot: Wilson 95 % interval, grey tick = p-chart limit, dashed = fleet",
        [.. lots.Select(l => (l.Lot, l.Wilson.Point, l.Wilson.Lower, l.Wilson.Upper, (double?)l.PChart.UpperLimit, l.Flagged))],
        pooled, Percent);

    public static string Percent(double v) => (v * 100).ToString(v < 0.01 && v > 0 ? "0.00" : "0.0", CultureInfo.InvariantCulture) + " %";

    /// <summary>Bars of error bits per bit position 0-7 (a stuck data line shows as one tall bar).</summary>
    public static string BitPositions(IReadOnlyList<long> counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        const int w = 36, h = 120, top = 24;
        var max = Math.Max(1, counts.DefaultIfEmpty(0).Max());
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"{(8 * w) + 20}\" height=\"{h + top + 24}\"><text x=\"4\" y=\"14\" font-size=\"12\" font-weight=\"bold\">Error bits by bit position</text>");
        for (var i = 0; i < 8 && i < counts.Count; i++)
        {
            var bh = counts[i] * (double)h / max;
            sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{10 + (i * w)}\" y=\"{F(top + h - bh)}\" width=\"{w - 6}\" height=\"{F(bh)}\" fill=\"#1f5fa8\"><title>bit {i}: {counts[i]}</title></rect>");
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{10 + (i * w) + ((w - 6) / 2)}\" y=\"{top + h + 14}\" font-size=\"11\" text-anchor=\"middle\">{i}</text>");
        }
        sb.Append("</svg>");
        return sb.ToString();
    }

    /// <summary>The image regions 0x20000-0x7FFFF as a grid of 4 KiB sectors: orange = bit errors, dark red = does not erase.</summary>
    public static string SectorMap(IReadOnlyCollection<uint> badSectors, IReadOnlyCollection<uint> eraseFailed)
    {
        ArgumentNullException.ThrowIfNull(badSectors);
        ArgumentNullException.ThrowIfNull(eraseFailed);
        const uint start = 0x20000, end = 0x80000, sector = 4096;
        const int perRow = 32, cell = 12;
        var count = (int)((end - start) / sector);
        var rows = count / perRow;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart sectors\" width=\"{(perRow * cell) + 70}\" height=\"{(rows * cell) + 24}\"><text x=\"4\" y=\"14\" font-size=\"12\" font-weight=\"bold\">SPI flash sectors 0x020000-0x07FFFF</text>");
        for (var i = 0; i < count; i++)
        {
            var address = start + ((uint)i * sector);
            var fill = eraseFailed.Contains(address) ? "#8b0000" : badSectors.Contains(address) ? "#f39c12" : "#e8efe8";
            var x = 66 + (i % perRow * cell);
            var y = 20 + (i / perRow * cell);
            if (i % perRow == 0)
                sb.Append(CultureInfo.InvariantCulture, $"<text x=\"2\" y=\"{y + 10}\" font-size=\"9\">0x{address:X6}</text>");
            sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x}\" y=\"{y}\" width=\"{cell - 1}\" height=\"{cell - 1}\" fill=\"{fill}\"><title>0x{address:X6}</title></rect>");
        }
        sb.Append("</svg>");
        return sb.ToString();
    }

    /// <summary>LED states over time as coloured bands (the state's colour word picks the fill).</summary>
    public static string LedTimeline(IReadOnlyList<(double AtMs, string State)> states, double endMs)
    {
        ArgumentNullException.ThrowIfNull(states);
        const int width = 600, h = 26;
        var span = Math.Max(1, endMs - states.DefaultIfEmpty((0, "")).First().AtMs);
        var origin = states.Count > 0 ? states[0].AtMs : 0;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart led\" width=\"{width + 10}\" height=\"{h + 36}\"><text x=\"4\" y=\"14\" font-size=\"12\" font-weight=\"bold\">LED timeline ({F(span / 1000)} s)</text>");
        for (var i = 0; i < states.Count; i++)
        {
            var from = states[i].AtMs - origin;
            var to = (i + 1 < states.Count ? states[i + 1].AtMs : endMs) - origin;
            var x = 4 + (from / span * width);
            var w = Math.Max(1, (to - from) / span * width);
            sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{F(x)}\" y=\"20\" width=\"{F(w)}\" height=\"{h}\" fill=\"{LedFill(states[i].State)}\" stroke=\"#333\" stroke-width=\"0.5\"><title>{E(states[i].State)} from {F(from / 1000)} s</title></rect>");
        }
        sb.Append("</svg>");
        return sb.ToString();
    }

    private static string LedFill(string state)
    {
        var s = state.ToLowerInvariant();
        foreach (var (word, fill) in new[] { ("off", "#222"), ("white", "#f5f5f5"), ("yellow", "#f1c40f"), ("cyan", "#1abc9c"), ("magenta", "#c0399f"), ("green", "#27ae60"), ("blue", "#2e6bd1"), ("red", "#d32f2f"), ("orange", "#e67e22") })
            if (s.Contains(word, StringComparison.Ordinal)) return fill;
        return "#bbb";
    }
}
