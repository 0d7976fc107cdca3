using Dapper;
using HilRig.Core.Config;
using HilRig.Core.Procedures;
using HilRig.Core.Spark;

namespace HilRig.Core.Results;

/// <summary>A slot's health, in LAVA's words: whether the rig trusts it to judge a DUT.</summary>
public enum SlotHealthState
{
    /// <summary>Nothing has been judged in the slot since its health was last reset.</summary>
    Unknown,

    /// <summary>Judging, with fewer strikes than make it suspect.</summary>
    Good,

    /// <summary>Strikes reached screening.health.suspectAfter: still used, its failures want confirming elsewhere.</summary>
    Suspect,

    /// <summary>Strikes reached screening.health.quarantineAfter: not used until a golden Core passes in it (or the operator says good).</summary>
    Quarantined,

    /// <summary>Taken out by the operator (`hilrig slots set N maintenance`): not used until set good.</summary>
    Maintenance,
}

public static class SlotHealthStates
{
    public static string ToName(this SlotHealthState state) => state.ToString().ToLowerInvariant();

    public static SlotHealthState Parse(string name)
    {
        foreach (var state in Enum.GetValues<SlotHealthState>())
        {
            if (state.ToName() == name) return state;
        }
        throw new FormatException($"'{name}' is not a slot health; valid: {string.Join(", ", Enum.GetValues<SlotHealthState>().Select(s => s.ToName()))}");
    }

    /// <summary>Screen and soak do not drive a slot in this state.</summary>
    public static bool KeepsOut(this SlotHealthState state) => state is SlotHealthState.Quarantined or SlotHealthState.Maintenance;
}

/// <summary>Where one screening attempt of a device stands under the confirmation policy.</summary>
public enum Confirmation
{
    /// <summary>The device passed.</summary>
    Pass,

    /// <summary>A DUT failure not yet seen again in another slot: not final.</summary>
    Unconfirmed,

    /// <summary>A DUT failure the policy holds final (failed again in another slot, or the policy needs one attempt).</summary>
    Confirmed,

    /// <summary>An earlier unconfirmed failure of a device that passed later: it points at the slot it failed in.</summary>
    Refuted,

    /// <summary>The rig could not judge the device.</summary>
    RigFault,
}

public static class Confirmations
{
    public static string ToName(this Confirmation c) => c switch
    {
        Confirmation.Pass => "pass",
        Confirmation.Unconfirmed => "unconfirmed",
        Confirmation.Confirmed => "confirmed",
        Confirmation.Refuted => "refuted",
        _ => "rig-fault",
    };

    public static Confirmation Parse(string name) => name switch
    {
        "pass" => Confirmation.Pass,
        "unconfirmed" => Confirmation.Unconfirmed,
        "confirmed" => Confirmation.Confirmed,
        "refuted" => Confirmation.Refuted,
        "rig-fault" => Confirmation.RigFault,
        _ => throw new ResultsStoreException($"unknown confirmation '{name}' in the results store; valid: pass, unconfirmed, confirmed, refuted, rig-fault"),
    };
}

/// <summary>One screening attempt of a device as the confirmation policy sees it.</summary>
public sealed record ScreenAttempt(Guid ResultId, Guid RunId, string RigId, string DeviceId, string? DfuSerial, int Slot, Verdict Verdict,
    FailureKind Kind, string? FailureMode, Confirmation Confirmation, DateTimeOffset At);

/// <summary>What recording an attempt decided: its confirmation, the slots the device has failed in, and the earlier attempts it changed.</summary>
/// <param name="FailedSlots">Slots where this device has a DUT failure on record (this attempt included).</param>
/// <param name="Needed">Failing attempts (in distinct slots when the policy changes slot) still needed to confirm; 0 when final.</param>
/// <param name="Refuted">Earlier unconfirmed failures this pass refuted: each points at its slot.</param>
public sealed record AttemptDecision(Confirmation Confirmation, IReadOnlyList<int> FailedSlots, int Needed, IReadOnlyList<ScreenAttempt> Refuted)
{
    /// <summary>The device the attempt was recorded under: its device id when the store knows it, else its "dfu-SERIAL" key.</summary>
    public string DeviceId { get; init; } = "";
}

