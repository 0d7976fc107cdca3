using System.Globalization;
using HilRig.Core.Cloud;
using HilRig.Core.Led;
using HilRig.Core.Serial;
using HilRig.Core.Slots;
using HilRig.Core.Spark;
using HilRig.Core.Usb;

namespace HilRig.Core.Procedures;

/// <summary>One loop of a Core's life (identify, factory reset, OTA, power) judged on one slot.</summary>
public sealed record LoopResult(
    string Loop,
    Verdict Verdict,
    string? FailureMode,
    string Signature,
    TimeSpan DeviceTime,
    IReadOnlyList<string> Log,
    string? Timeline = null)
{
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Loop}: {Verdict.ToName()}{(FailureMode is null ? "" : $" ({FailureMode})")} in {DeviceTime.TotalSeconds:0.0} s device time: {Signature}");
}

/// <summary>Where a Core is, as the rig can tell without trusting the Core: its USB identity at the slot, the cloud.</summary>
public enum CoreWhereabouts
{
    Unknown,

    /// <summary>The bootloader's DFU device at the slot: flashing yellow.</summary>
    Dfu,

    /// <summary>The app's serial port at the slot: flashing blue listening mode.</summary>
    Listening,

    /// <summary>Online in the cloud since the wait began: breathing cyan.</summary>
    Connected,
}

/// <summary>The context the life procedures share: the slot's rig, clock and cloud.</summary>
public sealed class CoreLifeContext(IUsbBus bus, TimeProvider time, ICloud? cloud)
{
    public static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);

    public IUsbBus Bus { get; } = bus;

    public TimeProvider Time { get; } = time;

    public ICloud? Cloud { get; } = cloud;

    /// <summary>Where a destructive DFU check saves the originals first (null: in memory only).</summary>
    public RegionJournal? Journal { get; init; }

    /// <summary>Where a DFU session on an identified Core records its DFU serial's link to the device id (null: not recorded).</summary>
    public IDeviceLinks? Links { get; init; }

    /// <summary>USB first (no network); the cloud is asked only for a device id when the Core is not on USB.</summary>
    public async Task<CoreWhereabouts> LookAsync(RigSlot slot, string? deviceId, DateTimeOffset since, CancellationToken ct = default)
    {
        if (ChoreographyRunner.Find(Bus, slot.UsbPath, SparkUsb.DfuProductId) is not null) return CoreWhereabouts.Dfu;
        if (ChoreographyRunner.Find(Bus, slot.UsbPath, SparkUsb.SerialProductId) is not null) return CoreWhereabouts.Listening;
        if (deviceId is not null && Cloud is { } cloud && await cloud.GetDeviceAsync(deviceId, ct) is { Connected: true } info && info.LastHeard >= since)
            return CoreWhereabouts.Connected;
        return CoreWhereabouts.Unknown;
    }

    /// <summary>Polls until the Core is in one of <paramref name="wanted"/>; returns where it is at the timeout otherwise.</summary>
    public async Task<CoreWhereabouts> WaitAsync(
        RigSlot slot, string? deviceId, TimeSpan timeout, CancellationToken ct, params CoreWhereabouts[] wanted)
    {
        var since = Time.GetUtcNow();
        var start = Time.GetTimestamp();
        // the cloud is asked only when being on it is what the wait is for: a cloud outage must not stop a wait for USB
        var cloudId = wanted.Contains(CoreWhereabouts.Connected) ? deviceId : null;
        while (true)
        {
            var now = await LookAsync(slot, cloudId, since, ct);
            if (wanted.Contains(now) || Time.GetElapsedTime(start) >= timeout) return now;
            await Task.Delay(Poll, Time, ct);
        }
    }

    /// <summary>Opens the Core's serial port; a rig fault when it is enumerated but cannot be opened.</summary>
    public static ISerialLink OpenSerial(RigSlot slot) =>
        slot.Serial?.TryOpen() ?? throw new UsbException(UsbError.NotFound, $"{slot}: the Core's serial port is enumerated but could not be opened");

    public string LedEvidence(RigSlot slot, TimeSpan? since) => slot.Led is { } led ? led.Timeline(since).ToString() : "(no LED observer on this slot)";
}

