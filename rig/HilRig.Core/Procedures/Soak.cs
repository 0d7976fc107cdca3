using HilRig.Core.Chips;
using HilRig.Core.Dfu;
using HilRig.Core.Slots;
using HilRig.Core.Usb;

namespace HilRig.Core.Procedures;

/// <summary>An app image for an OTA, with the identity it reports once it runs (null: any app other than the old one).</summary>
public sealed record SoakImage(byte[] Bytes, string? Identity);

/// <summary>
/// What a soak does on every slot: <see cref="Cycles"/> cycles of OTA then factory reset, a DFU readback every
/// <see cref="ReadbackEvery"/> cycles, after flashing <see cref="Bootloader"/> first when given.
/// </summary>
/// <param name="NextApp">The app to OTA in a slot's cycle: a new one each cycle, so the Core is seen to change.</param>
/// <param name="Recovery">What recovery writes to a Core that no longer runs its app.</param>
public sealed record SoakPlan(int Cycles, Func<int, int, SoakImage> NextApp, RecoveryImages Recovery)
{
    /// <summary>Every K-th cycle ends with a DFU readback (0: never).</summary>
    public int ReadbackEvery { get; init; }

    /// <summary>
    /// Every K-th cycle starts from a cold boot (0: never): the relay cut and switched on, both checked, and the Core must
    /// come back on its app (what a bootloader meets after every power loss on the line).
    /// </summary>
    public int PowerCycleEvery { get; init; }

    /// <summary>A bootloader image flashed to each Core over DFU before cycle 1 (null: the Cores keep theirs).</summary>
    public byte[]? Bootloader { get; init; }

    public DfuReadbackOptions Readback { get; init; } = new();

    public DfuHostOptions? Dfu { get; init; }

    /// <summary>The store's DFU serial links: a Core that arrives in DFU is known by its device id when linked.</summary>
    public IDeviceLinks? Links { get; init; }
}

/// <summary>One judged step of a soak, in the order the slot ran them.</summary>
/// <param name="Cycle">The cycle the step belongs to; 0 for what comes before cycle 1 (identify, bootloader flash).</param>
/// <param name="CyclesToFailure">On a failure: cycles since the start of the soak or the Core's last recovery.</param>
/// <param name="BitErrors">A DFU readback's bit-error totals.</param>
public sealed record SoakRow(
    int Slot,
    string DeviceId,
    string Test,
    int Cycle,
    Verdict Verdict,
    string? FailureMode,
    string Signature,
    TimeSpan DeviceTime,
    DateTimeOffset StartedAt,
    DateTimeOffset EndedAt,
    IReadOnlyList<string> Log)
{
    public int? CyclesToFailure { get; init; }

    public BitErrorMapSummary? BitErrors { get; init; }

    /// <summary>The slot's LED timeline over the step, when the rig observes LEDs.</summary>
    public string? LedTimeline { get; init; }

    /// <summary>The rig's transient faults retried (or given up on) since the slot's previous row.</summary>
    public IReadOnlyList<RigRetry> Retries { get; init; } = [];
}

public enum SoakPhase
{
    Started,
    Ended,
}

/// <summary>
/// One slot's progress, raised at the start and end of every step (cheap: a struct, no strings built): cycle k of N,
/// the step, failures and recoveries so far, device time since the slot started. <see cref="Done"/> on the last report.
/// A step that ends with a judged row carries it in <see cref="Row"/>, so a listener can store rows as they happen.
/// </summary>
public readonly record struct SoakProgress(
    int Slot,
    int Cycle,
    int Cycles,
    string Step,
    SoakPhase Phase,
    Verdict? Verdict,
    int Failures,
    int Recoveries,
    TimeSpan DeviceTime,
    bool Done)
{
    /// <summary>The Core's device id once identified.</summary>
    public string? DeviceId { get; init; }

    /// <summary>The row a step just produced (on <see cref="SoakPhase.Ended"/>); null otherwise.</summary>
    public SoakRow? Row { get; init; }
}

/// <summary>How one slot's soak ended.</summary>
/// <param name="CyclesJudged">Cycles in which the OTA or the factory reset was judged (pass or fail): the rate's exposure.</param>
/// <param name="Failures">Failed OTA and factory-reset steps: the rate's failures (at most one per cycle: a failure ends its cycle).</param>
/// <param name="OutReason">Why the Core left the run before its last cycle (null: it ran them all).</param>
public sealed record SoakSlotResult(int Slot, string? DeviceId, int CyclesJudged, int Failures, int Recoveries, int? OutAtCycle, string? OutReason);