/// <summary>One slot's health with what it was computed from.</summary>
/// <param name="Since">Strikes are counted from here (a golden pass or the operator's `good`); null: from the start.</param>
/// <param name="Devices">Distinct devices screened in the slot since then.</param>
/// <param name="Strikes">Distinct devices with a slot rig fault or an unconfirmed (or refuted) DUT failure since then.</param>
/// <param name="Unconfirmed">Distinct devices whose DUT failure here is unconfirmed or was refuted by a pass elsewhere.</param>
/// <param name="Confirmed">Distinct devices whose DUT failure here is confirmed (the DUT's, not the slot's).</param>
/// <param name="RigFaults">Rig-fault rows of the slot's own hardware since then, by kind.</param>
public sealed record SlotHealthStatus(
    int Slot, SlotHealthState State, string Reason, DateTimeOffset? Since, int Devices, int Strikes, int Unconfirmed, int Confirmed,
    IReadOnlyDictionary<FailureKind, int> RigFaults)
{
    public int RigFaultCount => RigFaults.Values.Sum();
}

/// <summary>Screening attempts, confirmation and slot health (schema step 9).</summary>
public sealed partial class ResultsStore
{
    /// <summary>
    /// Records a slot's final screening verdict in the device's attempt history and decides its confirmation: a DUT failure
    /// is confirmed once the device has <see cref="ConfirmPolicy.Attempts"/> failing attempts (in as many different slots
    /// when <see cref="ConfirmPolicy.ChangeSlot"/>), and earlier unconfirmed ones are confirmed with it; a pass refutes the
    /// device's earlier unconfirmed failures (each then points at its slot). A device known by a DFU serial is the same
    /// device as the id the store links that serial to; an attempt under a device id links the DFU serial its bootloader
    /// derives from it (spark-core.md §4.1), so the same Core is one device whichever way each attempt knew it.
    /// </summary>
    public AttemptDecision RecordScreenAttempt(string rigId, StoredResult result, string? dfuSerial, ConfirmPolicy policy, DateTimeOffset at)
    {
        ArgumentException.ThrowIfNullOrEmpty(rigId);
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(policy);
        AttemptDecision? decision = null;
        Write((db, tx) =>
        {
            // a Core that failed under its device id and arrives in DFU in the next slot (or the reverse) is one device
            var serial = dfuSerial ?? SerialOf(result.DeviceId);
            if (SparkIdentity.Validate(result.DeviceId) is null)
                LinkIn(db, tx, SparkIdentity.DfuSerial(result.DeviceId), result.DeviceId, at);
            var deviceId = CanonicalDevice(db, tx, result.DeviceId, serial);
            var history = AttemptsOf(db, tx, deviceId, serial);
            var failed = history.Where(a => a.Kind == FailureKind.Dut && a.Confirmation is Confirmation.Unconfirmed or Confirmation.Confirmed).ToList();
            Confirmation confirmation;
            var refuted = new List<ScreenAttempt>();
            var failedSlots = failed.Select(a => a.Slot).ToList();
            var needed = 0;
            if (result.Verdict == Verdict.Fail)
            {
                failedSlots.Add(result.Slot);
                var counted = policy.ChangeSlot ? failedSlots.Distinct().Count() : failedSlots.Count;
                needed = Math.Max(0, policy.Attempts - counted);
                confirmation = needed == 0 ? Confirmation.Confirmed : Confirmation.Unconfirmed;
                if (confirmation == Confirmation.Confirmed)
                {
                    foreach (var earlier in failed.Where(a => a.Confirmation == Confirmation.Unconfirmed))
                        SetConfirmation(db, tx, earlier.ResultId, Confirmation.Confirmed);
                }
            }
            else if (result.Verdict == Verdict.Pass)
            {
                confirmation = Confirmation.Pass;
                foreach (var earlier in failed.Where(a => a.Confirmation == Confirmation.Unconfirmed))
                {
                    SetConfirmation(db, tx, earlier.ResultId, Confirmation.Refuted);
                    refuted.Add(earlier with { Confirmation = Confirmation.Refuted });
                }
                failedSlots = [.. failed.Where(a => a.Confirmation == Confirmation.Confirmed).Select(a => a.Slot)];
            }
            else
            {
                confirmation = Confirmation.RigFault;
            }
            db.Execute(
                """
                INSERT INTO screen_attempts (result_id, run_id, rig_id, device_id, dfu_serial, slot, verdict, failure_kind, failure_mode, confirmation, at)
                VALUES (@resultId, @runId, @rigId, @deviceId, @dfuSerial, @slot, @verdict, @kind, @mode, @confirmation, @at)
                """,
                new
                {
                    resultId = StoreText.Id(result.Id), runId = StoreText.Id(result.RunId), rigId, deviceId, dfuSerial = serial, slot = result.Slot,
                    verdict = StoreText.Verdict(result.Verdict), kind = result.Kind == FailureKind.None ? null : result.Kind.ToName(),
                    mode = result.FailureMode, confirmation = confirmation.ToName(), at = StoreText.Time(at),
                }, tx);
            decision = new AttemptDecision(confirmation, [.. failedSlots.Distinct().Order()], needed, refuted) { DeviceId = deviceId };
        });
        return decision!;
    }