/// <summary>Something the rig could not do (serial, USB, sensor): the loop is a rig fault.</summary>
internal sealed class LoopRigFault(string mode, string message) : Exception(message)
{
    public string Mode { get; } = mode;
}

/// <summary>
/// `Identify`: the device id over the listening-mode serial `i` dialogue (MODE held 3 s in the app to get there),
/// then RESET to leave listening mode. Optionally checks it against the DFU serial the bootloader reports.
/// </summary>
public sealed class Identify(CoreLifeContext context)
{
    /// <summary>After power-on the app must be running before MODE is pressed, or the bootloader sees MODE and goes to DFU.</summary>
    public static readonly TimeSpan AppStart = TimeSpan.FromSeconds(2);

    /// <summary>The device id, or null when no Core answers (a slot without a Core, or one that is not running its app).</summary>
    public async Task<string?> ReadDeviceIdAsync(RigSlot slot, CancellationToken ct = default)
    {
        var time = context.Time;
        if (!slot.Control.PowerOn)
        {
            // the relay line reads back what was written whatever its contact does: the switch on is checked by the Core
            // showing itself (on USB, or entering listening mode from its app); nothing after every switch may be an empty slot
            var up = await RelaySwitch.SwitchOnAsync(slot, context.Bus, time, async () =>
            {
                await Task.Delay(AppStart, time, ct);
                if (await context.LookAsync(slot, null, time.GetUtcNow(), ct) != CoreWhereabouts.Unknown) return true;
                try
                {
                    await ChoreographyRunner.RunAsync(Choreographies.EnterListeningMode, slot, context.Bus, time, ct);
                    return true;
                }
                catch (ChoreographyException)
                {
                    return null;
                }
            }, [], ct: ct);
            if (up is null) return null;
        }
        var where = await context.LookAsync(slot, null, time.GetUtcNow(), ct);
        if (where == CoreWhereabouts.Dfu) return null;
        if (where != CoreWhereabouts.Listening)
        {
            try
            {
                await ChoreographyRunner.RunAsync(Choreographies.EnterListeningMode, slot, context.Bus, time, ct);
            }
            catch (ChoreographyException)
            {
                return null;
            }
        }
        using (var link = CoreLifeContext.OpenSerial(slot))
        {
            try
            {
                var id = await ListeningModeSerial.IdentifyAsync(link, time, ct);
                return id;
            }
            catch (SerialDialogueException)
            {
                return null;
            }
            finally
            {
                // listening mode has no exit but a reset; a Core with credentials goes back to the cloud. Hand the Core
                // back with its app running: MODE pressed next (enter listening mode) while the bootloader samples it
                // would select DFU instead (spark-core.md §3.3).
                await Choreography.ResetAsync(slot, time, ct);
                await Task.Delay(AppStart, time, ct);
            }
        }
    }

    public async Task<LoopResult> RunAsync(RigSlot slot, string? expectedDfuSerial = null, CancellationToken ct = default)
    {
        var start = context.Time.GetTimestamp();
        var id = await ReadDeviceIdAsync(slot, ct);
        var took = context.Time.GetElapsedTime(start);
        if (id is null)
        {
            var where = await context.LookAsync(slot, null, context.Time.GetUtcNow(), ct);
            return where == CoreWhereabouts.Dfu
                ? new LoopResult("identify", Verdict.Fail, FailureModes.StuckInDfu, "the Core is in DFU (flashing yellow) and cannot answer `i`", took, [])
                : new LoopResult("identify", Verdict.Fail, FailureModes.NoListeningMode, $"no answer to `i` on the serial port of {slot}", took, []);
        }
        if (expectedDfuSerial is not null && !string.Equals(SparkIdentity.DfuSerial(id), expectedDfuSerial, StringComparison.Ordinal))
            return new LoopResult("identify", Verdict.RigFault, FailureModes.WrongDevice,
                $"serial says device {id} (DFU serial {SparkIdentity.DfuSerial(id)}) but the DFU device at {slot.UsbPath} is {expectedDfuSerial}: check the slot's cabling", took, []);
        return new LoopResult("identify", Verdict.Pass, null, $"device id {id}", took, [$"Your core id is {id}"]);
    }
}

