using HilRig.Reports.Results;
using HilRig.Reports.Statistics;

namespace HilRig.Reports.Queries;

/// <summary>The lots page: every lot's failure rate, flagged lots (beyond the p-chart limits) first, then by rate.</summary>
public sealed record LotsView(double PooledRate, int Units, int Failed, IReadOnlyList<LotFailureRate> Lots)
{
    /// <summary>First-pass and final screening yield under the confirmation policy; null where the store keeps no screening attempts.</summary>
    public ScreeningYield? Yields { get; init; }
}

/// <summary>A device in a lot's device list.</summary>
/// <param name="Judged">False when every deciding attempt was a rig fault.</param>
/// <param name="LastSignature">What the latest attempt found.</param>
public sealed record LotDevice(string DeviceId, bool Failed, bool Judged, string? DateCode, string? Supplier, string? LastSignature);

/// <summary>Defect kinds across a lot's failed attempts, read from signatures and bit-error maps.</summary>
/// <param name="StuckAt0">Cells stuck at 0, summed over failed attempts' bit-error maps.</param>
/// <param name="ByBitPosition">Error bits per bit position 0-7, summed.</param>
/// <param name="Kinds">Failed attempts per defect kind (stuck bits, erase failure, flash hung, ...).</param>
public sealed record LotSignatures(long StuckAt0, long StuckAt1, IReadOnlyList<long> ByBitPosition, IReadOnlyList<CategoryCount> Kinds);

/// <summary>One lot's page.</summary>
/// <param name="DevicesShown">The devices listed (failed first), at most the limit asked for.</param>
public sealed record LotDetail(
    LotFailureRate Rate,
    YieldResult FirstPassYield,
    YieldResult FinalYield,
    LotFailureBreakdown Breakdown,
    LotSignatures Signatures,
    int DevicesInLot,
    IReadOnlyList<LotDevice> DevicesShown);

/// <summary>The soak page: per bootloader build, and the newest build against the one before.</summary>
public sealed record SoakView(IReadOnlyList<BootloaderSoak> Builds, Comparison? NewestAgainstPrevious);

/// <summary>One attempt on the device page, with what was seen.</summary>
public sealed record DeviceAttempt(ResultRow Row, Guid RunId, string RunKind, long? DeviceTimeMs, string? EvidenceJson);

/// <summary>The device page: its lot and every attempt, oldest first.</summary>
public sealed record DeviceView(string DeviceId, string Lot, string? DateCode, string? Supplier, IReadOnlyList<DeviceAttempt> Attempts);
