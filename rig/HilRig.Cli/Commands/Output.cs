using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace HilRig.Cli.Commands;

internal static class Json
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };
}

/// <summary>
/// The header every JSON export of a run starts with (`{ "run": {...}, ... }`): screen, soak and runs show say the same
/// thing the same way.
/// </summary>
internal sealed record RunHeader(Guid Id, string Kind, string Status, string RigId, int? Seed, string? Bootloader, DateTimeOffset StartedAt, DateTimeOffset? EndedAt, string Store);

internal static class Csv
{
    /// <summary>
    /// RFC 4180 quoting: fields with a comma, quote or line break are quoted, quotes doubled; a field a spreadsheet
    /// would run as a formula gets a leading quote first (text fields only: lots, signatures).
    /// </summary>
    public static string Escape(string? field)
    {
        if (string.IsNullOrEmpty(field)) return "";
        field = HilRig.Reports.Html.ReportTable.DefuseFormula(field);
        return field.AsSpan().IndexOfAny(",\"\r\n") < 0 ? field : $"\"{field.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
    }

    /// <summary>A header line and one line per row, from the rows' public properties (nested values as JSON).</summary>
    public static string Records<T>(IEnumerable<T> rows)
    {
        var properties = typeof(T).GetProperties();
        var sb = new StringBuilder();
        sb.Append(string.Join(",", properties.Select(p => JsonNamingPolicy.CamelCase.ConvertName(p.Name)))).Append('\n');
        foreach (var row in rows)
            sb.Append(string.Join(",", properties.Select(p => Field(p.GetValue(row))))).Append('\n');
        return sb.ToString();
    }

    private static string Field(object? value) => value switch
    {
        null => "",
        string s => Escape(s),
        DateTimeOffset t => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
        TimeSpan t => t.TotalMilliseconds.ToString(CultureInfo.InvariantCulture),
        IFormattable f when value is not System.Collections.IEnumerable => f.ToString(null, CultureInfo.InvariantCulture),
        _ => Escape(JsonSerializer.Serialize(value, Json.Options).ReplaceLineEndings("").Replace("  ", "", StringComparison.Ordinal)),
    };
}

/// <summary>
/// What a writer is attached to: its width in columns and whether colour may be used. COLUMNS wins; a terminal says
/// its own width; anything else (a pipe, a file, a test's StringWriter) is 80 columns. Colour only on a terminal,
/// never with NO_COLOR set or TERM=dumb.
/// </summary>
internal static class Terminal
{
    public const int DefaultWidth = 80;

    /// <summary>The writer under a <see cref="WrappingWriter"/>.</summary>
    public static TextWriter Unwrap(TextWriter writer) => writer is WrappingWriter w ? w.Inner : writer;

    public static bool IsTerminal(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var inner = Unwrap(writer);
        return (ReferenceEquals(inner, Console.Out) && !Console.IsOutputRedirected)
            || (ReferenceEquals(inner, Console.Error) && !Console.IsErrorRedirected);
    }

    public static int Width(TextWriter writer)
    {
        if (int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), NumberStyles.None, CultureInfo.InvariantCulture, out var columns) && columns >= 20)
            return columns;
        if (IsTerminal(writer))
        {
            try
            {
                if (Console.WindowWidth >= 20) return Console.WindowWidth;
            }
            catch (IOException)
            {
                // no terminal size to ask for after all
            }
        }
        return DefaultWidth;
    }

    public static bool Colour(TextWriter writer) =>
        IsTerminal(writer)
        && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"))
        && Environment.GetEnvironmentVariable("TERM") is not (null or "" or "dumb");

    /// <summary>A verdict's word, in green, red or yellow where colour is allowed.</summary>
    public static string Verdict(TextWriter writer, string verdict, int pad = 0)
    {
        var text = verdict.PadRight(pad);
        if (!Colour(writer)) return text;
        var code = verdict switch { "pass" => "32", "fail" => "31", _ => "33" };
        return $"\u001b[{code}m{text}\u001b[0m";
    }
}