/// <summary>The IDeviceIdentifier of a slot, over the serial `i` dialogue.</summary>
public sealed class SerialIdentity(CoreLifeContext context, Func<RigSlot> slot) : IDeviceIdentifier
{
    public Task<string?> ReadDeviceIdAsync(CancellationToken ct = default) => new Identify(context).ReadDeviceIdAsync(slot(), ct);
}

/// <summary>Puts the rig's Wi-Fi credentials into a Core in listening mode and waits until it is on the cloud.</summary>
public static class WifiProvisioning
{
    /// <summary>The 7 s save, then Wi-Fi, cloud and handshake.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(30);

    public static async Task ProvisionAsync(CoreLifeContext context, RigSlot slot, string deviceId, List<string> log, CancellationToken ct)
    {
        var time = context.Time;
        if (await context.LookAsync(slot, deviceId, DateTimeOffset.MinValue, ct) != CoreWhereabouts.Listening)
            await ChoreographyRunner.RunAsync(Choreographies.EnterListeningMode, slot, context.Bus, time, ct);
        using (var link = CoreLifeContext.OpenSerial(slot))
        {
            try
            {
                var transcript = await ListeningModeSerial.ProvisionWifiAsync(link, time, WifiCredentials.RigNetwork, ct);
                log.Add($"w: {transcript.Replace("\r\n", " | ", StringComparison.Ordinal).Trim()}");
            }
            catch (SerialDialogueException ex)
            {
                throw new LoopRigFault(FailureModes.UsbTransport, $"Wi-Fi provisioning over serial failed: {ex.Message}");
            }
        }
        if (await context.WaitAsync(slot, deviceId, ConnectTimeout, ct, CoreWhereabouts.Connected, CoreWhereabouts.Dfu) != CoreWhereabouts.Connected)
            throw new LoopFailure(FailureModes.NoCloud, $"not on the cloud (breathing cyan) within {ConnectTimeout.TotalSeconds:0} s of saving Wi-Fi credentials");
        if (slot.Led is { } led)
            await led.Expect().WaitForAsync(new LedState(LedColor.Cyan, LedPattern.Breathing), TimeSpan.FromSeconds(10), ct);
        log.Add("on the cloud (breathing cyan)");
    }
}

/// <summary>The Core did something a good Core does not: a DUT failure with its mode.</summary>
internal sealed class LoopFailure(string mode, string message) : Exception(message)
{
    public string Mode { get; } = mode;
}

/// <summary>
/// `FactoryReset`: MODE through flashing yellow to white (10 s), the bootloader rewrites the app from the factory
/// slot, the app wipes Wi-Fi and starts in listening mode (flashing blue, serial port up); provision Wi-Fi with `w`
/// and expect breathing cyan. Flashing yellow (DFU) instead = stuck-in-dfu.
/// </summary>
public sealed class FactoryReset(CoreLifeContext context)
{
    /// <summary>The copy takes 5-8 s (10 s on a slow chip); BL14's watchdog chain needs more to end anywhere.</summary>
    public static readonly TimeSpan ListeningTimeout = TimeSpan.FromSeconds(60);

    public async Task<LoopResult> RunAsync(RigSlot slot, string deviceId, CancellationToken ct = default) =>
        await LoopRunner.RunAsync("factory-reset", context, slot, async log =>
        {
            var steps = await ChoreographyRunner.RunAsync(Choreographies.FactoryReset, slot, context.Bus, context.Time, ct);
            log.AddRange(steps);
            var where = await context.WaitAsync(slot, deviceId, ListeningTimeout, ct, CoreWhereabouts.Listening, CoreWhereabouts.Dfu);
            log.Add($"after the factory reset: {where}");
            switch (where)
            {
                case CoreWhereabouts.Dfu:
                    throw new LoopFailure(FailureModes.StuckInDfu, "the factory reset ended in DFU (flashing yellow): the factory image did not run");
                case CoreWhereabouts.Listening:
                    break;
                default:
                    throw new LoopFailure(FailureModes.NoListeningMode, $"no listening mode (flashing blue, serial port) within {ListeningTimeout.TotalSeconds:0} s of the factory reset");
            }
            if (slot.Led is { } led)
                await led.Expect().WaitForAsync(new LedState(LedColor.Blue, LedPattern.Flashing), TimeSpan.FromSeconds(5), ct);
            await WifiProvisioning.ProvisionAsync(context, slot, deviceId, log, ct);
            return "factory app back, Wi-Fi provisioned, on the cloud";
        }, ct);
}