    /// <summary>Every screening attempt of a device (or of the DFU serials linked to it), oldest first.</summary>
    public IReadOnlyList<ScreenAttempt> ScreenAttempts(string deviceId, string? dfuSerial = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(deviceId);
        using var db = OpenConnection();
        using var tx = db.BeginTransaction();
        return AttemptsOf(db, tx, CanonicalDevice(db, tx, deviceId, dfuSerial), dfuSerial);
    }

    /// <summary>Every screening attempt on the rig, oldest first (the yields read them).</summary>
    public IReadOnlyList<ScreenAttempt> ScreenAttemptsOfRig(string? rigId = null)
    {
        using var db = OpenConnection();
        return [.. db.Query<AttemptRow>(AttemptColumns + (rigId is null ? "" : " WHERE rig_id = @rigId") + " ORDER BY at", new { rigId }).Select(r => r.ToAttempt())];
    }

    /// <summary>
    /// The health of each of <paramref name="slots"/> on <paramref name="rigId"/>: maintenance and quarantine as stored (they
    /// hold until a golden pass or the operator's `good`); otherwise from the strikes since the slot's health was reset.
    /// </summary>
    public IReadOnlyList<SlotHealthStatus> SlotHealth(string rigId, IEnumerable<int> slots, HealthThresholds thresholds)
    {
        ArgumentException.ThrowIfNullOrEmpty(rigId);
        ArgumentNullException.ThrowIfNull(slots);
        ArgumentNullException.ThrowIfNull(thresholds);
        using var db = OpenConnection();
        using var tx = db.BeginTransaction();
        return [.. slots.Order().Select(slot => HealthOf(db, tx, rigId, slot, thresholds))];
    }

    /// <summary>
    /// Brings the stored health of a slot up to date with its strikes (after an attempt was recorded); quarantine, once
    /// reached, is stored and holds. Returns the health before and after.
    /// </summary>
    public (SlotHealthStatus Before, SlotHealthStatus After) RefreshSlotHealth(string rigId, int slot, HealthThresholds thresholds, DateTimeOffset at)
    {
        ArgumentException.ThrowIfNullOrEmpty(rigId);
        ArgumentNullException.ThrowIfNull(thresholds);
        (SlotHealthStatus, SlotHealthStatus) change = default;
        Write((db, tx) =>
        {
            var stored = StoredHealth(db, tx, rigId, slot);
            var before = stored is null ? new SlotHealthStatus(slot, SlotHealthState.Unknown, "no health recorded yet", null, 0, 0, 0, 0, new Dictionary<FailureKind, int>())
                : new SlotHealthStatus(slot, SlotHealthStates.Parse(stored.State), stored.Reason, StoreText.ParseTime(stored.Since), 0, 0, 0, 0, new Dictionary<FailureKind, int>());
            var after = HealthOf(db, tx, rigId, slot, thresholds);
            if (stored is null || stored.State != after.State.ToName())
                Upsert(db, tx, rigId, slot, after.State, after.Reason, after.Since ?? DateTimeOffset.UnixEpoch, at);
            change = (before, after);
        });
        return change;
    }

    /// <summary>
    /// Sets a slot's health (the operator's `slots set`, or a golden Core's pass). <see cref="SlotHealthState.Good"/> resets
    /// the count: strikes before <paramref name="at"/> no longer weigh.
    /// </summary>
    public void SetSlotHealth(string rigId, int slot, SlotHealthState state, string reason, DateTimeOffset at)
    {
        ArgumentException.ThrowIfNullOrEmpty(rigId);
        ArgumentException.ThrowIfNullOrEmpty(reason);
        Write((db, tx) =>
        {
            var since = state == SlotHealthState.Good ? at
                : StoredHealth(db, tx, rigId, slot) is { } stored ? StoreText.ParseTime(stored.Since) : DateTimeOffset.UnixEpoch;
            Upsert(db, tx, rigId, slot, state, reason, since, at);
        });
    }