public sealed record SoakResult(IReadOnlyList<SoakRow> Rows, IReadOnlyList<SoakSlotResult> Slots)
{
    public long Cycles => Slots.Sum(s => (long)s.CyclesJudged);

    public int Failures => Slots.Sum(s => s.Failures);
}

/// <summary>
/// The soak engine behind `hilrig soak` (and benchmarks built on it): every slot in parallel on the session's clock.
/// Per slot: identify; flash the plan's bootloader (if any); then per cycle an OTA of a new app and a factory reset,
/// and every K-th cycle a DFU readback. One row per step.
/// What counts: a failed OTA or factory reset is a failure of the bootloader under soak and ends that cycle; the rate
/// is failures per cycle judged. A readback failure (bit errors) is the chip's and is not in the rate. After any failure
/// the Core is asked whether it still runs its app (DFU on USB says no; otherwise its identity over serial); one that
/// does not is recovered over DFU (<see cref="CoreRecovery"/>) and soaks on, or leaves the run when that fails. A rig
/// fault in a cold boot or a factory reset (a relay or button line that gave up: nothing was being written over DFU)
/// leaves the cycle unjudged; the slot soaks on when the Core still runs its app afterwards, and leaves the run
/// otherwise, or after <see cref="RigFaultsInARow"/> rig faults in a row. A rig fault mid-readback (a brown-out, a lost
/// contact) may have left the readback's patterns in the Core's regions: they are put back at once from the region journal
/// (<see cref="DfuReadbackOptions.Journal"/>, screening's), and the slot soaks on as above once they are all back; with
/// no journal, or originals the rig could not put back, the slot leaves the run. Any other rig fault ends the slot's run.
/// </summary>
public sealed class SoakRunner(CoreLifeContext context, SoakPlan plan)
{
    public const string IdentifyTest = "identify";
    public const string OtaTest = "ota";
    public const string FactoryResetTest = "factory-reset";
    public const string ReadbackTest = Screening.TestName;
    public const string PowerCycleTest = "power-cycle";

    /// <summary>A whole cycle judged as one row (the fleet generator's soak rows).</summary>
    public const string CycleTest = "soak";

    /// <summary>The steps whose failures the rate counts: the bootloader's OTA apply and factory reset.</summary>
    public static bool CountsForRate(string test) => test is OtaTest or FactoryResetTest or CycleTest;

    /// <summary>
    /// The step whose judgement (pass or fail) makes a cycle count as exposure: every cycle starts with its OTA and
    /// a failure ends the cycle, so cycles judged = OTA rows judged, with no need to match rows up.
    /// </summary>
    public static bool JudgesCycle(string test) => test is OtaTest or CycleTest;

    /// <summary>After a readback the app reconnects to the cloud (or, without Wi-Fi, waits in listening mode).</summary>
    public static readonly TimeSpan AppAfterDfu = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The longest a Core takes from power-on until its app runs and answers MODE: the bootloader's longest job before it
    /// jumps to the app (an OTA apply, ≈7–10 s: spark-core.md §3.4; a factory reset or backup restore ≈5–8 s) and the
    /// app's start-up white fade (≤1 s, §5.2). MODE pressed before that is seen by the bootloader, which selects DFU (§3.3).
    /// </summary>
    public static readonly TimeSpan BootWithin = TimeSpan.FromSeconds(11);

    /// <summary>Rig faults in a row (cloud faults aside) after which a slot leaves the run: its hardware needs a look.</summary>
    public const int RigFaultsInARow = 3;

    public async Task<SoakResult> RunAsync(IEnumerable<RigSlot> slots, IProgress<SoakProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(slots);
        // the OTA's check of its region over DFU journals the region too, in the readback's journal; every DFU session on
        // an identified Core links its serial in the store (once per run), as screening does
        var journal = context.Journal ?? plan.Readback.Journal;
        var links = context.Links ?? (plan.Links is { } known ? new LinkedOnce(known) : null);
        var life = journal == context.Journal && links == context.Links ? context
            : new CoreLifeContext(context.Bus, context.Time, context.Cloud) { Journal = journal, Links = links };
        var runs = slots.Select(slot => new SlotSoak(life, plan, slot, progress)).ToList();
        await Task.WhenAll(runs.Select(r => r.RunAsync(ct)));
        return new SoakResult([.. runs.SelectMany(r => r.Rows)], [.. runs.Select(r => r.Result)]);
    }

    /// <summary>The store's links, each pair written once per run: a soak opens DFU on the same Core again and again.</summary>
    private sealed class LinkedOnce(IDeviceLinks links) : IDeviceLinks
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _linked = new(StringComparer.Ordinal);

        public string? DeviceIdFor(string dfuSerial) => links.DeviceIdFor(dfuSerial);