/// <summary>
/// `Ota`: from breathing cyan flash an app through the cloud; expect "Update started", the app's magenta, the
/// reboot through the bootloader's OTA apply and breathing cyan again on the new app (its identity in the cloud).
/// Flashing yellow (DFU) = stuck-in-dfu. The cloud giving up with the old app back: after the first time the OTA region
/// is read back over DFU; wrong = ota-failed (the Core's), clean = a cloud fault, retried, and after the last attempt the
/// rig fault cloud-error.
/// </summary>
public sealed class Ota(CoreLifeContext context)
{
    /// <summary>spark-protocol's 600 s transfer limit plus the apply and reconnect.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(660);

    /// <summary>How long a Core back online after "success" may keep reporting its old app before the OTA is failed.</summary>
    public static readonly TimeSpan OldAppGrace = TimeSpan.FromSeconds(20);

    /// <summary>Attempts of one OTA when the cloud (not the Core) gives up: a lossy link is retried, not charged to the Core.</summary>
    public const int CloudAttempts = 3;

    /// <summary>The app's 30 s OTA timeout plus a reconnect, before the next attempt.</summary>
    public static readonly TimeSpan CloudRetryPause = TimeSpan.FromSeconds(40);

    /// <param name="expectedApp">The identity the new app reports to the cloud (null: any app other than the old one).</param>
    /// <exception cref="ArgumentException">The image is not an app (size, vector table): bad input, checked before it is sent.</exception>
    public async Task<LoopResult> RunAsync(RigSlot slot, string deviceId, byte[] image, string? expectedApp, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (ImageChecks.ValidateApp(image, "OTA image") is { } bad) throw new ArgumentException(bad, nameof(image));
        return await LoopRunner.RunAsync("ota", context, slot, async log =>
        {
            var cloudFaults = new List<string>();
            var regionClean = false;
            for (var attempt = 1; attempt <= CloudAttempts; attempt++)
            {
                try
                {
                    var done = await AttemptAsync(slot, deviceId, image, expectedApp, log, ct);
                    return cloudFaults.Count == 0 ? done : $"{done} (after {cloudFaults.Count} cloud fault(s) retried: {string.Join("; ", cloudFaults)})";
                }
                catch (CloudGaveUp ex)
                {
                    log.Add($"attempt {attempt}: {ex.Message}");
                    // a Core left in its update mode resets after 30 s without a chunk and reconnects on its old app
                    await Task.Delay(CloudRetryPause, context.Time, ct);
                    if (!regionClean)
                    {
                        // The cloud's "Update failed" cannot say whose fault it was (a dropped link, or a Core whose OTA
                        // region will not take a chunk and asks for it again until the Flasher gives up): the Core's
                        // own flash decides, read back over DFU once, before any retry is spent on it.
                        DfuReadbackResult check;
                        try
                        {
                            check = await OtaRegionCheckAsync(slot, deviceId, log, ct);
                        }
                        catch (Exception rig) when (rig is LoopRigFault or UsbException or SlotLineException or Chips.SensorException)
                        {
                            // the rig could not look: the cloud's failure stays unexplained, and this step is a rig fault
                            RigRetries.Record("cloud-transfer", ex.Message, gaveUp: true);
                            throw;
                        }
                        if (check.Verdict == Verdict.Fail)
                        {
                            // what the rig saw is recorded all the same (the cloud's failure may have been the link's
                            // too): the Core's own flash made it moot, so it is not retried
                            RigRetries.Record("cloud-transfer", $"{ex.Message}; not retried: the Core's OTA region reads back wrong");
                            throw new LoopFailure(FailureModes.OtaFailed, $"{ex.Message}; the OTA region at 0x{SparkMemoryMap.OtaImageAddress:X6} reads back wrong over DFU: {check.Signature}");
                        }
                        regionClean = true;
                    }
                    cloudFaults.Add(ex.Message);
                    RigRetries.Record("cloud-transfer", ex.Message, gaveUp: attempt == CloudAttempts);
                }
            }
            // the cloud gave up every time and the Core's OTA region reads back clean: the cloud link is at fault
            throw new LoopRigFault(FailureModes.CloudError,
                $"the cloud gave up {CloudAttempts} time(s) ({string.Join("; ", cloudFaults)}); the Core's OTA region reads back clean over DFU and it runs its old app: the cloud link is at fault, retest");
        }, ct);
    }

