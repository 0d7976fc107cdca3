using HilRig.Core.Config;
using HilRig.Core.Procedures;

namespace HilRig.Core.Results;

/// <summary>What the ledger made of one slot's final screening verdict.</summary>
/// <param name="Advice">For an unconfirmed failure: which slot to move the Core to, to confirm it (null otherwise).</param>
/// <param name="HealthChanges">Slots whose health changed because of it ("slot 3: good -> suspect (...)").</param>
public sealed record LedgerEntry(int Slot, string DeviceId, AttemptDecision Decision, string? Advice, IReadOnlyList<string> HealthChanges);

/// <summary>
/// The confirmation policy and slot health of one rig over its results store (issue 14.2): which slots screen and soak
/// may use, each final screening verdict's confirmation, the slots it points at, and what the operator should do next.
/// </summary>
public sealed class ScreeningLedger(ResultsStore store, string rigId, ScreeningPolicy policy, TimeProvider wall)
{
    // slots already proposed for a Core's confirmation by this ledger: the next Core is sent elsewhere when it can be
    private readonly HashSet<int> _advised = [];

    public ScreeningPolicy Policy { get; } = policy;

    public IReadOnlyList<SlotHealthStatus> Health(IEnumerable<int> slots) => store.SlotHealth(rigId, slots, Policy.Health);

    /// <summary>The slots a command may drive, and those it must leave alone (quarantined, maintenance) with their health.</summary>
    public (IReadOnlyList<int> Usable, IReadOnlyList<SlotHealthStatus> KeptOut) Usable(IEnumerable<int> slots)
    {
        var health = Health(slots);
        return ([.. health.Where(h => !h.State.KeepsOut()).Select(h => h.Slot)], [.. health.Where(h => h.State.KeepsOut())]);
    }

    /// <summary>One line for the slots kept out, e.g. "slot 3 quarantined, slot 6 maintenance: not used (hilrig slots says why)".</summary>
    public static string? KeptOutLine(IReadOnlyList<SlotHealthStatus> keptOut) =>
        keptOut.Count == 0 ? null
        : $"{string.Join(", ", keptOut.Select(k => $"slot {k.Slot} {k.State.ToName()}"))}: not used (`hilrig slots` says why; `hilrig doctor --golden DEVICE --slot N` returns a slot to good)";

    /// <summary>
    /// Records a final screening verdict (the row the recorder stored) and brings the health of its slot, and of every slot
    /// a refuted failure points at, up to date. <paramref name="rigSlots"/> are the rig's slots, to advise where to confirm.
    /// </summary>
    public LedgerEntry Record(StoredResult stored, string? dfuSerial, IReadOnlyList<int> rigSlots)
    {
        ArgumentNullException.ThrowIfNull(stored);
        ArgumentNullException.ThrowIfNull(rigSlots);
        var now = wall.GetUtcNow();
        var decision = store.RecordScreenAttempt(rigId, stored, dfuSerial, Policy.Confirm, now);
        var changes = new List<string>();
        foreach (var slot in decision.Refuted.Select(r => r.Slot).Append(stored.Slot).Distinct().Order())
        {
            var (before, after) = store.RefreshSlotHealth(rigId, slot, Policy.Health, now);
            if (before.State != after.State)
                changes.Add($"slot {slot}: {before.State.ToName()} -> {after.State.ToName()} ({after.Reason})");
        }
        string? advice = null;
        if (decision.Confirmation == Confirmation.Unconfirmed)
        {
            var id = stored.DeviceId;
            var health = Health(rigSlots);
            var tried = decision.FailedSlots;
            // a slot it has not failed in (when the policy changes slot), usable, healthiest first
            var target = health.Where(h => !h.State.KeepsOut() && (!Policy.Confirm.ChangeSlot || !tried.Contains(h.Slot)))
                .OrderBy(h => _advised.Contains(h.Slot) ? 1 : 0)
                .ThenBy(h => h.State switch { SlotHealthState.Good => 0, SlotHealthState.Unknown => 1, _ => 2 })
                .ThenBy(h => h.Slot)
                .FirstOrDefault();
            if (target is not null) _advised.Add(target.Slot);
            var attempt = Policy.Confirm.Attempts - decision.Needed;
            advice = target is null
                ? $"device {id} failed in slot {stored.Slot} (unconfirmed, {attempt} of {Policy.Confirm.Attempts} failing attempts): no usable slot it has not failed in; return a slot to service to confirm it"
                : $"device {id} failed in slot {stored.Slot} (unconfirmed, {attempt} of {Policy.Confirm.Attempts} failing attempts): move it to slot {target.Slot} and screen it there (`hilrig screen --slots {target.Slot}`) to confirm";
        }
        foreach (var refuted in decision.Refuted)
            changes.Insert(0, $"device {stored.DeviceId} passed in slot {stored.Slot} after failing in slot {refuted.Slot}: that failure points at slot {refuted.Slot}");
        return new LedgerEntry(stored.Slot, stored.DeviceId, decision, advice, changes);
    }

    /// <summary>The operator's word on a slot (`hilrig slots set N maintenance|good`).</summary>
    public void Set(int slot, SlotHealthState state, string reason) => store.SetSlotHealth(rigId, slot, state, reason, wall.GetUtcNow());
}
