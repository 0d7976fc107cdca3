using System.Globalization;

namespace HilRig.Core.Slots;

/// <summary>Parses slot lists as users type them: "3", "1,3-5", "all".</summary>
public static class SlotSelection
{
    /// <summary>The selected slot numbers in ascending order; a problem is a FormatException naming the value and the rig's slots.</summary>
    public static IReadOnlyList<int> Parse(string? spec, IReadOnlyCollection<int> available)
    {
        var valid = $"valid: slot numbers {Describe(available)}, ranges like 1,3-5, or all";
        if (string.IsNullOrWhiteSpace(spec) || spec.Trim() == "all") return [.. available.Order()];
        var chosen = new SortedSet<int>();
        foreach (var raw in spec.Split(','))
        {
            var part = raw.Trim();
            var dash = part.IndexOf('-', StringComparison.Ordinal);
            if (dash > 0)
            {
                if (!TryNumber(part[..dash], out var from) || !TryNumber(part[(dash + 1)..], out var to) || to < from)
                    throw new FormatException($"--slots: '{part}' is not a range; {valid}");
                for (var n = from; n <= to; n++) Add(n, part);
            }
            else if (TryNumber(part, out var n))
            {
                Add(n, part);
            }
            else
            {
                throw new FormatException($"--slots: '{part}' is not a slot number; {valid}");
            }
        }
        return [.. chosen];

        void Add(int n, string part)
        {
            if (!available.Contains(n)) throw new FormatException($"--slots: slot {n} (from '{part}') is not on this rig; {valid}");
            chosen.Add(n);
        }
    }

    private static bool TryNumber(string text, out int value) =>
        int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out value);

    private static string Describe(IReadOnlyCollection<int> available)
    {
        var sorted = available.Order().ToList();
        return sorted.Count == 0 ? "(none)" : sorted.Count > 1 && sorted[^1] - sorted[0] == sorted.Count - 1 ? $"{sorted[0]}-{sorted[^1]}" : string.Join(",", sorted);
    }
}