    /// <summary>The cloud failed the transfer (dropped, refused, timed out) and the Core is back on its old app.</summary>
    private sealed class CloudGaveUp(string message) : Exception(message);

    /// <summary>A DFU readback of the OTA region alone (saved, patterns, restored); the Core is then back on its app.</summary>
    private async Task<DfuReadbackResult> OtaRegionCheckAsync(RigSlot slot, string deviceId, List<string> log, CancellationToken ct)
    {
        DfuReadbackResult check;
        try
        {
            using var session = await SlotDfu.OpenAsync(context, slot, deviceId, null, ct);
            try
            {
                check = await SlotDfu.Guard(() => new DfuReadback(context.Time, new DfuReadbackOptions { Regions = [SparkMemoryMap.OtaRegion], Journal = context.Journal })
                    .RunAsync(session, deviceId, null, ct, slot.Number, deviceId));
            }
            catch (FlashOperationHungException hung)
            {
                // leave the Core off rather than hung in DFU; a contact that sticks is switched again (a relay rig fault if it never opens)
                await RelaySwitch.CutAsync(slot, context.Bus, context.Time, ct);
                throw new LoopFailure(FailureModes.OtaFailed, $"the cloud gave up and the OTA region's {hung.Operation} never finishes over DFU: BUSY stays set (dead or hung chip)");
            }
            await SlotDfu.Guard(() => session.LeaveAsync(null, ct));
        }
        catch (Exception rig) when (rig is LoopRigFault or UsbException)
        {
            // lost mid-check (a brown-out, a contact): the region goes back from the journal at once, as after a screen's readback
            var (_, note) = await new JournalRecovery(context.Bus, context.Time).PutBackAfterRigFaultAsync(slot, context.Journal, log, null, ct);
            if (note.Length > 0) log.Add($"OTA region over DFU: {rig.Message}{note}");
            throw;
        }
        log.Add($"OTA region over DFU: {check.Signature}");
        await SlotDfu.AfterLeaveAsync(context, slot, deviceId, SoakRunner.AppAfterDfu, ct);
        return check;
    }

