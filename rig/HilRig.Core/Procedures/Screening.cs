using HilRig.Core.Chips;
using HilRig.Core.Cloud;
using HilRig.Core.Dfu;
using HilRig.Core.Led;
using HilRig.Core.Slots;
using HilRig.Core.Spark;
using HilRig.Core.Usb;

namespace HilRig.Core.Procedures;

/// <summary>One slot's verdict with what was seen.</summary>
public sealed record SlotOutcome(
    int Slot,
    string? DeviceId,
    string? Lot,
    string Test,
    Verdict Verdict,
    string? FailureMode,
    string Signature,
    TimeSpan DeviceTime,
    DateTimeOffset StartedAt,
    DateTimeOffset EndedAt,
    ScreeningEvidence Evidence);

/// <param name="Loops">The OTA and factory-reset loops when screening ran them.</param>
/// <param name="Led">The slot's LED timeline over the procedure (times from the slot's start); null on a rig without colour sensors.</param>
public sealed record ScreeningEvidence(
    string? DfuSerial,
    string? Step,
    string? Error,
    DfuReadbackResult? Readback,
    IReadOnlyList<string> Log,
    IReadOnlyList<LedEvidence>? Led = null,
    IReadOnlyList<LoopResult>? Loops = null);

/// <summary>One LED timeline segment as evidence: seconds from the start of the slot's procedure, the state as users say it.</summary>
public sealed record LedEvidence(double Start, double End, string State, double Confidence)
{
    /// <summary>The segments of <paramref name="timeline"/> that reach past <paramref name="from"/>, clipped to it and made relative.</summary>
    public static IReadOnlyList<LedEvidence> From(LedTimeline timeline, TimeSpan from) =>
    [
        .. timeline.Segments
            .Where(s => s.End > from)
            .Select(s => new LedEvidence(
                Math.Round(Math.Max(0, (s.Start - from).TotalSeconds), 3),
                Math.Round((s.End - from).TotalSeconds, 3),
                s.State.ToString(),
                Math.Round(s.Confidence, 2))),
    ];
}

/// <summary>Progress of one slot, for live displays.</summary>
public sealed record SlotProgress(int Slot, string Step);

public sealed record ScreeningOptions
{
    public DfuReadbackOptions Readback { get; init; } = new();

    public DfuHostOptions? Dfu { get; init; }

    /// <summary>Leave DFU at the end so the Core boots its (restored) app and goes out ship-ready.</summary>
    public bool LeaveDfu { get; init; } = true;

    /// <summary>With a cloud and an OTA image, screening also runs the OTA loop and the factory reset loop.</summary>
    public ICloud? Cloud { get; init; }

    public byte[]? OtaImage { get; init; }

    /// <summary>The identity the OTA image reports once it runs (null: any app other than the old one).</summary>
    public string? OtaApp { get; init; }

    /// <summary>
    /// Called as each step that precedes the slot's final verdict is judged (the readback, then each loop), so a caller
    /// can store it before the next step starts; the final verdict still comes through the result callback.
    /// </summary>
    public Action<SlotOutcome>? StepJudged { get; init; }

    /// <summary>The store's links between DFU serials and device ids: a Core that arrives in DFU is keyed by its device id when known.</summary>
    public IDeviceLinks? Links { get; init; }

    /// <summary>
    /// A known-good app written to a Core that arrived in DFU and does not boot its own after the readback, so it runs an
    /// app again and says its device id (null: such a Core is judged and keyed by its DFU serial alone).
    /// </summary>
    public byte[]? RecoveryApp { get; init; }
}

/// <summary>Links between a Core's DFU serial (the USB iSerial of its bootloader) and its device id, kept by the results store.</summary>
public interface IDeviceLinks
{
    /// <summary>The device id last seen with <paramref name="dfuSerial"/>; null when never linked.</summary>
    string? DeviceIdFor(string dfuSerial);