    private static void Upsert(System.Data.IDbConnection db, System.Data.IDbTransaction tx, string rigId, int slot, SlotHealthState state, string reason, DateTimeOffset since, DateTimeOffset at) =>
        db.Execute(
            """
            INSERT INTO slot_health (rig_id, slot, state, reason, since, changed_at) VALUES (@rigId, @slot, @state, @reason, @since, @at)
            ON CONFLICT (rig_id, slot) DO UPDATE SET state = excluded.state, reason = excluded.reason, since = excluded.since, changed_at = excluded.changed_at
            """,
            new { rigId, slot, state = state.ToName(), reason, since = StoreText.Time(since), at = StoreText.Time(at) }, tx);

    private static void SetConfirmation(System.Data.IDbConnection db, System.Data.IDbTransaction tx, Guid resultId, Confirmation confirmation) =>
        db.Execute("UPDATE screen_attempts SET confirmation = @c WHERE result_id = @id", new { c = confirmation.ToName(), id = StoreText.Id(resultId) }, tx);

    /// <summary>The DFU serial of a "dfu-SERIAL" key (a Core known only in DFU); null for any other key.</summary>
    private static string? SerialOf(string deviceId) =>
        deviceId.StartsWith("dfu-", StringComparison.OrdinalIgnoreCase) ? deviceId[4..].ToUpperInvariant() : null;

    /// <summary>A DFU-serial key ("dfu-SERIAL") becomes the device id the store links the serial to, when it knows one.</summary>
    private static string CanonicalDevice(System.Data.IDbConnection db, System.Data.IDbTransaction tx, string deviceId, string? dfuSerial)
    {
        var id = deviceId.ToLowerInvariant();
        var serial = dfuSerial ?? SerialOf(deviceId);
        if (!id.StartsWith("dfu-", StringComparison.Ordinal) || serial is null) return id;
        return db.QueryFirstOrDefault<string?>("SELECT device_id FROM device_links WHERE dfu_serial = @serial", new { serial }, tx) ?? id;
    }

    private const string AttemptColumns =
        """
        SELECT result_id AS ResultId, run_id AS RunId, rig_id AS RigId, device_id AS DeviceId, dfu_serial AS DfuSerial, slot AS Slot,
               verdict AS Verdict, failure_kind AS FailureKind, failure_mode AS FailureMode, confirmation AS Confirmation, at AS At
        FROM screen_attempts
        """;

    /// <summary>A device's attempts: under its id, under its linked DFU serials (as "dfu-SERIAL" keys), or with those serials.</summary>
    private static List<ScreenAttempt> AttemptsOf(System.Data.IDbConnection db, System.Data.IDbTransaction tx, string deviceId, string? dfuSerial)
    {
        var serials = db.Query<string>("SELECT dfu_serial FROM device_links WHERE device_id = @deviceId", new { deviceId }, tx).ToList();
        if (dfuSerial is not null && !serials.Contains(dfuSerial)) serials.Add(dfuSerial);
        var keys = new List<string> { deviceId };
        keys.AddRange(serials.Select(s => $"dfu-{s.ToLowerInvariant()}"));
        // one query per key (a device has one id and few serials): the same SQL on both engines
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var rows = new List<AttemptRow>();
        foreach (var key in keys)
            rows.AddRange(db.Query<AttemptRow>(AttemptColumns + " WHERE device_id = @key", new { key }, tx).Where(r => seen.Add(r.ResultId)));
        foreach (var serial in serials)
            rows.AddRange(db.Query<AttemptRow>(AttemptColumns + " WHERE dfu_serial = @serial", new { serial }, tx).Where(r => seen.Add(r.ResultId)));
        return [.. rows.Select(r => r.ToAttempt()).OrderBy(a => a.At)];
    }

    private static HealthRow? StoredHealth(System.Data.IDbConnection db, System.Data.IDbTransaction tx, string rigId, int slot) =>
        db.QuerySingleOrDefault<HealthRow>(
            "SELECT state AS State, reason AS Reason, since AS Since FROM slot_health WHERE rig_id = @rigId AND slot = @slot", new { rigId, slot }, tx);