/// <summary>
/// Human text to a width: every line longer than the width is broken at spaces (continuation indented two columns);
/// a word longer than the width stays whole (a path, a connection string), and a line with escape codes or a carriage
/// return (a live view, a transfer bar: already fitted) passes as it is, and so does a problem line ("hilrig: ...",
/// one line per problem by the project's rule). The CLI puts it on the error stream always,
/// and on standard output unless the output is for machines (json, csv, html, a completion script).
/// </summary>
internal sealed class WrappingWriter(TextWriter inner) : TextWriter
{
    private readonly System.Text.StringBuilder _line = new();

    // slots report from their own threads: a line is assembled and written whole under this lock
    private readonly Lock _gate = new();

    public TextWriter Inner { get; } = inner;

    public override System.Text.Encoding Encoding => Inner.Encoding;

    public override void Write(char value)
    {
        lock (_gate) WriteChar(value);
    }

    public override void WriteLine(string? value)
    {
        lock (_gate)
        {
            Write(value);
            Write(CoreNewLine);
        }
    }

    public override void Write(char[] buffer, int index, int count)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        lock (_gate)
            for (var i = index; i < index + count; i++) WriteChar(buffer[i]);
    }

    private void WriteChar(char value)
    {
        if (value != '\n')
        {
            _line.Append(value);
            return;
        }
        var line = _line.ToString();
        _line.Clear();
        var width = Terminal.Width(Inner);
        // a problem ("hilrig: ..." or "file:line:column: ...") stays one line whatever its length: one line per
        // problem is the rule for bad input
        if (line.Length <= width || IsProblem(line)
            || line.Contains('\u001b', StringComparison.Ordinal) || line.Contains('\r', StringComparison.Ordinal))
        {
            Inner.Write(line);
            Inner.Write('\n');
            return;
        }
        foreach (var part in TextWrap.Break(line, width, "  ")) Inner.Write(part + "\n");
    }

    /// <summary>A problem line: "hilrig: ..." or a place in a file, "rig.yaml:12:3: ..." / "lots.csv:4: ...".</summary>
    internal static bool IsProblem(string line)
    {
        if (line.StartsWith("hilrig: ", StringComparison.Ordinal)) return true;
        var colon = line.IndexOf(": ", StringComparison.Ordinal);
        if (colon <= 0 || line.AsSpan(0, colon).Contains(' ')) return false;
        var place = line[..colon].Split(':');
        return place.Length is 2 or 3 && place[0].Length > 0 && place.Skip(1).All(p => p.Length > 0 && p.All(char.IsAsciiDigit));
    }

    public override void Write(string? value)
    {
        if (value is null) return;
        lock (_gate)
        {
            // a live redraw or a bar is written as it comes: nothing to wait for a line end
            if (_line.Length == 0 && (value.Contains('\u001b', StringComparison.Ordinal) || value.Contains('\r', StringComparison.Ordinal)) && !value.Contains('\n', StringComparison.Ordinal))
            {
                Inner.Write(value);
                return;
            }
            foreach (var c in value) WriteChar(c);
        }
    }

    public override void Flush()
    {
        lock (_gate)
        {
            if (_line.Length > 0)
            {
                Inner.Write(_line.ToString());
                _line.Clear();
            }
            Inner.Flush();
        }
    }
}

/// <summary>Plain-text wrapping at spaces; a word longer than the line is cut with an ellipsis (its full value is in --format json).</summary>
internal static class TextWrap
{
    public static IReadOnlyList<string> Lines(string? text, int width) => Lines(text, width, width);

