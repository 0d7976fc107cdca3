using System.Globalization;
using System.Text;

namespace HilRig.Core.Inventory;

/// <summary>One CSV record and the physical line it starts on (1-based).</summary>
internal sealed record CsvRow(int Line, IReadOnlyList<string> Fields);

/// <summary>
/// A small RFC 4180 reader: comma separated, "quoted" fields with "" for a quote, line breaks
/// allowed inside quotes, CRLF/LF/CR line ends. Unquoted fields are trimmed; blank lines are skipped.
/// </summary>
internal static class CsvRows
{
    public static List<CsvRow> Read(string text, string fileName, List<string> errors)
    {
        var rows = new List<CsvRow>();
        var fields = new List<string>();
        var field = new StringBuilder();
        var line = 1;
        var rowLine = 1;
        var quoted = false;
        var i = text.Length > 0 && text[0] == '\uFEFF' ? 1 : 0;

        void EndField()
        {
            fields.Add(quoted ? field.ToString() : field.ToString().Trim());
            field.Clear();
            quoted = false;
        }

        void EndRow()
        {
            EndField();
            if (!(fields.Count == 1 && fields[0].Length == 0))
            {
                rows.Add(new CsvRow(rowLine, fields.ToArray()));
            }

            fields.Clear();
        }

        while (i < text.Length)
        {
            var c = text[i];
            if (c == '"' && field.ToString().Trim().Length == 0 && !quoted)
            {
                var start = line;
                field.Clear();
                quoted = true;
                i++;
                var closed = false;
                while (i < text.Length)
                {
                    var q = text[i];
                    if (q == '"')
                    {
                        if (i + 1 < text.Length && text[i + 1] == '"')
                        {
                            field.Append('"');
                            i += 2;
                            continue;
                        }

                        closed = true;
                        i++;
                        break;
                    }

                    if (q == '\n' || (q == '\r' && !(i + 1 < text.Length && text[i + 1] == '\n')))
                    {
                        line++;
                    }

                    field.Append(q);
                    i++;
                }

                if (!closed)
                {
                    errors.Add($"{fileName}:{start.ToString(CultureInfo.InvariantCulture)}: row: '\"{Head(field.ToString())}': quote is never closed; end the field with \"");
                    return rows;
                }

                // Only spaces may sit between a closing quote and the next comma or line end.
                var trailingStart = i;
                while (i < text.Length && text[i] is ' ' or '\t')
                {
                    i++;
                }

                if (i < text.Length && text[i] is not (',' or '\r' or '\n'))
                {
                    var end = text.IndexOfAny([',', '\r', '\n'], i);
                    var stray = text[trailingStart..(end < 0 ? text.Length : end)];
                    errors.Add($"{fileName}:{line.ToString(CultureInfo.InvariantCulture)}: row: '{Head(stray)}': text after a closing quote; quote the whole field and write \"\" for a quote inside it");
                    i = end < 0 ? text.Length : end;
                }

                continue;
            }

            switch (c)
            {
                case ',':
                    EndField();
                    i++;
                    break;
                case '\r':
                case '\n':
                    EndRow();
                    i += c == '\r' && i + 1 < text.Length && text[i + 1] == '\n' ? 2 : 1;
                    line++;
                    rowLine = line;
                    break;
                default:
                    field.Append(c);
                    i++;
                    break;
            }
        }

        if (field.Length > 0 || fields.Count > 0 || quoted)
        {
            EndRow();
        }

        return rows;
    }

    private static string Head(string value) => value.Length <= 40 ? value : string.Concat(value.AsSpan(0, 37), "...");
}
