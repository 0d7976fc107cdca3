using System.Globalization;

namespace HilRig.Core.Led;

/// <summary>
/// Raw colour-sensor traces as CSV: header <c>time_ms,r,g,b,c,gain,integration_ms</c>, one reading per line; lines
/// starting with '#' are comments. An optional comment <c># dark r=.. g=.. b=.. c=.. noise_c=..</c> carries the
/// slot's dark calibration in counts per ms at 1x gain (and optionally <c>lit_c=</c>, the clear level of solid white).
/// </summary>
public static class TraceCsv
{
    public const string Header = "time_ms,r,g,b,c,gain,integration_ms";

    public static void Write(TextWriter writer, IEnumerable<LedSample> samples, SlotCalibration? calibration = null)
    {
        if (calibration is { } cal)
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"# dark r={cal.DarkR:0.####} g={cal.DarkG:0.####} b={cal.DarkB:0.####} c={cal.DarkC:0.####} noise_c={cal.DarkNoiseC:0.####} lit_c={cal.LitC:0.####}"));
        writer.WriteLine(Header);
        foreach (var s in samples)
            writer.WriteLine(Line(s));
    }

    /// <summary>One sample as a CSV line (no newline).</summary>
    public static string Line(LedSample s) =>
        string.Create(CultureInfo.InvariantCulture, $"{s.Time.TotalMilliseconds:0.###},{s.R},{s.G},{s.B},{s.C},{s.Gain},{s.IntegrationMs:0.###}");

    public static void Write(string path, IEnumerable<LedSample> samples, SlotCalibration? calibration = null)
    {
        using var writer = new StreamWriter(path);
        Write(writer, samples, calibration);
    }

    public static LedTrace Read(string path)
    {
        if (!File.Exists(path)) throw new TraceFormatException($"{path}: no such trace file");
        using var reader = new StreamReader(path);
        return Read(reader, path);
    }

    public static LedTrace Read(TextReader reader, string name)
    {
        SlotCalibration? calibration = null;
        var samples = ReadSamples(reader, name, c => calibration = c).ToList();
        return new LedTrace(samples, calibration);
    }

    /// <summary>
    /// The samples of a trace one at a time, checked as <see cref="Read(TextReader, string)"/> checks them, so a trace of
    /// any length is read in constant memory; a <c># dark</c> line is handed to <paramref name="onCalibration"/> when met.
    /// </summary>
    public static IEnumerable<LedSample> ReadSamples(TextReader reader, string name, Action<SlotCalibration>? onCalibration = null)
    {
        var headerSeen = false;
        var lineNumber = 0;
        var previous = TimeSpan.MinValue;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            var text = line.Trim();
            if (text.Length == 0) continue;
            if (text.StartsWith('#'))
            {
                if (text.StartsWith("# dark ", StringComparison.Ordinal)) onCalibration?.Invoke(ParseDark(text, name, lineNumber));
                continue;
            }
            if (!headerSeen)
            {
                if (!string.Equals(text.Replace(" ", "", StringComparison.Ordinal), Header, StringComparison.OrdinalIgnoreCase))
                    throw new TraceFormatException($"{name}:{lineNumber}: header is '{text}'; expected '{Header}'");
                headerSeen = true;
                continue;
            }
            var fields = text.Split(',');
            if (fields.Length != 7)
                throw new TraceFormatException($"{name}:{lineNumber}: {fields.Length} fields; expected 7 ({Header})");
            var timeMs = ParseDouble(fields[0], "time_ms", name, lineNumber);
            if (timeMs < 0) throw new TraceFormatException($"{name}:{lineNumber}: field 'time_ms' is {fields[0]}; expected a time >= 0");
            var time = TimeSpan.FromMilliseconds(timeMs);
            if (time < previous)
                throw new TraceFormatException($"{name}:{lineNumber}: field 'time_ms' is {fields[0]}, earlier than the line before; samples must be in time order");
            previous = time;
            var gain = (int)ParseCount(fields[5], "gain", name, lineNumber);
            if (gain is not (1 or 4 or 16 or 60))
                throw new TraceFormatException($"{name}:{lineNumber}: field 'gain' is {fields[5]}; expected 1, 4, 16 or 60");
            var integration = ParseDouble(fields[6], "integration_ms", name, lineNumber);
            if (integration is < 2.4 - 1e-9 or > 614.4 + 1e-9)
                throw new TraceFormatException($"{name}:{lineNumber}: field 'integration_ms' is {fields[6]}; expected 2.4 .. 614.4");
            yield return new LedSample(time,
                ParseCount(fields[1], "r", name, lineNumber), ParseCount(fields[2], "g", name, lineNumber),
                ParseCount(fields[3], "b", name, lineNumber), ParseCount(fields[4], "c", name, lineNumber), gain, integration);
        }
        if (!headerSeen) throw new TraceFormatException($"{name}: empty trace; expected the header '{Header}'");
    }

    private static SlotCalibration ParseDark(string text, string name, int lineNumber)
    {
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var pair in text["# dark ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = pair.Split('=');
            if (parts.Length != 2 || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || v < 0)
                throw new TraceFormatException($"{name}:{lineNumber}: dark calibration entry '{pair}'; expected key=number >= 0 (r, g, b, c, noise_c)");
            values[parts[0]] = v;
        }
        double Get(string key) => values.TryGetValue(key, out var v)
            ? v
            : throw new TraceFormatException($"{name}:{lineNumber}: dark calibration lacks '{key}'; expected r, g, b, c and noise_c");
        return new SlotCalibration(-1, Get("r"), Get("g"), Get("b"), Get("c"), Get("noise_c"), 1, 0, values.GetValueOrDefault("lit_c"));
    }

    private static double ParseDouble(string field, string column, string name, int lineNumber) =>
        double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value)
            ? value
            : throw new TraceFormatException($"{name}:{lineNumber}: field '{column}' is '{field}'; expected a number");

    private static ushort ParseCount(string field, string column, string name, int lineNumber) =>
        ushort.TryParse(field, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new TraceFormatException($"{name}:{lineNumber}: field '{column}' is '{field}'; expected a whole count 0..65535");
}

public sealed record LedTrace(IReadOnlyList<LedSample> Samples, SlotCalibration? Calibration);

public sealed class TraceFormatException : Exception
{
    public TraceFormatException() { }

    public TraceFormatException(string message) : base(message) { }

    public TraceFormatException(string message, Exception inner) : base(message, inner) { }
}
