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
}