    private async Task<string> AttemptAsync(RigSlot slot, string deviceId, byte[] image, string? expectedApp, List<string> log, CancellationToken ct)
    {
        var cloud = context.Cloud ?? throw new LoopRigFault(FailureModes.NoCloud,
            "this rig has no cloud to flash through (rig config `cloud: { url, token }`, or HILRIG_CLOUD_URL and HILRIG_CLOUD_TOKEN)");
        var time = context.Time;
        if (await context.LookAsync(slot, deviceId, DateTimeOffset.MinValue, ct) == CoreWhereabouts.Dfu)
            throw new LoopFailure(FailureModes.StuckInDfu, "the Core is in DFU (flashing yellow) before the OTA");
        // open the device's event stream before the PUT: "started" may follow the reply at once
        await cloud.WatchEventsAsync(deviceId, ct);
        if (await cloud.GetDeviceAsync(deviceId, ct) is not { Connected: true })
            await WifiProvisioning.ProvisionAsync(context, slot, deviceId, log, ct);
        var oldApp = (await cloud.GetDeviceAsync(deviceId, ct))?.LastApp;
        var eventsBefore = cloud.Events(deviceId).Count;
        var since = time.GetUtcNow();
        var ledSince = slot.Led?.Now;
        var reply = await PutAsync(cloud, deviceId, image, log, ct);
        log.Add($"PUT: {reply}");
        if (!reply.Ok)
        {
            // the image was checked before it was sent: a refusal is the cloud's or the link's, never the Core's
            await context.WaitAsync(slot, deviceId, TimeSpan.FromSeconds(30), ct, CoreWhereabouts.Connected, CoreWhereabouts.Dfu);
            if (await context.LookAsync(slot, deviceId, DateTimeOffset.MinValue, ct) == CoreWhereabouts.Dfu)
                throw new LoopFailure(FailureModes.StuckInDfu, $"the cloud could not start the update ({reply.Status}) and the Core is in DFU (flashing yellow)");
            throw new CloudGaveUp($"the cloud could not start the update: {reply.Status}");
        }

        var start = time.GetTimestamp();
        long? backOnline = null;
        while (true)
        {
            await Task.Delay(CoreLifeContext.Poll, time, ct);
            var events = cloud.Events(deviceId).Skip(eventsBefore).ToList();
            var where = await context.LookAsync(slot, deviceId, since, ct);
            if (where == CoreWhereabouts.Dfu)
                throw new LoopFailure(FailureModes.StuckInDfu, $"after the OTA the Core is in DFU (flashing yellow); cloud said {Describe(events)}");
            var info = await cloud.GetDeviceAsync(deviceId, ct);
            var failed = events.FirstOrDefault(e => e.Name == CloudEvent.FlashStatus && e.Data.StartsWith("failed", StringComparison.Ordinal));
            // back on the cloud, or waiting in listening mode for Wi-Fi after its connection went: the old app runs
            if (failed is not null && where is CoreWhereabouts.Connected or CoreWhereabouts.Listening)
                throw new CloudGaveUp($"the cloud failed the transfer ({failed.Data.Trim()}); the Core came back on its old app {info?.LastApp}");
            var done = events.Any(e => e.Name == CloudEvent.FlashStatus && e.Data.StartsWith("success", StringComparison.Ordinal));
            if (done && where == CoreWhereabouts.Connected && info?.LastApp is { } app && app != oldApp)
            {
                if (expectedApp is not null && app != expectedApp)
                    throw new LoopFailure(FailureModes.OtaFailed, $"the Core came back running {app}, not {expectedApp}");
                log.Add($"cloud: {Describe(events)}");
                if (slot.Led is { } led) await CheckLedAsync(led, ledSince, ct);
                return $"now running {app} (was {oldApp})";
            }
            // The new app names itself when it connects: a Core back online after "success" that still reports
            // its old app did not take the image (not applied, or rolled back), however long the rig waits.
            var successAt = events.FindIndex(e => e.Name == CloudEvent.FlashStatus && e.Data.StartsWith("success", StringComparison.Ordinal));
            var onlineAfter = successAt >= 0 && events.Skip(successAt + 1).Any(e => e.Name == CloudEvent.Status && e.Data.StartsWith("online", StringComparison.Ordinal));
            if (onlineAfter && where == CoreWhereabouts.Connected && info?.LastApp == oldApp)
            {
                backOnline ??= time.GetTimestamp();
                if (time.GetElapsedTime(backOnline.Value) >= OldAppGrace)
                    throw new LoopFailure(FailureModes.OtaFailed,
                        $"the cloud said success but the Core came back online still running its old app {oldApp} (the image was not applied, or was rolled back); cloud said {Describe(events)}");
            }
            if (time.GetElapsedTime(start) > Timeout)
            {
                // the cloud never finished (neither success nor failed) and the Core still runs its old app: the cloud's
                if (!done && failed is null && where == CoreWhereabouts.Connected && info?.LastApp == oldApp)
                    throw new CloudGaveUp($"the cloud said neither success nor failed within {Timeout.TotalSeconds:0} s; the Core runs its old app");
                throw new LoopFailure(FailureModes.OtaTimeout, $"no new app on the cloud within {Timeout.TotalSeconds:0} s; cloud said {Describe(events)}; Core: {where}");
            }
        }
    }