    /// <summary>Records that the Core with <paramref name="deviceId"/> reports <paramref name="dfuSerial"/> in DFU.</summary>
    void Link(string dfuSerial, string deviceId);
}

/// <summary>
/// `hilrig screen`: identify the Core, enter DFU by buttons, run the DFU readback, leave DFU; with a cloud and an
/// image, then the OTA loop and the factory reset loop (the seed's two symptoms), one verdict per device.
/// Every slot runs in parallel; a rig problem is a rig fault for that slot only.
/// </summary>
public sealed class Screening(IUsbBus bus, TimeProvider time, ScreeningOptions? options = null)
{
    public const string TestName = "dfu-readback";

    private readonly ScreeningOptions _options = options ?? new ScreeningOptions();

    public async Task<IReadOnlyList<SlotOutcome>> RunAsync(
        IEnumerable<RigSlot> slots, Action<SlotOutcome>? onResult = null, IProgress<SlotProgress>? progress = null, CancellationToken ct = default)
    {
        var tasks = slots.Select(async slot =>
        {
            var outcome = await RunSlotAsync(slot, progress, ct);
            onResult?.Invoke(outcome);
            return outcome;
        });
        return await Task.WhenAll(tasks);
    }

    private sealed record Judged(Verdict Verdict, string? FailureMode, string Signature);

    /// <summary>Waits for the bootloader to let go of USB after a leave, then for the app to start.</summary>
    private Task WaitForBootAsync(RigSlot slot, CancellationToken ct) => JournalRecovery.WaitForBootAsync(bus, time, slot, ct);

    /// <summary>
    /// Interrupted procedures of this slot's Cores (a crash mid-readback) are put back first. Returns an outcome only when
    /// the Core here could not be put back (its regions do not read back as saved: a verdict on it, or a rig fault).
    /// </summary>
    private Task<JournalRecoveryResult?> RecoverJournalsAsync(RigSlot slot, Action<string> step, List<string> log, CancellationToken ct) =>
        new JournalRecovery(bus, time, _options.Dfu).RecoverSlotAsync(slot, _options.Readback.Journal, step, log, JournalRestored, ct);

    /// <summary>After the rig lost the Core mid-readback: its regions put back from the journal at once (see <see cref="JournalRecovery.PutBackAfterRigFaultAsync"/>).</summary>
    private async Task<string> PutBackAsync(RigSlot slot, List<string> log, CancellationToken ct) =>
        (await new JournalRecovery(bus, time, _options.Dfu).PutBackAfterRigFaultAsync(slot, _options.Readback.Journal, log, JournalRestored, ct)).Note;

    /// <summary>Raised for every interrupted Core put back (or not) from the journal, so the caller can record it.</summary>
    public event Action<JournalRecoveryResult>? JournalRestored;

    private async Task<(string? Found, Judged? Nothing)> LookForCoreAsync(RigSlot slot, CancellationToken ct)
    {
        var found = await CoreSearch.LookAsync(bus, time, slot, ct);
        return found.FoundInDfu ? (found.Arrival, null) : (null, new Judged(found.Verdict!.Value, found.FailureMode, found.Signature!));
    }

