using HilRig.Core.Procedures;
using HilRig.Reports.Results;

namespace HilRig.Tests.Reports;

/// <summary>Result rows for report tests, with a clock that moves a minute per row.</summary>
internal sealed class RowsBuilder
{
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 8, 0, 0, TimeSpan.Zero);
    private readonly List<ResultRow> rows = [];

    public IReadOnlyList<ResultRow> Rows => rows;

    public static string Device(int n) => n.ToString("x24", System.Globalization.CultureInfo.InvariantCulture);

    public RowsBuilder Screen(int device, string lot, int slot, int attempt, Verdict verdict, string? mode = null, string? signature = null)
    {
        rows.Add(new ResultRow(Device(device), lot, slot, "screen", attempt, verdict, mode, signature, null, null, Start.AddMinutes(rows.Count)));
        return this;
    }

    public RowsBuilder Soak(int device, string bootloader, int cycle, Verdict verdict)
    {
        rows.Add(new ResultRow(Device(device), "L1", 1, "soak", 1, verdict, verdict == Verdict.Fail ? "bricked" : null, null, bootloader, cycle, Start.AddMinutes(rows.Count)));
        return this;
    }
}
