using HilRig.Core.Procedures;
using System.Globalization;

namespace HilRig.Core.Results;

/// <summary>How values are written as TEXT so SQLite and PostgreSQL store and sort them the same way.</summary>
internal static class StoreText
{
    // Fixed width, UTC: string order is time order.
    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

    public static string Time(DateTimeOffset t) => t.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

    public static DateTimeOffset ParseTime(string text) =>
        new(DateTime.ParseExact(text, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal), TimeSpan.Zero);

    public static string Id(Guid id) => id.ToString("D");

    public static string Verdict(Procedures.Verdict v) => v.ToName();

    public static Procedures.Verdict ParseVerdict(string text) => VerdictNames.Parse(text);

    public static string Status(RunStatus s) => s switch
    {
        RunStatus.Running => "running",
        RunStatus.Passed => "passed",
        RunStatus.Failed => "failed",
        RunStatus.RigFault => "rig-fault",
        RunStatus.Aborted => "aborted",
        RunStatus.Interrupted => "interrupted",
        _ => throw new ArgumentOutOfRangeException(nameof(s), s, null),
    };

    public static RunStatus ParseStatus(string text) => text switch
    {
        "running" => RunStatus.Running,
        "passed" => RunStatus.Passed,
        "failed" => RunStatus.Failed,
        "rig-fault" => RunStatus.RigFault,
        "aborted" => RunStatus.Aborted,
        "interrupted" => RunStatus.Interrupted,
        _ => throw new ResultsStoreException($"unknown run status '{text}' in the results store; valid: running, passed, failed, rig-fault, aborted, interrupted"),
    };
}
