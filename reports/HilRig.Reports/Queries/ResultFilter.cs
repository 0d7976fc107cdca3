using System.Globalization;
using System.Text;

namespace HilRig.Reports.Queries;

/// <summary>
/// Which results a dashboard page counts: those started in [From, ToExclusive), on one rig, on one line. Empty: all of
/// them, and the pages answer from the store's summary tables as before.
/// </summary>
/// <param name="FromText">The from value as the user typed it, for links that keep the filter.</param>
/// <param name="ToText">The to value as typed; a date alone means to the end of that day.</param>
public sealed record ResultFilter(DateTimeOffset? From, DateTimeOffset? ToExclusive, string? Rig, string? Line, string? FromText = null, string? ToText = null)
{
    public static readonly ResultFilter None = new(null, null, null, null);

    public bool IsEmpty => From is null && ToExclusive is null && Rig is null && Line is null;

    public bool HasDates => From is not null || ToExclusive is not null;

    private static readonly string[] TimeForms = ["yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd'T'HH:mm'Z'", "yyyy-MM-dd'T'HH:mm:ss'Z'"];

    /// <summary>
    /// Reads the query-string values; empty ones mean no bound. Dates are UTC: "2026-03-14", or a time "2026-03-14T08:00".
    /// False with one line naming the parameter, the value and what is valid.
    /// </summary>
    public static bool TryParse(string? from, string? to, string? rig, string? line, out ResultFilter filter, out string problem)
    {
        filter = None;
        problem = "";
        DateTimeOffset? start = null, end = null;
        if (!string.IsNullOrWhiteSpace(from))
        {
            if (ParseBound(from.Trim(), endOfDay: false) is not { } f)
            {
                problem = Invalid("from", from);
                return false;
            }
            start = f;
        }
        if (!string.IsNullOrWhiteSpace(to))
        {
            if (ParseBound(to.Trim(), endOfDay: true) is not { } t)
            {
                problem = Invalid("to", to);
                return false;
            }
            end = t;
        }
        if (start is { } s && end is { } e && e <= s)
        {
            problem = $"to '{to}' is not after from '{from}'; valid: a range such as from=2026-03-01&to=2026-03-14";
            return false;
        }
        filter = new ResultFilter(start, end, Blank(rig), Blank(line), start is null ? null : from!.Trim(), end is null ? null : to!.Trim());
        return true;
    }

    private static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    private static string Invalid(string name, string value) =>
        $"{name} '{value}': valid: a UTC date such as 2026-03-14 or a UTC time such as 2026-03-14T08:00";

    private static DateTimeOffset? ParseBound(string text, bool endOfDay)
    {
        if (DateTime.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var day))
            return new DateTimeOffset(endOfDay ? day.AddDays(1) : day, TimeSpan.Zero);
        if (DateTime.TryParseExact(text, TimeForms, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time))
            return new DateTimeOffset(time, TimeSpan.Zero);
        return null;
    }

    /// <summary>The filter as query-string pairs ("from=...&amp;rig=..."), empty when there is none; for links that keep it.</summary>
    public string Query()
    {
        var sb = new StringBuilder();
        void Add(string name, string? value)
        {
            if (value is null) return;
            sb.Append(sb.Length == 0 ? "" : "&").Append(name).Append('=').Append(Uri.EscapeDataString(value));
        }
        Add("from", FromText);
        Add("to", ToText);
        Add("rig", Rig);
        Add("line", Line);
        return sb.ToString();
    }

    /// <summary><paramref name="path"/> with the filter's query string.</summary>
    public string Link(string path)
    {
        var q = Query();
        return q.Length == 0 ? path : path + (path.Contains('?', StringComparison.Ordinal) ? "&" : "?") + q;
    }

    /// <summary>How the page names the filter: "from 2026-03-01 to 2026-03-14, rig rig-a".</summary>
    public string Describe()
    {
        var parts = new List<string>();
        if (FromText is not null) parts.Add("from " + FromText);
        if (ToText is not null) parts.Add("to " + ToText);
        if (Rig is not null) parts.Add("rig " + Rig);
        if (Line is not null) parts.Add("line " + Line);
        return string.Join(", ", parts);
    }

    // The store writes times as fixed-width UTC text (StoreText.Time): text order is time order.
    internal static string StoreTime(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// True when both bounds (where given) fall on midnight UTC, so the filter keeps whole days: a store's per-day
    /// summaries answer it exactly. <see cref="DayConditions"/> then selects those days.
    /// </summary>
    internal bool KeepsWholeDays =>
        (From is not { } f || f.UtcDateTime.TimeOfDay == TimeSpan.Zero) && (ToExclusive is not { } t || t.UtcDateTime.TimeOfDay == TimeSpan.Zero);

    /// <summary>
    /// The conditions of a whole-day filter (<see cref="KeepsWholeDays"/>) on a summary's <paramref name="day"/> (yyyy-MM-dd)
    /// and <paramref name="rig"/> columns, each starting with " AND ", and their parameters. The line is not a summary's.
    /// </summary>
    internal (string Sql, Dapper.DynamicParameters Args) DayConditions(string day, string rig)
    {
        var sql = new StringBuilder();
        var args = new Dapper.DynamicParameters();
        if (From is { } f)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND {day} >= @fromDay");
            args.Add("fromDay", f.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        }
        if (ToExclusive is { } t)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND {day} < @toDay");
            args.Add("toDay", t.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        }
        if (Rig is not null)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND {rig} = @rig");
            args.Add("rig", Rig);
        }
        return (sql.ToString(), args);
    }

    /// <summary>
    /// The SQL conditions on results <c>r</c> started in range and their runs <c>ru</c> (rig, line), each starting with
    /// " AND ", and their parameters.
    /// </summary>
    internal (string Sql, Dapper.DynamicParameters Args) Conditions(string resultTime = "r.started_at")
    {
        var sql = new StringBuilder();
        var args = new Dapper.DynamicParameters();
        if (From is { } f)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND {resultTime} >= @fromTime");
            args.Add("fromTime", StoreTime(f));
        }
        if (ToExclusive is { } t)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND {resultTime} < @toTime");
            args.Add("toTime", StoreTime(t));
        }
        if (Rig is not null)
        {
            sql.Append(" AND ru.rig_id = @rig");
            args.Add("rig", Rig);
        }
        if (Line is not null)
        {
            sql.Append(" AND ru.line = @line");
            args.Add("line", Line);
        }
        return (sql.ToString(), args);
    }
}
