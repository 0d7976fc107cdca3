using System.Globalization;

namespace HilRig.Core.Results;

/// <summary>
/// A run id as people type it: the full GUID, or any unique prefix of at least <see cref="MinPrefix"/> hex digits
/// (hyphens ignored). Time-ordered ids share their first digits within a minute, so a prefix is only accepted when
/// exactly one stored run starts with it.
/// </summary>
public static class RunIds
{
    public const int MinPrefix = 4;

    /// <summary>The hex digits of <paramref name="text"/> without hyphens, lower case; null when it cannot be a run id or a prefix of one.</summary>
    public static string? Digits(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var digits = text.Trim().Replace("-", "", StringComparison.Ordinal).ToLowerInvariant();
        if (digits.Length < MinPrefix || digits.Length > 32 || !digits.All(char.IsAsciiHexDigit)) return null;
        return digits;
    }

    /// <summary>
    /// The one run <paramref name="text"/> names among <paramref name="runs"/>, or a one-line problem naming what is wrong
    /// (not an id, no such run, or several runs with that prefix, listed).
    /// </summary>
    public static bool TryResolve(string text, IEnumerable<Guid> runs, string where, out Guid id, out string problem)
    {
        ArgumentNullException.ThrowIfNull(runs);
        id = Guid.Empty;
        problem = "";
        if (Digits(text) is not { } digits)
        {
            problem = $"{text}: valid: a run id or a unique prefix of one ({MinPrefix} to 32 hex digits), as `hilrig runs` lists them";
            return false;
        }
        var matches = runs.Where(r => r.ToString("N", CultureInfo.InvariantCulture).StartsWith(digits, StringComparison.Ordinal)).Distinct().Take(6).ToList();
        switch (matches.Count)
        {
            case 1:
                id = matches[0];
                return true;
            case 0:
                problem = $"{text}: no run with that id in {where}; `hilrig runs` lists them";
                return false;
            default:
                var shown = string.Join(", ", matches.Take(5));
                problem = $"{text}: ambiguous run id prefix, it starts {(matches.Count > 5 ? "more than 5" : matches.Count.ToString(CultureInfo.InvariantCulture))} runs: {shown}{(matches.Count > 5 ? ", ..." : "")}; give more digits";
                return false;
        }
    }
}