    /// <summary>Lines of at most <paramref name="first"/> columns, then at most <paramref name="rest"/>.</summary>
    public static IReadOnlyList<string> Lines(string? text, int first, int rest)
    {
        var lines = new List<string>();
        foreach (var paragraph in (text ?? "").Split('\n'))
        {
            // a paragraph's own indent is kept; runs of spaces inside a line too ("@Internal Flash  /0x08000000")
            var body = paragraph.TrimStart(' ');
            var line = new StringBuilder().Append(' ', Math.Min(paragraph.Length - body.Length, Math.Max(0, first - 1)));
            var words = 0;
            foreach (var raw in body.Split(' '))
            {
                if (raw.Length == 0 && words == 0) continue;
                var width = Math.Max(1, lines.Count == 0 ? first : rest);
                var word = raw.Length > width - line.Length && words == 0 ? TextTable.Cut(raw, Math.Max(1, width - line.Length)) : raw;
                if (words > 0 && line.Length + 1 + word.Length > width)
                {
                    lines.Add(line.ToString().TrimEnd());
                    line.Clear();
                    words = 0;
                    if (raw.Length == 0) continue;
                    width = Math.Max(1, rest);
                    word = TextTable.Cut(raw, width);
                }
                if (words > 0) line.Append(' ');
                line.Append(word);
                words++;
            }
            lines.Add(line.ToString().TrimEnd());
        }
        return lines;
    }

    /// <summary>Breaks at spaces only; a word longer than the width stays whole on a line of its own.</summary>
    public static IEnumerable<string> Break(string text, int width, string indent)
    {
        var lead = text.Length - text.TrimStart(' ').Length;
        var line = new StringBuilder().Append(' ', lead);
        var words = 0;
        var first = true;
        foreach (var word in text.TrimStart(' ').Split(' '))
        {
            if (word.Length == 0 && words == 0) continue;
            if (words > 0 && line.Length + 1 + word.Length > width)
            {
                yield return line.ToString().TrimEnd();
                line.Clear().Append(indent);
                first = false;
                words = 0;
                if (word.Length == 0) continue;
            }
            if (words > 0) line.Append(' ');
            line.Append(word);
            words++;
        }
        if (words > 0 || first) yield return line.ToString().TrimEnd();
    }

    /// <summary>A paragraph for the terminal: the first line as is, the rest indented, every line within <paramref name="width"/>.</summary>
    public static string Paragraph(string text, int width, string indent = "  ") =>
        string.Join("\n", Lines(text, width, width - indent.Length).Select((l, i) => i == 0 ? l : indent + l));
}

/// <summary>
/// A plain table (no box drawing, no escape codes) that fits a width: figures never wrap; words wrap at spaces, never
/// mid-word, and a word longer than its column is cut with an ellipsis (the full value is in --format json/csv).
/// </summary>
internal sealed class TextTable
{
    private const int Gap = 2;
    private readonly List<(string Header, bool Right, bool Wrap, int Min, bool KeepWords, int Drop)> _columns = [];
    private readonly List<string[]> _rows = [];
    private readonly List<string> _left = [];
    private readonly List<string?[]> _colours = [];

    /// <param name="wrap">false: the cells never wrap (figures, ids); the header may, at its spaces.</param>
    /// <param name="min">The width the column takes even when its cells are shorter (a live view that does not jump).</param>
    /// <param name="keepWords">Wraps at spaces but never cuts a word (a list of device ids).</param>
    /// <param name="drop">When even the narrowest columns do not fit, columns with a drop rank are left out, highest first (0: never).</param>
    public TextTable Column(string header, bool right = false, bool wrap = true, int min = 0, bool keepWords = false, int drop = 0)
    {
        _columns.Add((header, right, wrap, min, keepWords, drop));
        return this;
    }

    public int Rows => _rows.Count;

    /// <summary>A row; <paramref name="colour"/> per cell is an SGR code (e.g. "32") used only where colour is allowed.</summary>
    public TextTable Row(IReadOnlyList<string?> cells, IReadOnlyList<string?>? colour = null)
    {
        _rows.Add([.. Enumerable.Range(0, _columns.Count).Select(i => i < cells.Count ? (cells[i] ?? "").ReplaceLineEndings(" ") : "")]);
        _colours.Add([.. Enumerable.Range(0, _columns.Count).Select(i => colour is not null && i < colour.Count ? colour[i] : null)]);
        return this;
    }

    public TextTable Row(params string?[] cells) => Row((IReadOnlyList<string?>)cells);

    /// <summary>The column widths for <paramref name="width"/>: natural widths, then the widest wrapping column narrowed first.</summary>
    public int[] Widths(int width) => Widths(width, out _);

