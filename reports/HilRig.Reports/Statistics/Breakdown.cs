using HilRig.Core.Procedures;
using HilRig.Reports.Results;

namespace HilRig.Reports.Statistics;

/// <summary>How often one failure mode (or signature) was seen: failed attempts, and distinct devices.</summary>
public readonly record struct CategoryCount(string Name, int Failures, int Devices);

/// <summary>Failure modes and signatures seen in one chip lot, most frequent first.</summary>
public sealed record LotFailureBreakdown(string Lot, IReadOnlyList<CategoryCount> FailureModes, IReadOnlyList<CategoryCount> Signatures);

/// <summary>One slot's record across the devices it has tested.</summary>
/// <param name="Devices">Distinct devices that ran in the slot.</param>
/// <param name="FailedDevices">Distinct devices with at least one failed or rig-fault attempt in the slot.</param>
/// <param name="UpperLimit">p-chart upper limit for this slot against the pooled rate of all slots.</param>
/// <param name="Suspect">The slot fails more devices than the slot population explains: check the rig before blaming DUTs.</param>
public readonly record struct SlotHealth(int Slot, int Devices, int FailedDevices, double Rate, double UpperLimit, bool Suspect);

/// <summary>Failure-mode breakdowns, slot health and per-device history over result rows.</summary>
public static class Breakdown
{
    /// <summary>Shown for a failed row that carries no failure mode or signature.</summary>
    public const string Unclassified = "(unclassified)";

    /// <summary>
    /// Per lot (ordinal order), the failure modes and signatures of DUT failures (<see cref="Verdict.Fail"/>;
    /// rig faults are the slot's, not the lot's), each with failed-attempt and distinct-device counts,
    /// sorted by failures descending then name.
    /// </summary>
    public static IReadOnlyList<LotFailureBreakdown> FailureModesByLot(IEnumerable<ResultRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var lots = new SortedDictionary<string, (Tally Modes, Tally Signatures)>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            if (!lots.TryGetValue(row.Lot, out var tallies))
            {
                tallies = (new Tally(), new Tally());
                lots[row.Lot] = tallies;
            }

            if (row.Verdict == Verdict.Fail)
            {
                tallies.Modes.Add(row.FailureMode ?? Unclassified, row.DeviceId);
                tallies.Signatures.Add(row.Signature ?? Unclassified, row.DeviceId);
            }
        }

        return lots.Select(kv => new LotFailureBreakdown(kv.Key, kv.Value.Modes.ToCounts(), kv.Value.Signatures.ToCounts())).ToList();
    }

    /// <summary>
    /// Slot health in slot order. A slot's rate is failed devices / distinct devices, where a device
    /// failed in the slot if any of its attempts there was a fail or a rig fault; counting devices,
    /// not attempts, keeps one bad DUT retried in one slot from condemning the slot. A slot is
    /// suspect when its rate is above its p-chart upper limit against the pooled rate of all slots.
    /// </summary>
    public static IReadOnlyList<SlotHealth> SlotHealth(IEnumerable<ResultRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var slots = new SortedDictionary<int, Dictionary<string, bool>>();
        foreach (var row in rows)
        {
            if (!slots.TryGetValue(row.Slot, out var devices))
            {
                devices = new Dictionary<string, bool>(StringComparer.Ordinal);
                slots[row.Slot] = devices;
            }

            var failed = row.Verdict != Verdict.Pass;
            devices[row.DeviceId] = devices.TryGetValue(row.DeviceId, out var sofar) ? sofar || failed : failed;
        }

        return SlotHealthFromCounts(slots.Select(kv => (kv.Key, kv.Value.Count(d => d.Value), kv.Value.Count)).ToList());
    }

    /// <summary>Slot health from per-slot counts already made (failed distinct devices, distinct devices), e.g. by a store query.</summary>
    public static IReadOnlyList<SlotHealth> SlotHealthFromCounts(IReadOnlyList<(int Slot, int FailedDevices, int Devices)> slots)
    {
        ArgumentNullException.ThrowIfNull(slots);
        var groups = slots.Select(s => new GroupCount(
            s.Slot.ToString(System.Globalization.CultureInfo.InvariantCulture), s.FailedDevices, s.Devices)).ToList();
        var chart = PChart.Compute(groups);
        return slots.Zip(chart.Points, (s, p) => new SlotHealth(
            s.Slot, p.Units, p.Failed, p.Rate, p.UpperLimit, p.Signal == ControlSignal.AboveUpperLimit)).ToList();
    }

    /// <summary>
    /// Every row of one device, oldest first: by time recorded, then test, attempt and cycle so that
    /// rows with the same timestamp still come back in a stable order.
    /// </summary>
    public static IReadOnlyList<ResultRow> DeviceHistory(IEnumerable<ResultRow> rows, string deviceId)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(deviceId);
        return rows
            .Where(r => string.Equals(r.DeviceId, deviceId, StringComparison.OrdinalIgnoreCase))
            .OrderBy(r => r.RecordedAt)
            .ThenBy(r => r.Test, StringComparer.Ordinal)
            .ThenBy(r => r.Attempt)
            .ThenBy(r => r.Cycle ?? 0)
            .ToList();
    }

    private sealed class Tally
    {
        private readonly Dictionary<string, (int Failures, HashSet<string> Devices)> counts = new(StringComparer.Ordinal);

        public void Add(string name, string deviceId)
        {
            if (!counts.TryGetValue(name, out var c))
            {
                c = (0, new HashSet<string>(StringComparer.Ordinal));
            }

            c.Devices.Add(deviceId);
            counts[name] = (c.Failures + 1, c.Devices);
        }

        public IReadOnlyList<CategoryCount> ToCounts() => counts
            .Select(kv => new CategoryCount(kv.Key, kv.Value.Failures, kv.Value.Devices.Count))
            .OrderByDescending(c => c.Failures)
            .ThenBy(c => c.Name, StringComparer.Ordinal)
            .ToList();
    }
}