    private static SlotHealthStatus HealthOf(System.Data.IDbConnection db, System.Data.IDbTransaction tx, string rigId, int slot, HealthThresholds thresholds)
    {
        var stored = StoredHealth(db, tx, rigId, slot);
        var since = stored is null ? (DateTimeOffset?)null : StoreText.ParseTime(stored.Since);
        var from = StoreText.Time(since ?? DateTimeOffset.UnixEpoch);
        var attempts = db.Query<AttemptRow>(AttemptColumns + " WHERE rig_id = @rigId AND slot = @slot AND at >= @from", new { rigId, slot, from }, tx)
            .Select(r => r.ToAttempt()).ToList();
        // rig faults of any procedure on this rig's slot (screen, soak, life commands), not only screening's final rows
        var faults = db.Query<FaultRow>(
            """
            SELECT r.device_id AS DeviceId, r.run_id AS RunId, r.verdict AS Verdict, r.failure_mode AS FailureMode, r.failure_kind AS FailureKind
            FROM results r JOIN runs ru ON ru.id = r.run_id
            WHERE ru.rig_id = @rigId AND r.slot = @slot AND r.verdict = 'rig-fault' AND r.ended_at >= @from
            """, new { rigId, slot, from }, tx)
            .Select(f => (Key: f.DeviceId.StartsWith("slot-", StringComparison.Ordinal) ? $"{f.DeviceId}@{f.RunId}" : f.DeviceId,
                Kind: f.FailureKind is { } k ? FailureKinds.Parse(k) : FailureKinds.Of(Verdict.RigFault, f.FailureMode), f.FailureMode))
            // an empty slot is no fault of its hardware: nothing was there to judge
            .Where(f => f.Kind.IsSlotHardware() && f.FailureMode != FailureModes.SlotEmpty)
            .ToList();
        var unconfirmed = attempts.Where(a => a.Kind == FailureKind.Dut && a.Confirmation is Confirmation.Unconfirmed or Confirmation.Refuted)
            .Select(a => a.DeviceId).ToHashSet(StringComparer.Ordinal);
        var confirmed = attempts.Where(a => a.Kind == FailureKind.Dut && a.Confirmation == Confirmation.Confirmed)
            .Select(a => a.DeviceId).ToHashSet(StringComparer.Ordinal);
        var strikes = unconfirmed.Concat(faults.Select(f => f.Key)).ToHashSet(StringComparer.Ordinal);
        var devices = attempts.Select(a => a.DeviceId).Distinct(StringComparer.Ordinal).Count();
        var byKind = faults.GroupBy(f => f.Kind).ToDictionary(g => g.Key, g => g.Count());
        SlotHealthStatus With(SlotHealthState state, string reason) =>
            new(slot, state, reason, since, devices, strikes.Count, unconfirmed.Count, confirmed.Count, byKind);

        if (stored is not null && SlotHealthStates.Parse(stored.State).KeepsOut())
            return With(SlotHealthStates.Parse(stored.State), stored.Reason);
        var counted = $"{strikes.Count} device(s) with a slot rig fault or an unconfirmed failure";
        if (strikes.Count >= thresholds.QuarantineAfter)
            return With(SlotHealthState.Quarantined, $"{counted} (quarantineAfter {thresholds.QuarantineAfter}): put a known-good Core in it and run `hilrig doctor --golden DEVICE --slot {slot}`");
        if (strikes.Count >= thresholds.SuspectAfter)
            return With(SlotHealthState.Suspect, $"{counted} (suspectAfter {thresholds.SuspectAfter}): its failures want confirming in another slot");
        if (stored?.State == SlotHealthState.Good.ToName() || devices > 0 || faults.Count > 0)
            return With(SlotHealthState.Good, stored?.State == SlotHealthState.Good.ToName() && devices == 0 ? stored.Reason : $"{devices} device(s) judged, no strikes");
        return With(SlotHealthState.Unknown, "nothing judged in this slot yet");
    }

    private sealed class AttemptRow
    {
        public string ResultId { get; set; } = "";
        public string RunId { get; set; } = "";
        public string RigId { get; set; } = "";
        public string DeviceId { get; set; } = "";
        public string? DfuSerial { get; set; }
        public long Slot { get; set; }
        public string Verdict { get; set; } = "";
        public string? FailureKind { get; set; }
        public string? FailureMode { get; set; }
        public string Confirmation { get; set; } = "";
        public string At { get; set; } = "";

        public ScreenAttempt ToAttempt()
        {
            var verdict = StoreText.ParseVerdict(Verdict);
            return new ScreenAttempt(Guid.Parse(ResultId), Guid.Parse(RunId), RigId, DeviceId, DfuSerial, (int)Slot, verdict,
                FailureKind is { } k ? FailureKinds.Parse(k) : FailureKinds.Of(verdict, FailureMode), FailureMode,
                Confirmations.Parse(Confirmation), StoreText.ParseTime(At));
        }
    }

    private sealed class FaultRow
    {
        public string DeviceId { get; set; } = "";
        public string RunId { get; set; } = "";
        public string Verdict { get; set; } = "";
        public string? FailureMode { get; set; }
        public string? FailureKind { get; set; }
    }

    private sealed class HealthRow
    {
        public string State { get; set; } = "";
        public string Reason { get; set; } = "";
        public string Since { get; set; } = "";
    }
}
