using HilRig.Core.Dfu;
using HilRig.Core.Slots;
using HilRig.Core.Usb;

namespace HilRig.Core.Procedures;

/// <summary>What putting one interrupted Core back from the journal found and did.</summary>
/// <param name="Completed">Every region reads back as saved: the Core's journal was removed.</param>
public sealed record JournalRecoveryResult(
    int Slot,
    string DfuSerial,
    string? DeviceId,
    Verdict Verdict,
    string? FailureMode,
    string Signature,
    bool Completed,
    TimeSpan DeviceTime,
    IReadOnlyList<string> Log)
{
    /// <summary>The test name its row is stored under.</summary>
    public const string TestName = "journal-restore";
}

/// <summary>
/// `hilrig recover` and the start of every screen: for a Core whose destructive procedure was interrupted (crash,
/// power cut, SIGKILL), enter DFU, check it is the same Core (its DFU serial), compare every saved region and write back
/// each one that differs, read it back against the saved hash; the keys too. Only when all verify is the journal
/// removed; otherwise it stays (the originals stay safe on disk) and the failure is reported.
/// </summary>
public sealed class JournalRecovery(IUsbBus bus, TimeProvider time, DfuHostOptions? dfu = null)
{
    public async Task<JournalRecoveryResult> RunAsync(RigSlot slot, RegionJournal.CoreJournal journal, bool leaveDfu = true, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(slot);
        ArgumentNullException.ThrowIfNull(journal);
        var start = time.GetTimestamp();
        var manifest = journal.Manifest;
        var log = new List<string>();
        JournalRecoveryResult Result(Verdict verdict, string? mode, string signature, bool completed) =>
            new(slot.Number, manifest.DfuSerial, journal.Manifest.DeviceId, verdict, mode, signature, completed, time.GetElapsedTime(start), log);

        try
        {
            await Choreography.EnterDfuAsync(slot, bus, time, ct);
        }
        catch (ChoreographyException ex)
        {
            return Result(Verdict.RigFault, FailureModes.NoDfu, $"interrupted Core {manifest.DfuSerial} not put back: no DFU at {slot} ({ex.Message}); the journal keeps its originals", false);
        }

        try
        {
            using var session = await DfuSeHost.OpenAsync(bus, slot.UsbPath, time, dfu, ct);
            if (!string.Equals(session.Serial, manifest.DfuSerial, StringComparison.Ordinal))
                return Result(Verdict.RigFault, FailureModes.WrongDevice,
                    $"{slot} holds DFU serial {session.Serial}, not the interrupted Core {manifest.DfuSerial}: put that Core back in {slot} (or another slot) and run `hilrig recover`", false);

            var restored = 0;
            var bad = new List<string>();
            foreach (var region in manifest.Regions)
            {
                if (journal.Original(region) is not { } original)
                {
                    bad.Add($"{region}: the journal's copy is missing or does not match its hash");
                    continue;
                }
                await session.SelectAltAsync(region.Alt, ct);
                var now = await session.UploadAsync(region.Start, region.Length, null, ct);
                if (now.AsSpan().SequenceEqual(original))
                {
                    log.Add($"{region}: intact");
                    continue;
                }
                log.Add($"{region}: {SlotDfu.Difference(original, now, region.Start)}; writing the original back");
                var keys = region.Alt == 1 && region.Start < DfuSeSession.SpiKeyRegionEnd;
                await session.DownloadAsync(region.Start, original, new DfuDownloadOptions { AllowKeyRegion = keys }, null, ct);
                var back = await session.UploadAsync(region.Start, region.Length, null, ct);
                if (SlotDfu.Difference(original, back, region.Start) is { } still)
                    bad.Add($"{region}: does not read back as saved ({still})");
                else
                {
                    restored++;
                    log.Add($"{region}: restored and verified (sha256 {region.Sha256[..16]}...)");
                }
            }
            if (leaveDfu) await session.LeaveAsync(null, ct);
            if (bad.Count > 0)
                return Result(Verdict.Fail, FailureModes.BadExternalFlash,
                    $"interrupted Core {manifest.DfuSerial}: {string.Join("; ", bad)}; the journal keeps the originals", false);
            journal.Complete();
            return Result(Verdict.Pass, null,
                $"interrupted {manifest.Procedure} of Core {manifest.DfuSerial} (since {manifest.StartedAt:u}): {restored} of {manifest.Regions.Count} region(s) written back, all {manifest.Regions.Count} verified against the journal", true);
        }
        catch (UsbException ex) when (ex.Error == UsbError.Timeout)
        {
            // BUSY never clears: leave the Core off rather than hung in DFU (checked: a contact that sticks is switched again)
            try
            {
                await RelaySwitch.CutAsync(slot, bus, time, ct);
            }
            catch (SlotLineException cut)
            {
                log.Add(cut.Message);
            }
            return Result(Verdict.Fail, FailureModes.BadExternalFlash,
                $"interrupted Core {manifest.DfuSerial}: the flash stopped answering while its regions were put back ({ex.Message}); the journal keeps the originals", false);
        }
        catch (Exception ex) when (ex is UsbException or DfuException or DfuRequestRefusedException)
        {
            return Result(Verdict.RigFault, FailureModes.UsbTransport, $"interrupted Core {manifest.DfuSerial} not put back: {ex.Message}; the journal keeps its originals", false);
        }
    }