    /// <summary>Times a flash request the cloud answers with a server error (5xx) is sent again.</summary>
    public const int PutRetries = 2;

    public static readonly TimeSpan PutRetryPause = TimeSpan.FromSeconds(5);

    /// <summary>The PUT; a 5xx (the cloud's own trouble, nothing reached the Core) is sent again after a pause.</summary>
    private async Task<CloudFlashReply> PutAsync(ICloud cloud, string deviceId, byte[] image, List<string> log, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await cloud.FlashAsync(deviceId, image, ct);
            }
            catch (CloudException ex) when (ex.StatusCode is >= 500 and < 600)
            {
                var last = attempt >= PutRetries;
                RigRetries.Record("cloud-5xx", $"PUT answered {ex.StatusCode}: {ex.Message}", gaveUp: last);
                log.Add($"PUT answered {ex.StatusCode}{(last ? "" : "; sent again")}");
                if (last) throw;
                await Task.Delay(PutRetryPause, context.Time, ct);
            }
        }
    }

    /// <summary>With an LED observer: the bootloader's fast magenta apply was seen and the Core breathes cyan now.</summary>
    private static async Task CheckLedAsync(ISlotLed led, TimeSpan? since, CancellationToken ct)
    {
        await led.Expect().WaitForAsync(new LedState(LedColor.Cyan, LedPattern.Breathing), TimeSpan.FromSeconds(10), ct);
        var timeline = led.Timeline(since);
        // the app's per-chunk toggling runs at the chunk rate and may be named flashing or fast flashing; the
        // bootloader's apply is the one that must be there
        if (!timeline.Segments.Any(s => new LedState(LedColor.Magenta, LedPattern.FastFlashing).Matches(s.State)))
            throw new LedExpectationException($"no fast flashing magenta (the bootloader's OTA apply); saw {timeline}", timeline);
    }

    private static string Describe(IReadOnlyList<CloudEvent> events) =>
        events.Count == 0 ? "nothing" : string.Join(", ", events.Select(e => $"{e.Name} {e.Data.Trim()}"));
}

internal static class LoopRunner
{
    public static async Task<LoopResult> RunAsync(string loop, CoreLifeContext context, RigSlot slot, Func<List<string>, Task<string>> body, CancellationToken ct)
    {
        var start = context.Time.GetTimestamp();
        var ledSince = slot.Led?.Now;
        var log = new List<string>();
        LoopResult Result(Verdict verdict, string? mode, string signature) =>
            new(loop, verdict, mode, signature, context.Time.GetElapsedTime(start), log, slot.Led is null ? null : context.LedEvidence(slot, ledSince));
        try
        {
            // the loop's LED evidence must come from this slot's own sensor
            SensorIdCheck.Verify(slot);
            return Result(Verdict.Pass, null, await body(log));
        }
        catch (LoopFailure ex)
        {
            return Result(Verdict.Fail, ex.Mode, ex.Message);
        }
        catch (LoopRigFault ex)
        {
            return Result(Verdict.RigFault, ex.Mode, ex.Message);
        }
        catch (LedExpectationException ex)
        {
            return Result(Verdict.Fail, FailureModes.WrongLed, ex.Message);
        }
        catch (ChoreographyException ex)
        {
            // the buttons did not lead where they lead on a good Core: the LED timeline says where it went
            return Result(Verdict.Fail, FailureModes.WrongLed, ex.Message);
        }
        catch (Chips.SensorException ex)
        {
            return Result(Verdict.RigFault, FailureModes.SensorFault, ex.Message);
        }
        catch (SlotLineException ex)
        {
            return Result(Verdict.RigFault, ex.IsPower ? FailureModes.RelayFault : FailureModes.ButtonFault, ex.Message);
        }
        catch (UsbException ex)
        {
            return Result(Verdict.RigFault, FailureModes.UsbTransport, ex.Message);
        }
        catch (CloudException ex)
        {
            // a refused token, an unknown device id or a silent cloud says nothing about the Core
            return Result(Verdict.RigFault, FailureModes.CloudError, ex.Message);
        }
    }
}