        public void Link(string dfuSerial, string deviceId)
        {
            if (_linked.TryGetValue(dfuSerial, out var known) && known == deviceId) return;
            links.Link(dfuSerial, deviceId);
            _linked[dfuSerial] = deviceId;
        }
    }

    /// <summary>One slot's soak and its bookkeeping.</summary>
    private sealed class SlotSoak(CoreLifeContext context, SoakPlan plan, RigSlot slot, IProgress<SoakProgress>? progress)
    {
        private readonly TimeProvider _time = context.Time;
        private long _start;
        private string? _id;
        private int _cycle;
        private int _judged;
        private int _failures;
        private int _recoveries;
        private int _lastRecovery;
        private int? _outAt;
        private int _rigFaultsInARow;
        private string? _outReason;
        private BitErrorMapSummary? _bitErrors;

        public List<SoakRow> Rows { get; } = [];

        public SoakSlotResult Result => new(slot.Number, _id, _judged, _failures, _recoveries, _outAt, _outReason);

        private RigRetryScope? _retries;

        public async Task RunAsync(CancellationToken ct)
        {
            _start = _time.GetTimestamp();
            using var retries = _retries = RigRetries.Begin(slot.Number, _time);
            var stopped = true;
            try
            {
                await SoakAsync(ct);
                stopped = false;
            }
            finally
            {
                // a soak stopped from outside (or by an exception) reports where it stopped, not its planned end
                if (_outAt is null && !stopped) _cycle = plan.Cycles;
                Report(stopped ? "stopped" : "done", SoakPhase.Ended, null, done: true);
            }
        }

        private async Task SoakAsync(CancellationToken ct)
        {
            if (!await RecoverJournalsAsync(ct)) return;
            Report(IdentifyTest, SoakPhase.Started, null);
            var startedAt = _time.GetUtcNow();
            var begin = _time.GetTimestamp();
            try
            {
                // a Core in a powered slot may have been dropped in a moment ago: identify presses MODE, which the
                // bootloader would take for a request for DFU
                if (slot.Control.PowerOn) await WaitOutBootAsync(ct);
                _id = await slot.Identity.ReadDeviceIdAsync(ct);
            }
            catch (Exception ex) when (ex is SlotLineException or Chips.SensorException)
            {
                // identify watches the LED: a sensor that stopped answering is the rig's fault, as a dead button line is
                var mode = ex is SlotLineException line ? (line.IsPower ? FailureModes.RelayFault : FailureModes.ButtonFault) : FailureModes.SensorFault;
                var row = new SoakRow(slot.Number, $"slot-{slot.Number}-unidentified", IdentifyTest, 0, Verdict.RigFault, mode,
                    ex.Message, _time.GetElapsedTime(begin), startedAt, _time.GetUtcNow(), []) { Retries = Drain() };
                Rows.Add(row);
                Out(0, row.Signature);
                Report(IdentifyTest, SoakPhase.Ended, row.Verdict, row: row);
                return;
            }
            // the same any-state detection as screening: a Core in DFU is read back and identified, never "empty"; a rig
            // fault in that readback whose regions went back is looked at again, at most RigFaultsInARow times (as in a cycle)
            for (var tries = 1; _id is null; tries++)
            {
                var found = await CoreSearch.LookAsync(context.Bus, _time, slot, ct);
                if (!found.FoundInDfu)
                {
                    var row = new SoakRow(slot.Number, $"slot-{slot.Number}-unidentified", IdentifyTest, 0, found.Verdict!.Value, found.FailureMode,
                        found.Signature!, _time.GetElapsedTime(begin), startedAt, _time.GetUtcNow(), []) { Retries = Drain() };
                    Rows.Add(row);
                    Out(0, row.Signature);
                    Report(IdentifyTest, SoakPhase.Ended, row.Verdict, row: row);
                    return;
                }
                var arrived = await ArrivedInDfuAsync(found.Arrival!, again: tries < RigFaultsInARow, ct);
                if (arrived == Arrival.Out) return;
                if (arrived == Arrival.Again) _id = null;
            }
            Report(IdentifyTest, SoakPhase.Ended, Verdict.Pass);
            var id = _id!;

            if (plan.Bootloader is { } bootloader)
            {
                var flashed = await StepAsync(BootloaderFlash.TestName, () => new BootloaderFlash(context, plan.Dfu).RunAsync(slot, id, bootloader, ct), judged: true, ct);
                if (!await JudgeAsync(flashed, ct)) return;
            }

            for (_cycle = 1; _cycle <= plan.Cycles; _cycle++)
            {
                // a step may end in a verdict even as the soak is stopped; the next cycle must not start
                ct.ThrowIfCancellationRequested();
                if (plan.PowerCycleEvery > 0 && _cycle % plan.PowerCycleEvery == 0)
                {
                    var cold = await StepAsync(PowerCycleTest, () => PowerCycleAsync(id, ct), judged: true, ct, inCycle: true);
                    if (!await JudgeAsync(cold, ct)) return;
                    if (cold.Verdict != Verdict.Pass) continue;
                }
                var app = plan.NextApp(slot.Number, _cycle);
                var ota = await StepAsync(OtaTest, () => new Ota(context).RunAsync(slot, id, app.Bytes, app.Identity, ct), judged: true, ct);
                if (ota.Verdict != Verdict.RigFault) _judged++;
                if (!await JudgeAsync(ota, ct)) return;
                if (ota.Verdict != Verdict.Pass) continue;

                var reset = await StepAsync(FactoryResetTest, () => new FactoryReset(context).RunAsync(slot, id, ct), judged: true, ct, inCycle: true);
                if (!await JudgeAsync(reset, ct)) return;
                if (reset.Verdict != Verdict.Pass) continue;

                if (plan.ReadbackEvery > 0 && _cycle % plan.ReadbackEvery == 0)
                {
                    var readback = await StepAsync(ReadbackTest, () => ReadbackAsync(id, ct), judged: true, ct);
                    if (!await JudgeAsync(readback, ct)) return;
                }
            }
        }

        /// <summary>
        /// The slot is powered, but since when the rig cannot know (an operator may have just dropped the Core in, or the
        /// previous run's power cycle just ended): until the Core shows itself (its DFU or serial device on USB, or, where a
        /// colour sensor watches, an LED state only its app shows), wait out a boot, at most <see cref="BootWithin"/>.
        /// A Core stuck in DFU shows itself at once and is found there as before.
        /// </summary>
        private async Task WaitOutBootAsync(CancellationToken ct)
        {
            var begin = _time.GetTimestamp();
            while (_time.GetElapsedTime(begin) < BootWithin)
            {
                if (ChoreographyRunner.Find(context.Bus, slot.UsbPath, Spark.SparkUsb.DfuProductId) is not null
                    || ChoreographyRunner.Find(context.Bus, slot.UsbPath, Spark.SparkUsb.SerialProductId) is not null
                    || (slot.Led is { Fault: null } led && AppShows(led.Current)))
                    return;
                await Task.Delay(ChoreographyRunner.UsbPollInterval, _time, ct);
            }
        }

        /// <summary>Wi-Fi green, cloud cyan, listening blue: shown by a running app only, never by the bootloader (spark-core.md §5.2).</summary>
        private static bool AppShows(Led.LedState led) =>
            led.Color is Led.LedColor.Green or Led.LedColor.Cyan or Led.LedColor.Blue && led.Pattern is not (Led.LedPattern.Off or Led.LedPattern.Fade);

        /// <summary>
        /// A Core a crashed command left half-written in this slot (its journal pending) is put back first, as screen does:
        /// a row per interrupted Core. False when the Core here could not be put back: the slot leaves the run.
        /// </summary>
        private async Task<bool> RecoverJournalsAsync(CancellationToken ct)
        {
            if (plan.Readback.Journal is not { } journal || !journal.Pending().Any(j => JournalRecovery.SlotOf([slot], j.Manifest) is not null)) return true;
            Report(JournalRecoveryResult.TestName, SoakPhase.Started, null);
            var startedAt = _time.GetUtcNow();
            var results = new List<JournalRecoveryResult>();
            JournalRecoveryResult? unrecovered;
            try
            {
                unrecovered = await new JournalRecovery(context.Bus, _time, plan.Dfu).RecoverSlotAsync(slot, journal, _ => { }, [], results.Add, ct);
            }
            catch (Exception ex) when (ex is UsbException or DfuException or ChoreographyException or DfuRequestRefusedException or SlotLineException)
            {
                var failed = new SoakRow(slot.Number, $"slot-{slot.Number}-unidentified", JournalRecoveryResult.TestName, 0, Verdict.RigFault, FailureModes.UsbTransport,
                    $"an interrupted Core's regions could not be put back from the journal ({ex.Message}); the journal keeps its originals", TimeSpan.Zero, startedAt, _time.GetUtcNow(), [])
                { Retries = Drain() };
                Rows.Add(failed);
                Out(0, failed.Signature);
                Report(JournalRecoveryResult.TestName, SoakPhase.Ended, failed.Verdict, row: failed);
                return false;
            }
            foreach (var r in results)
            {
                var row = new SoakRow(slot.Number, r.DeviceId ?? $"dfu-{r.DfuSerial}", JournalRecoveryResult.TestName, 0, r.Verdict, r.FailureMode, r.Signature,
                    r.DeviceTime, startedAt, _time.GetUtcNow(), r.Log) { Retries = Drain() };
                Rows.Add(row);
                Report(JournalRecoveryResult.TestName, SoakPhase.Ended, row.Verdict, row: row);
            }
            if (unrecovered is null) return true;
            Out(0, unrecovered.Signature);
            return false;
        }

        /// <summary>
        /// A Core found in DFU before cycle 1 (no valid app, or no listening mode): its readback is the diagnosis (a row of
        /// its own, keyed by the linked device id or its DFU serial); a clean one gets the plan's known-good app, and once
        /// it answers `i` with a device id whose DFU serial matches, the store links the two and the soak goes on.
        /// </summary>
        /// <param name="again">A rig fault in the readback whose regions are back may be looked at again (<see cref="Arrival.Again"/>).</param>
        private async Task<Arrival> ArrivedInDfuAsync(string arrival, bool again, CancellationToken ct)
        {
            string? serial = null;
            var readback = await StepAsync(ReadbackTest, async () =>
            {
                var begin = _time.GetTimestamp();
                var log = new List<string> { $"no answer to `i`: {arrival}" };
                LoopResult Result(Verdict verdict, string? mode, string signature, DfuReadbackResult? result = null)
                {
                    _bitErrors = result?.BitErrors;
                    return new LoopResult(ReadbackTest, verdict, mode, signature, _time.GetElapsedTime(begin), log);
                }
                try
                {
                    using var session = await SlotDfu.Guard(() => DfuSeHost.OpenAsync(context.Bus, slot.UsbPath, _time, plan.Dfu, ct));
                    serial = session.Serial;
                    if (plan.Links?.DeviceIdFor(serial) is { } linked && Spark.SparkIdentity.DfuSerial(linked) == serial) _id = linked;
                    _id ??= $"dfu-{serial}";
                    var result = await new DfuReadback(_time, plan.Readback).RunAsync(session, _id, null, ct, slot.Number, _id.StartsWith("dfu-", StringComparison.Ordinal) ? null : _id);
                    log.Add($"readback: {result.Signature}");
                    if (result.Verdict == Verdict.Fail)
                        return Result(Verdict.Fail, result.FailureMode, $"{result.Signature}; arrived {arrival}", result);
                    await SlotDfu.Guard(() => session.SelectAltAsync(0, ct));
                    var app = plan.Recovery.App;
                    await SlotDfu.Guard(() => session.DownloadAsync(Spark.SparkMemoryMap.AppAddress, app, null, null, ct));
                    var back = await SlotDfu.Guard(() => session.UploadAsync(Spark.SparkMemoryMap.AppAddress, app.Length, null, ct));
                    if (SlotDfu.Difference(app, back, Spark.SparkMemoryMap.AppAddress) is { } diff)
                        return Result(Verdict.Fail, FailureModes.Unrecoverable, $"arrived {arrival}; the known-good app does not read back as written ({diff})", result);
                    log.Add($"known-good app {plan.Recovery.AppIdentity ?? "(image)"} written at 0x{Spark.SparkMemoryMap.AppAddress:X8} and read back");
                    await SlotDfu.Guard(() => session.LeaveAsync(null, ct));
                    return Result(Verdict.Pass, null, $"no bit errors; arrived {arrival}; known-good app written", result);
                }
                catch (FlashOperationHungException hung)
                {
                    return Result(Verdict.Fail, FailureModes.BadExternalFlash, $"{hung.Message}: BUSY never clears (dead or hung chip); arrived {arrival}");
                }
                catch (LoopRigFault ex)
                {
                    return Result(Verdict.RigFault, ex.Mode, ex.Message + await PutBackAsync(log, ct));
                }
                catch (UsbException ex)
                {
                    return Result(Verdict.RigFault, FailureModes.UsbTransport, $"USB failed during the readback of a Core found in DFU: {ex.Message}{await PutBackAsync(log, ct)}");
                }
                catch (Exception ex) when (ex is DfuException or DfuRequestRefusedException)
                {
                    return Result(Verdict.RigFault, FailureModes.UsbTransport, $"DFU protocol error during the readback of a Core found in DFU: {ex.Message}{await PutBackAsync(log, ct)}");
                }
            });
            if (readback.Verdict != Verdict.Pass)
            {
                // a brown-out or a lost contact mid-readback, the regions put back: the Core is as it arrived, look again
                if (readback.Verdict == Verdict.RigFault && again && RegionsWhole(ReadbackTest)) return Arrival.Again;
                Out(0, $"arrived in DFU: {readback.Signature}");
                return Arrival.Out;
            }

            var begin = _time.GetTimestamp();
            while (Choreography.FindDfu(context.Bus, slot.UsbPath) is not null && _time.GetElapsedTime(begin) < TimeSpan.FromSeconds(5))
                await Task.Delay(ChoreographyRunner.UsbPollInterval, _time, ct);
            await Task.Delay(Identify.AppStart + TimeSpan.FromSeconds(1), _time, ct);
            var startedAt = _time.GetUtcNow();
            var id = Choreography.FindDfu(context.Bus, slot.UsbPath) is null ? await new Identify(context).ReadDeviceIdAsync(slot, ct) : null;
            if (id is null || Spark.SparkIdentity.DfuSerial(id) != serial)
            {
                var why = id is null ? "answers no `i` (or falls back into DFU) with a known-good app written" : $"says device {id}, whose DFU serial is not {serial}";
                var row = new SoakRow(slot.Number, _id!, IdentifyTest, 0, id is null ? Verdict.Fail : Verdict.RigFault, id is null ? FailureModes.StuckInDfu : FailureModes.WrongDevice,
                    $"arrived {arrival}; the Core {why}", _time.GetElapsedTime(begin), startedAt, _time.GetUtcNow(), []) { Retries = Drain() };
                Rows.Add(row);
                Out(0, row.Signature);
                Report(IdentifyTest, SoakPhase.Ended, row.Verdict, row: row);
                return Arrival.Out;
            }
            plan.Links?.Link(serial!, id);
            _id = id;
            return Arrival.Identified;
        }

        private enum Arrival
        {
            Identified,
            Again,
            Out,
        }

        /// <summary>
        /// Records what a step's row means for the Core: a rig fault takes the slot out; a failure is counted (OTA and
        /// factory reset), and a Core that no longer runs its app is recovered, or taken out when that fails.
        /// </summary>
        /// <returns>False when the slot leaves the run.</returns>
        private async Task<bool> JudgeAsync(SoakRow row, CancellationToken ct)
        {
            switch (row.Verdict)
            {
                case Verdict.Pass:
                    _rigFaultsInARow = 0;
                    return true;
                case Verdict.RigFault when IsCloudFault(row):
                    // the world's fault, not the slot's: the cycle is not judged and the soak goes on
                    return true;
                case Verdict.RigFault when _afterFailure == AppCheck.Runs && ++_rigFaultsInARow < RigFaultsInARow:
                    // a transient rig fault (its regions put back, the Core on its app again): the cycle is not judged
                    return true;
                case Verdict.RigFault:
                    Out(_cycle, $"rig fault in {row.Test}: {row.Signature}{(_afterFailure == AppCheck.Runs ? $" ({RigFaultsInARow} in a row)" : "")}");
                    return false;
            }
            _rigFaultsInARow = 0;
            ct.ThrowIfCancellationRequested();
            // asked inside the failed step (its retries are in that row): see StepAsync
            switch (_afterFailure)
            {
                case AppCheck.Runs:
                    return true;
                case AppCheck.RigFault:
                    Out(_cycle, $"rig fault while asking whether the Core still runs its app after {row.Test}: {_afterFailureWhy}");
                    return false;
            }

            var recovery = await StepAsync(CoreRecovery.TestName, () => new CoreRecovery(context, plan.Dfu).RunAsync(slot, _id!, plan.Recovery, ct));
            if (recovery.Verdict == Verdict.Pass)
            {
                _recoveries++;
                _lastRecovery = _cycle;
                return true;
            }
            Out(_cycle, recovery.Verdict == Verdict.RigFault ? $"rig fault in recovery: {recovery.Signature}" : $"not recovered: {recovery.Signature}");
            return false;
        }

        private enum AppCheck
        {
            NotAsked,
            Runs,
            DoesNotRun,
            RigFault,
        }

        // what the check after the last failed step found (StepAsync asks it before the row is stored)
        private AppCheck _afterFailure;
        private string? _afterFailureWhy;

        private IReadOnlyList<RigRetry> Drain() => _retries?.Drain() ?? [];

        /// <summary>Does the Core still run an app? In DFU: no. Listening: yes. Otherwise it must answer `i` with its id.</summary>
        private static bool IsCloudFault(SoakRow row) => row.Verdict == Verdict.RigFault && row.FailureMode == FailureModes.CloudError;

        private async Task<bool> RunsItsAppAsync(CancellationToken ct)
        {
            switch (await context.LookAsync(slot, null, DateTimeOffset.MinValue, ct))
            {
                case CoreWhereabouts.Dfu:
                    return false;
                case CoreWhereabouts.Listening:
                    return true;
            }
            try
            {
                return await new Identify(context).ReadDeviceIdAsync(slot, ct) == _id;
            }
            catch (UsbException)
            {
                return false;
            }
        }

        /// <param name="judged">The row goes to <see cref="JudgeAsync"/>: on a failure, ask whether the Core still runs its app.</param>
        /// <param name="inCycle">A step that writes nothing over DFU: after a rig fault (cloud aside) ask too, the slot soaks on when the Core runs its app.</param>
        private async Task<SoakRow> StepAsync(string test, Func<Task<LoopResult>> step, bool judged = false, CancellationToken ct = default, bool inCycle = false)
        {
            Report(test, SoakPhase.Started, null);
            var startedAt = _time.GetUtcNow();
            _bitErrors = null;
            var result = await step();
            var failed = result.Verdict == Verdict.Fail && CountsForRate(test);
            if (failed) _failures++;
            var log = result.Log;
            _afterFailure = AppCheck.NotAsked;
            var ask = result.Verdict == Verdict.Fail
                || ((inCycle || RegionsWhole(test)) && result.Verdict == Verdict.RigFault && result.FailureMode != FailureModes.CloudError);
            if (judged && ask && !ct.IsCancellationRequested)
            {
                // After a failure: does the Core still run its app? Asked before the row is stored, so the buttons and
                // USB it takes are retried inside this step and their retries travel in its row (a check after the
                // slot's last row would have no row to carry them, and the fault ledger would not balance).
                Report("check app", SoakPhase.Started, null);
                try
                {
                    _afterFailure = await RunsItsAppAsync(ct) ? AppCheck.Runs : AppCheck.DoesNotRun;
                }
                catch (SlotLineException ex)
                {
                    (_afterFailure, _afterFailureWhy) = (AppCheck.RigFault, ex.Message);
                }
                catch (Chips.SensorException ex)
                {
                    (_afterFailure, _afterFailureWhy) = (AppCheck.RigFault, ex.Message);
                }
                Report("check app", SoakPhase.Ended, null);
                log = [.. log, _afterFailure switch
                {
                    AppCheck.DoesNotRun when result.Verdict == Verdict.RigFault => "after the rig fault the Core does not run its app: the slot leaves the run",
                    AppCheck.Runs when result.Verdict == Verdict.RigFault => "after the rig fault the Core runs its app again: the cycle is not judged",
                    AppCheck.Runs => "after the failure the Core still runs its app",
                    AppCheck.DoesNotRun => "after the failure the Core does not run its app: recovery over DFU",
                    _ => $"after the failure the rig could not ask the Core: {_afterFailureWhy}",
                }];
            }
            var row = new SoakRow(slot.Number, _id!, test, _cycle, result.Verdict, result.FailureMode, result.Signature,
                result.DeviceTime, startedAt, _time.GetUtcNow(), log)
            {
                CyclesToFailure = failed ? _cycle - _lastRecovery : null,
                BitErrors = _bitErrors,
                LedTimeline = result.Timeline,
                Retries = Drain(),
            };
            Rows.Add(row);
            Report(test, SoakPhase.Ended, result.Verdict, row: row);
            return row;
        }

        /// <summary>A cold boot: the power cut and switched on (both checked); the Core must be back on the cloud or in listening mode.</summary>
        private Task<LoopResult> PowerCycleAsync(string id, CancellationToken ct) =>
            LoopRunner.RunAsync(PowerCycleTest, context, slot, async log =>
            {
                var where = CoreWhereabouts.Unknown;
                await RelaySwitch.PowerCycleAsync(slot, context.Bus, _time, async () =>
                {
                    where = await context.WaitAsync(slot, id, AppAfterDfu, ct, CoreWhereabouts.Connected, CoreWhereabouts.Listening, CoreWhereabouts.Dfu);
                    return where switch
                    {
                        CoreWhereabouts.Connected or CoreWhereabouts.Listening => true,
                        CoreWhereabouts.Dfu => false,
                        _ => null,
                    };
                }, log, unseenIsRelayFault: true, ct);
                return where switch
                {
                    CoreWhereabouts.Connected or CoreWhereabouts.Listening => $"power cut and switched on (both checked): the Core is back {(where == CoreWhereabouts.Connected ? "on the cloud" : "in listening mode")}",
                    CoreWhereabouts.Dfu => throw new LoopFailure(FailureModes.StuckInDfu, "after a power cycle the Core stays in DFU (flashing yellow)"),
                    _ => throw new LoopFailure(FailureModes.NoCloud, $"after a power cycle (the relay switched on {GpioSlotControl.LineRetries + 1} times) the Core is neither on the cloud nor in listening mode within {AppAfterDfu.TotalSeconds:0} s"),
                };
            }, ct);

        /// <summary>Enter DFU by the buttons, the readback of the external flash's image slots, leave; the app must come back.</summary>
        private async Task<LoopResult> ReadbackAsync(string id, CancellationToken ct)
        {
            var begin = _time.GetTimestamp();
            var log = new List<string>();
            LoopResult Result(Verdict verdict, string? mode, string signature, DfuReadbackResult? readback = null)
            {
                _bitErrors = readback?.BitErrors;
                return new LoopResult(ReadbackTest, verdict, mode, signature, _time.GetElapsedTime(begin), log);
            }
            try
            {
                DfuReadbackResult readback;
                using (var session = await SlotDfu.OpenAsync(context, slot, id, plan.Dfu, ct))
                {
                    readback = await new DfuReadback(_time, plan.Readback).RunAsync(session, id, null, ct, slot.Number, id);
                    await session.LeaveAsync(null, ct);
                }
                log.Add($"readback: {readback.Signature}");
                var where = await SlotDfu.AfterLeaveAsync(context, slot, id, AppAfterDfu, ct);
                if (where is not (CoreWhereabouts.Connected or CoreWhereabouts.Listening))
                {
                    var why = where == CoreWhereabouts.Dfu ? "stays in DFU (flashing yellow)" : $"is neither on the cloud nor in listening mode within {AppAfterDfu.TotalSeconds:0} s";
                    return Result(Verdict.Fail, readback.Verdict == Verdict.Fail ? readback.FailureMode : FailureModes.StuckInDfu,
                        $"{readback.Signature}; after leaving DFU the Core {why}", readback);
                }
                return Result(readback.Verdict, readback.FailureMode, readback.Signature, readback);
            }
            catch (FlashOperationHungException hung)
            {
                return Result(Verdict.Fail, FailureModes.BadExternalFlash, $"{hung.Message}: BUSY never clears (dead or hung chip)");
            }
            catch (LoopRigFault ex)
            {
                return Result(Verdict.RigFault, ex.Mode, ex.Message + await PutBackAsync(log, ct));
            }
            catch (Exception ex) when (ex is DfuException or DfuRequestRefusedException)
            {
                return Result(Verdict.RigFault, FailureModes.UsbTransport, $"DFU protocol error during the readback: {ex.Message}{await PutBackAsync(log, ct)}");
            }
            catch (UsbException ex)
            {
                return Result(Verdict.RigFault, FailureModes.UsbTransport, $"USB failed during the readback: {ex.Message}{await PutBackAsync(log, ct)}");
            }
            catch (JournalPendingException ex)
            {
                return Result(Verdict.RigFault, FailureModes.JournalPending, ex.Message);
            }
            catch (SensorException ex)
            {
                return Result(Verdict.RigFault, FailureModes.SensorFault, ex.Message);
            }
            catch (SlotLineException ex)
            {
                return Result(Verdict.RigFault, ex.IsPower ? FailureModes.RelayFault : FailureModes.ButtonFault, ex.Message);
            }
        }

        /// <summary>
        /// After a rig fault mid-readback (a brown-out, a lost contact): the regions the readback may have left holding its
        /// patterns are put back from the journal at once, the way screening does. Only a Core whose journal is empty
        /// again may soak on (<see cref="RegionsWhole"/>); one whose originals are still in the journal leaves the run.
        /// </summary>
        private async Task<string> PutBackAsync(List<string> log, CancellationToken ct)
        {
            var (_, note) = await new JournalRecovery(context.Bus, _time, plan.Dfu).PutBackAfterRigFaultAsync(slot, plan.Readback.Journal, log, null, ct);
            return note;
        }

        /// <summary>
        /// After a rig fault in a step that writes the external flash only through a journaled readback (the readback, the
        /// OTA's check of its region): nothing of this slot's Core left pending in the journal means every region it touched
        /// is back as it was. Without a journal nothing says so.
        /// </summary>
        private bool RegionsWhole(string test) =>
            test is ReadbackTest or OtaTest && plan.Readback.Journal is { } journal && !journal.Pending().Any(j => JournalRecovery.SlotOf([slot], j.Manifest) is not null);

        private void Out(int cycle, string reason)
        {
            _outAt = cycle;
            _outReason = reason;
        }

        private void Report(string step, SoakPhase phase, Verdict? verdict, bool done = false, SoakRow? row = null) =>
            progress?.Report(new SoakProgress(slot.Number, Math.Min(_cycle, plan.Cycles), plan.Cycles, step, phase, verdict,
                _failures, _recoveries, _time.GetElapsedTime(_start), done) { DeviceId = _id, Row = row });
    }
}