    private int[] Widths(int width, out int narrowest)
    {
        var widths = _columns.Select((c, i) => _rows.Select(r => r[i].Length).Append(c.Header.Length).Append(c.Min).Max()).ToArray();
        var headerWord = _columns.Select(c => c.Header.Split(' ').Max(w => w.Length)).ToArray();
        var longestWord = _columns.Select((c, i) => _rows.Select(r => r[i].Split(' ').Max(w => w.Length)).Append(0).Max()).ToArray();
        var floor = _columns.Select((c, i) =>
            !c.Wrap ? Math.Max(headerWord[i], _rows.Select(r => r[i].Length).Append(c.Min).Max())
            : c.KeepWords ? Math.Max(headerWord[i], longestWord[i])
            : Math.Min(widths[i], Math.Max(6, headerWord[i]))).ToArray();
        narrowest = floor.Sum() + (Gap * Math.Max(0, widths.Length - 1));
        var total = widths.Sum() + (Gap * Math.Max(0, widths.Length - 1));
        while (total > width)
        {
            var widest = -1;
            for (var i = 0; i < widths.Length; i++)
                if (widths[i] > floor[i] && (widest < 0 || widths[i] > widths[widest])) widest = i;
            if (widest < 0) break;
            widths[widest]--;
            total--;
        }
        return widths;
    }

    /// <param name="cut">One line per row: what does not fit its column is cut with an ellipsis (a live view).</param>
    public string Render(int width, bool colour = false, bool cut = false)
    {
        var widths = Widths(width, out var narrowest);
        if (narrowest > width && _columns.Any(c => c.Drop > 0))
        {
            // the least needed column goes (the rightmost of the highest rank), and the table is laid out again
            var rank = _columns.Max(c => c.Drop);
            var gone = _columns.FindLastIndex(c => c.Drop == rank);
            var rest = new TextTable();
            for (var i = 0; i < _columns.Count; i++)
                if (i != gone) rest._columns.Add(_columns[i]);
            for (var r = 0; r < _rows.Count; r++)
                rest.Row([.. _rows[r].Where((_, i) => i != gone)], [.. _colours[r].Where((_, i) => i != gone)]);
            rest._left.AddRange(_left);
            rest._left.Insert(0, _columns[gone].Header);
            return rest.Render(width, colour, cut);
        }
        var sb = new StringBuilder();
        void Line(IReadOnlyList<string> cells, IReadOnlyList<string?> paints)
        {
            var wrapped = cells.Select((c, i) => cut ? [Cut(c, widths[i])] : TextWrap.Lines(c, widths[i])).ToList();
            var height = wrapped.Max(w => w.Count);
            for (var k = 0; k < height; k++)
            {
                var parts = new List<string>();
                for (var i = 0; i < cells.Count; i++)
                {
                    var text = k < wrapped[i].Count ? wrapped[i][k] : "";
                    var padded = _columns[i].Right ? text.PadLeft(widths[i]) : text.PadRight(widths[i]);
                    parts.Add(colour && paints[i] is { } p && text.Length > 0 ? $"\u001b[{p}m{padded}\u001b[0m" : padded);
                }
                sb.Append(string.Join(new string(' ', Gap), parts).TrimEnd()).Append('\n');
            }
        }
        Line([.. _columns.Select(c => c.Header)], new string?[_columns.Count]);
        for (var r = 0; r < _rows.Count; r++) Line(_rows[r], _colours[r]);
        if (_left.Count > 0 && !cut)
            sb.Append(TextWrap.Paragraph($"(left out to fit {width} columns: {string.Join(", ", _left)}; --format csv or json has every column)", width)).Append('\n');
        return sb.ToString();
    }

    public static string Cut(string text, int width) =>
        text.Length <= width ? text : width <= 1 ? "\u2026"[..width] : text[..(width - 1)] + "\u2026";

    /// <summary>Rendered for <paramref name="writer"/>: its width, colour only on a terminal without NO_COLOR.</summary>
    public string For(TextWriter writer) => Render(Terminal.Width(writer), Terminal.Colour(writer));
}
