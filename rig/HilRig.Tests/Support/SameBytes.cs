namespace HilRig.Tests;

/// <summary>
/// Flash images and chip snapshots (hundreds of KB to 2 MB) compared as spans: NUnit's collection equality boxes every
/// byte, which made one such assert cost as much CPU as the simulation it checked. A mismatch names the first
/// differing offset.
/// </summary>
internal static class SameBytes
{
    public static void AssertEqual(ReadOnlySpan<byte> actual, ReadOnlySpan<byte> expected, string message = "")
    {
        var at = FirstDifference(actual, expected);
        Assert.That(at, Is.EqualTo(-1),
            at < 0 ? message : $"{message}: {actual.Length} bytes, expected {expected.Length}; first difference at 0x{at:x}"
                + (at < Math.Min(actual.Length, expected.Length) ? $" (0x{actual[at]:x2}, expected 0x{expected[at]:x2})" : ""));
    }

    public static void AssertDiffer(ReadOnlySpan<byte> actual, ReadOnlySpan<byte> other, string message = "") =>
        Assert.That(FirstDifference(actual, other), Is.Not.EqualTo(-1), $"{message}: the {actual.Length} bytes are the same");

    private static int FirstDifference(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        var common = a.CommonPrefixLength(b);
        return common == a.Length && a.Length == b.Length ? -1 : common;
    }
}