    /// <summary>
    /// After the readback of a Core that arrived in DFU: leave DFU and see whether it boots an app; if it falls back into
    /// DFU and a known-good app is given, write that (its app area journaled first) and leave again; identify it over
    /// serial once it runs, link its DFU serial to its device id. Judges the readback and, for clean flash, whether the
    /// Core runs an app again. Null judgement: the Core runs and the life loops may follow.
    /// </summary>
    private async Task<(string? DeviceId, Judged? Judged)> ArrivedInDfuAsync(
        RigSlot slot, DfuSeSession session, string serial, string? deviceId, string arrival, DfuReadbackResult readback,
        Action<string> step, List<string> log, CancellationToken ct)
    {
        string With(string what) => readback.Verdict == Verdict.Fail ? $"{readback.Signature}; arrived {arrival}; {what}" : $"arrived {arrival}; {what}";
        if (!_options.LeaveDfu)
            return (deviceId, new Judged(readback.Verdict, readback.FailureMode, With("left in DFU as asked")));

        step("leave DFU");
        await session.LeaveAsync(null, ct);
        session.Dispose();
        await WaitForBootAsync(slot, ct);
        var context = new CoreLifeContext(bus, time, _options.Cloud);
        var booted = "boots its own app after the readback";
        if (Choreography.FindDfu(bus, slot.UsbPath) is not null)
        {
            if (_options.RecoveryApp is not { } app)
            {
                var stuck = "falls back into DFU at every boot (no valid app) and no known-good app was given to write";
                return (deviceId, readback.Verdict == Verdict.Fail
                    ? new Judged(Verdict.Fail, readback.FailureMode, With(stuck))
                    : new Judged(Verdict.Fail, FailureModes.StuckInDfu, With($"the external flash reads back clean but the Core {stuck}")));
            }
            step("write known-good app");
            await WriteRecoveryAppAsync(slot, serial, deviceId, app, log, ct);
            await WaitForBootAsync(slot, ct);
            booted = "runs a known-good app written over DFU";
            if (Choreography.FindDfu(bus, slot.UsbPath) is not null)
            {
                var still = "falls back into DFU even with a known-good app written and verified";
                return (deviceId, new Judged(Verdict.Fail, readback.Verdict == Verdict.Fail ? readback.FailureMode : FailureModes.StuckInDfu, With(still)));
            }
        }

        step("identify after DFU");
        var id = await new Identify(context).ReadDeviceIdAsync(slot, ct);
        if (id is null)
            return (deviceId, readback.Verdict == Verdict.Fail
                ? new Judged(Verdict.Fail, readback.FailureMode, With($"{booted} but answers no `i`"))
                : new Judged(Verdict.Fail, FailureModes.NoListeningMode, With($"{booted} but answers no `i` on its serial port")));
        if (SparkIdentity.DfuSerial(id) != serial)
            return (deviceId, new Judged(Verdict.RigFault, FailureModes.WrongDevice,
                $"serial says device {id} (DFU serial {SparkIdentity.DfuSerial(id)}) but the DFU device at {slot.UsbPath} was {serial}: check the slot's cabling"));
        _options.Links?.Link(serial, id);
        log.Add($"         DFU serial {serial} is device {id}");
        if (readback.Verdict == Verdict.Fail)
            return (id, new Judged(Verdict.Fail, readback.FailureMode, With($"{booted}; device id {id}")));
        if (_options.Cloud is null || _options.OtaImage is null)
            return (id, new Judged(Verdict.Pass, null, With($"no bit errors; {booted}; device id {id}")));
        return (id, null);
    }

    private async Task WriteRecoveryAppAsync(RigSlot slot, string serial, string? deviceId, byte[] app, List<string> log, CancellationToken ct)
    {
        using var session = await DfuSeHost.OpenAsync(bus, slot.UsbPath, time, _options.Dfu, ct);
        if (session.Serial != serial)
            throw new DfuRequestRefusedException($"DFU serial {session.Serial} at {slot.UsbPath} is not the Core read back ({serial})");
        await session.SelectAltAsync(0, ct);
        var journal = _options.Readback.Journal?.Begin(slot.Number, slot.UsbPath, serial, deviceId, "known-good app", time.GetUtcNow());
        var before = await session.UploadAsync(SparkMemoryMap.AppAddress, SparkMemoryMap.AppMaxSize, null, ct);
        journal?.Save("app", 0, SparkMemoryMap.AppAddress, before);
        CrashPoints.Hit("app area journaled");
        await session.DownloadAsync(SparkMemoryMap.AppAddress, app, null, null, ct);
        var back = await session.UploadAsync(SparkMemoryMap.AppAddress, app.Length, null, ct);
        if (SlotDfu.Difference(app, back, SparkMemoryMap.AppAddress) is { } diff)
            throw new DfuRequestRefusedException($"the known-good app does not read back as written ({diff})");
        log.Add($"         known-good app ({app.Length} bytes) written at 0x{SparkMemoryMap.AppAddress:X8} and read back");
        await session.LeaveAsync(null, ct);
        journal?.Complete();
    }