    /// <summary>
    /// Every interrupted procedure of a Core in this slot put back (screen's start, soak's start, and after a rig fault
    /// mid-readback). Returns a result only when the Core here could not be put back (its regions do not read back as
    /// saved: a verdict on it, or a rig fault); a journal of another Core waits for that Core.
    /// </summary>
    /// <param name="restored">Called for every interrupted Core put back (or not), so the caller can record it.</param>
    public async Task<JournalRecoveryResult?> RecoverSlotAsync(RigSlot slot, RegionJournal? journal, Action<string> step, List<string> log,
        Action<JournalRecoveryResult>? restored, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(slot);
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(log);
        if (journal is null) return null;
        foreach (var pending in journal.Pending().Where(j => SlotOf([slot], j.Manifest) is not null))
        {
            step("restore from journal");
            var result = await RunAsync(slot, pending, leaveDfu: true, ct);
            log.Add($"         {result.Signature}");
            log.AddRange(result.Log.Select(l => $"         {l}"));
            restored?.Invoke(result);
            if (result.Verdict == Verdict.Pass)
            {
                await WaitForBootAsync(bus, time, slot, ct);
                continue;
            }
            // another Core in the slot: its own procedure goes on, the journal waits for the interrupted one
            if (result.FailureMode == FailureModes.WrongDevice) continue;
            return result;
        }
        return null;
    }

    /// <summary>
    /// After the rig lost the Core mid-readback (a worn contact, a cable, a brown-out): its regions may hold the readback's
    /// patterns. Puts them back from the journal at once, so the Core does not leave the slot with its factory image
    /// erased; what cannot be put back now stays in the journal for the next command.
    /// </summary>
    /// <returns>Whether the slot's journal is empty again (nothing was pending, or all put back and verified), and what to
    /// add to the rig fault's signature.</returns>
    public async Task<(bool Whole, string Note)> PutBackAfterRigFaultAsync(RigSlot slot, RegionJournal? journal, List<string> log,
        Action<JournalRecoveryResult>? restored, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(slot);
        ArgumentNullException.ThrowIfNull(log);
        if (journal is null || !journal.Pending().Any(j => SlotOf([slot], j.Manifest) is not null)) return (true, "");
        for (var attempt = 1; ; attempt++)
        {
            // a contact that let go comes back after a while: reset the Core only once it is on the bus again
            var begin = time.GetTimestamp();
            while (!bus.GetDevices().Any(d => d.Path == slot.UsbPath && d.Descriptor.VendorId == Spark.SparkUsb.VendorId) && time.GetElapsedTime(begin) < PutBackWait)
                await Task.Delay(ChoreographyRunner.UsbPollInterval, time, ct);
            string? failed;
            try
            {
                var unrecovered = await RecoverSlotAsync(slot, journal, s => log.Add($"{s} (after the rig fault)"), log, restored, ct);
                if (unrecovered is null) return (true, "; the Core's regions were put back from the journal and verified");
                failed = unrecovered.Signature;
            }
            catch (Exception ex) when (ex is UsbException or DfuException or ChoreographyException or DfuRequestRefusedException or SlotLineException)
            {
                failed = $"the journal keeps the Core's originals for the next command ({ex.Message})";
            }
            log.Add($"         put back, try {attempt}: {failed}");
            if (attempt >= PutBackTries) return (false, $"; {failed}");
        }
    }

    /// <summary>How long a Core lost mid-readback is waited for on the bus before it is put back.</summary>
    private static readonly TimeSpan PutBackWait = TimeSpan.FromSeconds(10);

    private const int PutBackTries = 3;

    /// <summary>Waits for the bootloader to let go of USB after a leave, then for the app to start.</summary>
    public static async Task WaitForBootAsync(IUsbBus bus, TimeProvider time, RigSlot slot, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(bus);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(slot);
        var begin = time.GetTimestamp();
        while (Choreography.FindDfu(bus, slot.UsbPath) is not null && time.GetElapsedTime(begin) < TimeSpan.FromSeconds(5))
            await Task.Delay(ChoreographyRunner.UsbPollInterval, time, ct);
        // the bootloader decides within a moment; a Core that falls back into DFU re-enumerates as one
        await Task.Delay(Identify.AppStart + TimeSpan.FromSeconds(1), time, ct);
    }

    /// <summary>The slot a journal names, found by its USB path first (a slot's number may be renumbered in the config).</summary>
    public static RigSlot? SlotOf(IEnumerable<RigSlot> slots, JournalManifest manifest) =>
        slots.FirstOrDefault(s => s.UsbPath == manifest.UsbPath) ?? slots.FirstOrDefault(s => s.Number == manifest.Slot);
}
