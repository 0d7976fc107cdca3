using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using HilRig.Core.Procedures;

namespace HilRig.Core.Results;

/// <summary>
/// What a procedure found on a slot: the one record every writer (screen, soak, sim fleet, the NUnit fixtures) hands
/// to <see cref="ResultRecorder"/>, which alone turns it into a stored row.
/// </summary>
/// <param name="DeviceId">Null when no Core identified itself: stored as "slot-N-unidentified".</param>
/// <param name="DeviceTime">Time the procedure took on the rig's clock (virtual time on the simulator).</param>
public sealed record SlotFinding(
    int Slot,
    string? DeviceId,
    string Test,
    Verdict Verdict,
    string? FailureMode,
    string? Signature,
    DateTimeOffset StartedAt,
    DateTimeOffset EndedAt,
    TimeSpan? DeviceTime,
    Evidence? Evidence)
{
    /// <summary>A soak cycle; null for a screening attempt.</summary>
    public int? Cycle { get; init; }

    /// <summary>Null: the store numbers it. Given (generated histories): must not exist yet.</summary>
    public int? Attempt { get; init; }

    /// <summary>The chip lot of the device, recorded with it (null: the device's lot is left as it is).</summary>
    public string? Lot { get; init; }

    public string? DateCode { get; init; }

    public string? Supplier { get; init; }

    private readonly FailureKind? _kind;

    /// <summary>Whose fault the verdict is; by default the kind its verdict and failure mode carry (<see cref="FailureKinds.Of"/>).</summary>
    public FailureKind Kind
    {
        get => _kind ?? FailureKinds.Of(Verdict, FailureMode);
        init => _kind = value;
    }

    /// <summary>The id the row is stored under.</summary>
    public string StoredDeviceId => DeviceId ?? $"slot-{Slot}-unidentified";

    /// <summary>One slot's screening outcome (the final verdict, or one step of it).</summary>
    public static SlotFinding From(SlotOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        return new SlotFinding(outcome.Slot, outcome.DeviceId, outcome.Test, outcome.Verdict, outcome.FailureMode, outcome.Signature,
            outcome.StartedAt, outcome.EndedAt, outcome.DeviceTime, Evidence.From(outcome.Evidence)) { Lot = outcome.Lot };
    }

    /// <summary>One judged step of a soak.</summary>
    public static SlotFinding From(SoakRow row, string? lot)
    {
        ArgumentNullException.ThrowIfNull(row);
        return new SlotFinding(row.Slot, row.DeviceId, row.Test, row.Verdict, row.FailureMode, row.Signature, row.StartedAt, row.EndedAt,
            row.DeviceTime, Evidence.From(row)) { Cycle = row.Cycle, Lot = lot };
    }
}

/// <summary>
/// The evidence schema: every stored row's <c>evidence_json</c> is this record written by <see cref="EvidenceJson"/>,
/// and every reader (reports, dashboard, sync) reads it back through the same. Absent parts are left out.
/// </summary>
/// <param name="Readback">The DFU readback: per region and in total, the bit-error map.</param>
/// <param name="Loops">OTA and factory-reset loops, each with its own log and LED timeline.</param>
/// <param name="Led">The slot's LED timeline: seconds from the start of the procedure, the state as users say it.</param>
/// <param name="SerialTranscript">What the Core said on its serial link.</param>
public sealed record Evidence(
    string? DfuSerial = null,
    string? Step = null,
    string? Error = null,
    DfuReadbackResult? Readback = null,
    IReadOnlyList<LoopEvidence>? Loops = null,
    IReadOnlyList<LedEvidence>? Led = null,
    string? SerialTranscript = null,
    IReadOnlyList<string>? Log = null,
    int? CyclesToFailure = null,
    IReadOnlyList<RetryEvidence>? Retries = null)
{
    public static Evidence From(ScreeningEvidence evidence)
    {
        ArgumentNullException.ThrowIfNull(evidence);
        return new Evidence(evidence.DfuSerial, evidence.Step, evidence.Error, evidence.Readback,
            evidence.Loops?.Select(LoopEvidence.From).ToList(), evidence.Led?.ToList(), null, Copy(evidence.Log));
    }

    public static Evidence From(SoakRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        // a soak's readback keeps its totals only; regions are not kept per cycle
        var readback = row.BitErrors is { } map ? new DfuReadbackResult(row.Verdict, row.FailureMode, row.Signature, [], map, row.DeviceTime, null) : null;
        return new Evidence(Readback: readback, Led: LedText.Parse(row.LedTimeline), Log: Copy(row.Log),
            CyclesToFailure: row.CyclesToFailure, Retries: RetryEvidence.From(row.Retries));
    }

    /// <summary>One loop on its own (a suite's OTA or factory reset procedure).</summary>
    public static Evidence From(LoopResult loop)
    {
        ArgumentNullException.ThrowIfNull(loop);
        return new Evidence(Loops: [LoopEvidence.From(loop)], Led: LedText.Parse(loop.Timeline), Log: Copy(loop.Log));
    }

    // A step's log is still being written by its procedure: the finding keeps a copy of it as it is now.
    internal static IReadOnlyList<string>? Copy(IReadOnlyList<string> log) => log.Count > 0 ? [.. log] : null;
}