    /// <summary>
    /// A hang could be the chip (BUSY never clears) or the rig (a cable, a hub). Power-cycle the slot and try to put the
    /// region's saved content back: if that hangs too, the chip is at fault; if it works, the first hang was the rig's.
    /// </summary>
    private async Task<SlotOutcome> ConfirmHangAsync(
        RigSlot slot, FlashOperationHungException hung, string? serial, Action<string> step,
        Func<Verdict, string?, string, DfuReadbackResult?, string?, SlotOutcome> outcome, CancellationToken ct)
    {
        step("power cycle after hang");
        try
        {
            // the power cycle is the evidence: a relay that does not cut leaves the hang unexplained, so it is the rig's
            await RelaySwitch.CutAsync(slot, bus, time, ct);
        }
        catch (SlotLineException ex)
        {
            return outcome(Verdict.RigFault, FailureModes.RelayFault,
                $"the Core stopped answering during the {hung.Operation} of {hung.Region.Name} and could not be power-cycled to tell a hung chip from the rig: {ex.Message}; retest the Core in another slot",
                null, ex.ToString());
        }
        await Task.Delay(TimeSpan.FromSeconds(1), time, ct);
        step("enter DFU (retry)");
        try
        {
            // the switch on is checked by the Core reaching DFU: a contact that stayed open is switched again
            await RelaySwitch.SwitchOnAsync(slot, bus, time, async () =>
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), time, ct);
                try
                {
                    await Choreography.EnterDfuAsync(slot, bus, time, ct);
                    return true;
                }
                catch (ChoreographyException)
                {
                    return null;
                }
            }, [], ct: ct);
        }
        catch (SlotLineException ex)
        {
            return outcome(Verdict.RigFault, FailureModes.RelayFault,
                $"the Core stopped answering during the {hung.Operation} of {hung.Region.Name}; after the power cycle the relay could not be switched again: {ex.Message}; retest the Core in another slot",
                null, ex.ToString());
        }
        try
        {
            await Choreography.EnterDfuAsync(slot, bus, time, ct);
            using var session = await DfuSeHost.OpenAsync(bus, slot.UsbPath, time, _options.Dfu, ct);
            step($"restore {hung.Region.Name} (retry)");
            var restored = await new DfuReadback(time, _options.Readback).RestoreAsync(session, hung.Region, hung.Original, ct);
            // the regions before the hung one were put back already, those after it never touched: the Core is whole again
            if (restored) _options.Readback.Journal?.Pending().FirstOrDefault(j => j.Manifest.DfuSerial == session.Serial)?.Complete();
            if (_options.LeaveDfu) await session.LeaveAsync(null, ct);
            return outcome(Verdict.RigFault, FailureModes.UsbTransport,
                $"the Core stopped answering during the {hung.Operation} of {hung.Region.Name} once, then worked after a power cycle ({(restored ? "region restored and verified" : "region restore did not verify")}): retest the Core in another slot",
                null, hung.ToString());
        }
        catch (UsbException ex) when (ex.Error == UsbError.Timeout)
        {
            step("power off (flash hung again)");
            // Leave the Core powered off: it would sit hung in DFU otherwise (checked: a contact that sticks is switched again;
            // one that never opens is noted, the verdict is the flash's either way)
            try
            {
                await RelaySwitch.CutAsync(slot, bus, time, ct);
            }
            catch (SlotLineException cut)
            {
                step($"power off: {cut.Message}");
            }
            // The chip refused the restore: no later command can put it back either. Its journal entry is closed with this
            // fail row (the originals stay in the backups folder), so later commands neither warn nor retry it.
            var closed = CloseRefusedJournal(slot, serial);
            return outcome(Verdict.Fail, FailureModes.BadExternalFlash,
                $"SPI flash never finishes the {hung.Operation} of {hung.Region.Name} (0x{hung.Region.Start:X6}), again after a power cycle: BUSY stays set (dead or hung chip); the restore of {hung.Region.Name} was refused{(closed ? ", its journal entry closed with this verdict" : "")}",
                null, hung.ToString());
        }
        catch (Exception ex) when (ex is UsbException or ChoreographyException or DfuException)
        {
            return outcome(Verdict.RigFault, FailureModes.UsbTransport,
                $"the Core stopped answering during the {hung.Operation} of {hung.Region.Name}, and the retry failed too: {ex.Message}", null, ex.ToString());
        }
        catch (SensorException ex)
        {
            return outcome(Verdict.RigFault, FailureModes.SensorFault, SensorSignature(ex, "during the retry after a hang"), null, ex.ToString());
        }
    }

    /// <summary>Closes the journal of the Core whose chip refused its restore; true when one was open.</summary>
    private bool CloseRefusedJournal(RigSlot slot, string? serial)
    {
        if (serial is null || _options.Readback.Journal is not { } journal) return false;
        var open = journal.Pending().FirstOrDefault(j => j.Manifest.DfuSerial == serial && JournalRecovery.SlotOf([slot], j.Manifest) is not null);
        if (open is null) return false;
        open.Complete();
        return true;
    }

    /// <summary>
    /// OTA then factory reset, each judged alone; the verdict is the readback's diagnosis when it found one (bad flash
    /// explains the loops' symptoms), else the first failing loop's, else a rig fault if any loop could not be judged.
    /// </summary>
    private async Task<SlotOutcome> LifeLoopsAsync(
        RigSlot slot, string deviceId, DfuReadbackResult readback, Action<string> step,
        Func<Verdict, string?, string, DfuReadbackResult?, string?, SlotOutcome> outcome, List<string> log, CancellationToken ct)
    {
        var context = new CoreLifeContext(bus, time, _options.Cloud);
        var loops = new List<LoopResult>();
        step("app start after DFU");
        // the Core leaves DFU a moment after the host's leave; the app then starts into listening mode
        await context.WaitAsync(slot, deviceId, TimeSpan.FromSeconds(10), ct, CoreWhereabouts.Listening, CoreWhereabouts.Connected);
        step("OTA");
        loops.Add(await new Ota(context).RunAsync(slot, deviceId, _options.OtaImage!, _options.OtaApp, ct));
        StepJudged(loops[^1]);
        step("factory reset");
        loops.Add(await new FactoryReset(context).RunAsync(slot, deviceId, ct));
        StepJudged(loops[^1]);

        void StepJudged(LoopResult loop)
        {
            if (_options.StepJudged is not { } judged) return;
            var o = outcome(loop.Verdict, loop.FailureMode, loop.Signature, null, null);
            judged(o with { Test = loop.Loop, DeviceTime = loop.DeviceTime, StartedAt = o.EndedAt - loop.DeviceTime, Evidence = o.Evidence with { Loops = [loop] } });
        }
        foreach (var loop in loops) log.Add($"  {loop}");
        step("done");

        var all = $"readback: {readback.Signature}; {string.Join("; ", loops.Select(l => $"{l.Loop}: {(l.Verdict == Verdict.Pass ? "pass" : $"{l.FailureMode}: {l.Signature}")}"))}";
        var failed = loops.FirstOrDefault(l => l.Verdict == Verdict.Fail);
        var (verdict, mode) = readback.Verdict == Verdict.Fail ? (Verdict.Fail, readback.FailureMode)
            : failed is not null ? (Verdict.Fail, failed.FailureMode)
            : loops.FirstOrDefault(l => l.Verdict == Verdict.RigFault) is { } fault ? (Verdict.RigFault, fault.FailureMode)
            : (Verdict.Pass, null);
        var result = outcome(verdict, mode, all, readback, null);
        return result with { Test = LifeTestName, Evidence = result.Evidence with { Loops = loops } };
    }

    /// <summary>The test name when screening ran the OTA and factory reset loops too.</summary>
    public const string LifeTestName = "screen";

    /// <summary>
    /// Screens one slot and keeps its LED timeline with the result. A colour sensor that stopped answering (before or
    /// during the procedure) makes it a rig fault, <see cref="FailureModes.SensorFault"/>, whatever the readback said:
    /// the evidence is incomplete, so the Core is retested, never judged.
    /// </summary>
    public async Task<SlotOutcome> RunSlotAsync(RigSlot slot, IProgress<SlotProgress>? progress = null, CancellationToken ct = default)
    {
        var led = slot.Led;
        if (led?.Fault is { } before)
        {
            var now = time.GetUtcNow();
            return new SlotOutcome(slot.Number, null, slot.Lot, TestName, Verdict.RigFault, FailureModes.SensorFault,
                SensorSignature(before, "before screening"), TimeSpan.Zero, now, now,
                new ScreeningEvidence(null, "check colour sensor", before.ToString(), null, [], []));
        }
        var ledFrom = led?.Now ?? TimeSpan.Zero;
        var outcome = await ScreenSlotAsync(slot, progress, ct);
        if (led is null) return outcome;
        var evidence = outcome.Evidence with { Led = LedEvidence.From(led.Timeline(ledFrom), ledFrom) };
        if (led.Fault is { } during)
        {
            var judged = outcome.Verdict is Verdict.Pass or Verdict.Fail ? $"; the readback alone said {outcome.Verdict.ToName()}: {outcome.Signature}" : "";
            return outcome with
            {
                Verdict = Verdict.RigFault,
                FailureMode = FailureModes.SensorFault,
                Signature = SensorSignature(during, $"during {outcome.Evidence.Step}") + judged,
                Evidence = evidence with { Error = during.ToString() },
            };
        }
        return outcome with { Evidence = evidence };
    }

    private static string SensorSignature(SensorException fault, string when) =>
        $"colour sensor failed {when} ({fault.Message}): check its cable and mux channel, then retest the Core";

    private async Task<SlotOutcome> ScreenSlotAsync(RigSlot slot, IProgress<SlotProgress>? progress, CancellationToken ct)
    {
        var startedAt = time.GetUtcNow();
        var start = time.GetTimestamp();
        var log = new List<string>();
        string? deviceId = null;
        string? serial = null;
        var step = "identify";

        void Step(string name)
        {
            step = name;
            log.Add($"{time.GetElapsedTime(start).TotalSeconds,8:0.000} s {name}");
            progress?.Report(new SlotProgress(slot.Number, name));
        }

        SlotOutcome Outcome(Verdict verdict, string? mode, string signature, DfuReadbackResult? readback = null, string? error = null) =>
            new(slot.Number, deviceId, slot.Lot, TestName, verdict, mode, signature, time.GetElapsedTime(start), startedAt, time.GetUtcNow(),
                new ScreeningEvidence(serial, step, error, readback, log));

        try
        {
            if (await RecoverJournalsAsync(slot, Step, log, ct) is { } unrecovered)
            {
                deviceId = unrecovered.DeviceId;
                serial = unrecovered.DfuSerial;
                return Outcome(unrecovered.Verdict, unrecovered.FailureMode, unrecovered.Signature);
            }

            Step("identify");
            deviceId = await slot.Identity.ReadDeviceIdAsync(ct);
            string? arrival = null;
            if (deviceId is null)
            {
                Step("look for the Core");
                var (found, nothing) = await LookForCoreAsync(slot, ct);
                if (nothing is { } absent)
                {
                    log.Add($"         {absent.Signature}");
                    return Outcome(absent.Verdict, absent.FailureMode, absent.Signature);
                }
                arrival = found;
                log.Add($"         no answer to `i`: {arrival}");
            }

            Step("enter DFU");
            await Choreography.EnterDfuAsync(slot, bus, time, ct);

            Step("open DFU");
            using var session = await DfuSeHost.OpenAsync(bus, slot.UsbPath, time, _options.Dfu, ct);
            serial = session.Serial;
            if (deviceId is not null)
            {
                var expected = SparkIdentity.DfuSerial(deviceId);
                if (!string.Equals(serial, expected, StringComparison.Ordinal))
                    return Outcome(Verdict.RigFault, FailureModes.WrongDevice,
                        $"DFU serial {serial} at {slot.UsbPath} does not belong to device {deviceId} (expected {expected}): check the slot's cabling");
                _options.Links?.Link(serial, deviceId);
            }
            else if (_options.Links?.DeviceIdFor(serial) is { } linked && SparkIdentity.DfuSerial(linked) == serial)
            {
                deviceId = linked;
                log.Add($"         DFU serial {serial} is device {linked} (linked in the store)");
            }

            Step("readback");
            var readback = await new DfuReadback(time, _options.Readback).RunAsync(session, deviceId ?? $"dfu-{serial}", null, ct, slot.Number, deviceId);

            if (arrival is not null)
            {
                var (id, judged) = await ArrivedInDfuAsync(slot, session, serial, deviceId, arrival, readback, Step, log, ct);
                deviceId = id;
                if (judged is { } j) return Outcome(j.Verdict, j.FailureMode, j.Signature, readback);
                session.Dispose();
                return await LifeLoopsAsync(slot, id!, readback, Step, Outcome, log, ct);
            }

            if (_options.LeaveDfu)
            {
                Step("leave DFU");
                await session.LeaveAsync(null, ct);
            }
            if (_options.Cloud is null || _options.OtaImage is null || !_options.LeaveDfu)
            {
                Step("done");
                return Outcome(readback.Verdict, readback.FailureMode, readback.Signature, readback);
            }
            _options.StepJudged?.Invoke(Outcome(readback.Verdict, readback.FailureMode, readback.Signature, readback));
            session.Dispose();
            return await LifeLoopsAsync(slot, deviceId!, readback, Step, Outcome, log, ct);
        }
        catch (FlashOperationHungException hung)
        {
            log.Add($"{time.GetElapsedTime(start).TotalSeconds,8:0.000} s {hung.Message}");
            return await ConfirmHangAsync(slot, hung, serial, Step, Outcome, ct);
        }
        catch (UsbException ex)
        {
            var back = await PutBackAsync(slot, log, ct);
            return Outcome(Verdict.RigFault, FailureModes.UsbTransport, $"USB failed during {step}: {ex.Message}{back}", error: ex.ToString());
        }
        catch (ChoreographyException ex)
        {
            return Outcome(Verdict.RigFault, FailureModes.NoDfu, ex.Message, error: ex.ToString());
        }
        catch (DfuException ex)
        {
            var back = await PutBackAsync(slot, log, ct);
            return Outcome(Verdict.RigFault, FailureModes.UsbTransport, $"DFU protocol error during {step}: {ex.Message}{back}", error: ex.ToString());
        }
        catch (DfuRequestRefusedException ex)
        {
            return Outcome(Verdict.RigFault, FailureModes.UsbTransport, $"DFU request refused during {step}: {ex.Message}", error: ex.ToString());
        }
        catch (SlotLineException ex)
        {
            return Outcome(Verdict.RigFault, ex.IsPower ? FailureModes.RelayFault : FailureModes.ButtonFault, ex.Message, error: ex.ToString());
        }
        catch (JournalPendingException ex)
        {
            return Outcome(Verdict.RigFault, FailureModes.JournalPending, ex.Message, error: ex.ToString());
        }
        catch (SensorException ex)
        {
            // an LED wait found the slot's sensor faulted: this slot's evidence is incomplete, the others go on
            return Outcome(Verdict.RigFault, FailureModes.SensorFault, SensorSignature(ex, $"during {step}"), error: ex.ToString());
        }
    }
}