/// <summary>A transient rig fault the rig retried (or gave up on, making the step a rig fault), as evidence.</summary>
public sealed record RetryEvidence(string Kind, DateTimeOffset At, string What, bool GaveUp)
{
    public static IReadOnlyList<RetryEvidence>? From(IReadOnlyList<Slots.RigRetry> retries) =>
        retries.Count == 0 ? null : [.. retries.Select(r => new RetryEvidence(r.Kind, r.At, r.What, r.GaveUp))];
}

/// <summary>One OTA or factory-reset loop as evidence.</summary>
public sealed record LoopEvidence(
    string Loop,
    Verdict Verdict,
    string? FailureMode,
    string Signature,
    double DeviceTimeMs,
    IReadOnlyList<string>? Log = null,
    IReadOnlyList<LedEvidence>? Led = null)
{
    public static LoopEvidence From(LoopResult loop)
    {
        ArgumentNullException.ThrowIfNull(loop);
        return new LoopEvidence(loop.Loop, loop.Verdict, loop.FailureMode, loop.Signature, Math.Round(loop.DeviceTime.TotalMilliseconds),
            Evidence.Copy(loop.Log), LedText.Parse(loop.Timeline));
    }
}

/// <summary>The one serializer of <see cref="Evidence"/>: compact camelCase JSON, absent parts left out.</summary>
public static class EvidenceJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = false,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string? Write(Evidence? evidence) => evidence is null ? null : JsonSerializer.Serialize(evidence, Options);

    /// <summary>Stored evidence as the schema; null when there is none or it is not evidence JSON.</summary>
    public static Evidence? Read(string? json)
    {
        if (string.IsNullOrWhiteSpace(json)) return null;
        try
        {
            return JsonSerializer.Deserialize<Evidence>(json, Options);
        }
        catch (JsonException)
        {
            return null;
        }
        catch (NotSupportedException)
        {
            return null;
        }
    }
}

/// <summary>
/// A loop's LED timeline reaches Core's procedures as <c>LedTimeline.ToString()</c> ("0.0-3.0 s off, 3.0-9.9 s
/// flashing yellow"); this turns it into typed segments, times made relative to the first segment.
/// </summary>
internal static partial class LedText
{
    [GeneratedRegex(@"(?<start>[0-9]+(?:\.[0-9]+)?)-(?<end>[0-9]+(?:\.[0-9]+)?) s (?<state>.+?)(?=, [0-9]+(?:\.[0-9]+)?-[0-9]+(?:\.[0-9]+)? s |$)")]
    private static partial Regex Segment();

    public static IReadOnlyList<LedEvidence>? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var segments = Segment().Matches(text)
            .Select(m => (Start: double.Parse(m.Groups["start"].Value, CultureInfo.InvariantCulture),
                End: double.Parse(m.Groups["end"].Value, CultureInfo.InvariantCulture), State: m.Groups["state"].Value))
            .ToList();
        if (segments.Count == 0) return null;
        var from = segments[0].Start;
        // confidence is not in the text: these segments are what the classifier settled on
        return [.. segments.Select(s => new LedEvidence(Math.Round(s.Start - from, 3), Math.Round(s.End - from, 3), s.State, 1))];
    }
}
