using HilRig.Core.Led;
using HilRig.Core.Procedures;
using HilRig.Core.Spark;
using HilRig.Core.Usb;

namespace HilRig.Core.Slots;

/// <summary>What was seen after a slot's power was cut; each non-null part is a reason the Core may still be powered.</summary>
/// <param name="StillOnUsb">What is still enumerated at the slot's USB path.</param>
/// <param name="StillLit">What the slot's colour sensor still sees.</param>
/// <param name="DfuOnModeReset">The DFU device that MODE held through a RESET brought up (only when probed).</param>
public sealed record PowerOffFinding(string? StillOnUsb, string? StillLit, string? DfuOnModeReset)
{
    /// <summary>The rule: power is off only when nothing of the Core is on USB, its LED is dark and it answers no button.</summary>
    public bool Cut => StillOnUsb is null && StillLit is null && DfuOnModeReset is null;

    public string How(string usbPath, bool ledSeen, bool probed) =>
        StillOnUsb ?? StillLit ?? DfuOnModeReset
        ?? $"nothing at {usbPath}{(ledSeen ? ", LED dark" : "")}{(probed ? ", and MODE held through a RESET brought up no DFU device" : "")}";
}

/// <summary>
/// The one rule for "this slot's power is really off", used by `hilrig power off` and by the doctor's relay check:
/// after the cut and a settle, nothing of Spark's at the slot's USB path; the LED dark where a sensor sees it; and,
/// when probed, MODE held through a RESET brings up no DFU device (a powered Core always answers that).
/// </summary>
public static class PowerOffVerification
{
    /// <summary>How long a Core takes to leave the bus once its supply is gone.</summary>
    public static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(500);

    /// <summary>The classifier needs a blink cycle or so to tell a dark LED from a blink's dark half.</summary>
    public static readonly TimeSpan DarkWithin = TimeSpan.FromSeconds(2);

    /// <summary>MODE held after the RESET for this long: a powered Core's bootloader would be in DFU by then.</summary>
    public static readonly TimeSpan ProbeHold = TimeSpan.FromSeconds(4);

    /// <param name="stillLit">How the LED is looked at: null uses the slot's LED observer (when it has one); else a
    /// measurement that returns what it saw when lit, null when dark.</param>
    /// <param name="settle">The wait after the cut (default <see cref="Settle"/>).</param>
    public static async Task<PowerOffFinding> VerifyAsync(RigSlot slot, IUsbBus usb, TimeProvider time, bool probeDfu,
        Func<CancellationToken, Task<string?>>? stillLit = null, TimeSpan? settle = null, CancellationToken ct = default)
    {
        await Task.Delay(settle ?? Settle, time, ct);
        var onUsb = usb.GetDevices().FirstOrDefault(d => d.Path == slot.UsbPath && d.Descriptor.VendorId == SparkUsb.VendorId) is { } still
            ? $"{still.Descriptor.VidPid} is still at {slot.UsbPath}"
            : null;
        var lit = await (stillLit ?? (c => LedStillLitAsync(slot, c)))(ct);
        if (onUsb is not null || lit is not null || !probeDfu) return new PowerOffFinding(onUsb, lit, null);

        slot.Control.SetMode(true);
        try
        {
            await Choreography.ResetAsync(slot, time, ct);
            await Task.Delay(ProbeHold, time, ct);
        }
        finally
        {
            slot.Control.SetMode(false);
        }
        await Task.Delay(Settle, time, ct);
        if (ChoreographyRunner.Find(usb, slot.UsbPath, SparkUsb.DfuProductId) is null) return new PowerOffFinding(null, null, null);
        await Choreography.ResetAsync(slot, time, ct); // back to its app
        return new PowerOffFinding(null, null, $"holding MODE through a RESET brought up the DFU device at {slot.UsbPath}");
    }

    private static async Task<string?> LedStillLitAsync(RigSlot slot, CancellationToken ct)
    {
        if (slot.Led is not { } led) return null;
        try
        {
            await led.Expect().WaitForAsync(LedState.Dark, DarkWithin, ct);
            return null;
        }
        catch (LedExpectationException)
        {
            return $"the LED still shows {led.Current}";
        }
    }
}

/// <summary>
/// Switching a slot's relay off when the rig depends on the cut (a power cycle to tell a hung chip from a hung rig): the
/// line reads back what was written even when the contact sticks, so the cut is checked the way `power off` checks it
/// (gone from USB, LED dark where a sensor sees it). A contact that did not open is switched again, each time recorded
/// as a `relay-stuck` retry; after <see cref="GpioSlotControl.LineRetries"/> the slot's relay is a rig fault.
/// </summary>
public static class RelaySwitch
{
    /// <exception cref="SlotLineException">The Core is still powered after every try (<see cref="SlotLineException.IsPower"/>).</exception>
    public static Task CutAsync(RigSlot slot, IUsbBus usb, TimeProvider time, CancellationToken ct = default) => CutAsync(slot, usb, time, probeDfu: false, ct);

    /// <param name="probeDfu">Also hold MODE through a RESET after the cut: a hung Core is off USB and dark (or unobserved)
    /// whether or not its supply is cut; only a powered one answers the buttons.</param>
    /// <exception cref="SlotLineException">The Core is still powered after every try (<see cref="SlotLineException.IsPower"/>).</exception>
    public static async Task CutAsync(RigSlot slot, IUsbBus usb, TimeProvider time, bool probeDfu, CancellationToken ct = default)
    {
        for (var attempt = 0; ; attempt++)
        {
            var last = attempt >= GpioSlotControl.LineRetries;
            slot.Control.SetPower(false);
            var finding = await PowerOffVerification.VerifyAsync(slot, usb, time, probeDfu, ct: ct);
            if (finding.Cut) return;
            var how = finding.How(slot.UsbPath, slot.Led is not null, probeDfu);
            RigRetries.Record("relay-stuck", $"{slot}: relay switched off but {how}", gaveUp: last);
            if (last)
                throw new SlotLineException(true, $"{slot}: the power relay does not cut the Core's supply ({GpioSlotControl.LineRetries + 1} tries; {how}): its contact is stuck closed, replace the relay");
            // a sticky contact often lets go on the next switch
            slot.Control.SetPower(true);
            await Task.Delay(ChoreographyStep.SetPower.SettleTime, time, ct);
        }
    }

    /// <summary>
    /// A power cycle the rig depends on: the cut checked as <see cref="CutAsync(RigSlot, IUsbBus, TimeProvider, bool, CancellationToken)"/>
    /// (with the MODE-through-RESET probe: a hung Core is off USB whether or not its supply is cut), then the relay on
    /// as <see cref="SwitchOnAsync"/>.
    /// </summary>
    /// <param name="cameUp">After a switch on: true when the Core came up as it should, false when it is powered but not
    /// where it should be (no switching again), null when nothing of it is seen.</param>
    /// <param name="unseenIsRelayFault">The Core was up before the cut, so nothing of it after every switch on is the
    /// relay's (a contact that does not close), not the Core's: the switches are recorded and the relay is a rig fault.</param>
    /// <returns>What the last <paramref name="cameUp"/> said.</returns>
    /// <exception cref="SlotLineException">The contact does not open, or (<paramref name="unseenIsRelayFault"/>) does not close (<see cref="SlotLineException.IsPower"/>).</exception>
    public static async Task<bool?> PowerCycleAsync(RigSlot slot, IUsbBus usb, TimeProvider time, Func<Task<bool?>> cameUp, List<string> log,
        bool unseenIsRelayFault = false, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(cameUp);
        ArgumentNullException.ThrowIfNull(log);
        await CutAsync(slot, usb, time, probeDfu: true, ct);
        log.Add("power cut (checked: off USB, no DFU on MODE through RESET)");
        return await SwitchOnAsync(slot, usb, time, cameUp, log, unseenIsRelayFault, ct);
    }

    /// <summary>
    /// The relay switched on when the rig leaves the Core on (`hilrig power on`, `led watch|record --power-on`, the
    /// doctor putting a slot back, the station powering a slot): the line reads back what was written whatever the contact
    /// does, so the switch is checked by the Core showing itself within its app's start, its LED lit or anything of it on
    /// USB at the slot, and switched again through a checked cut when it does not (<see cref="SwitchOnAsync"/>). What
    /// nothing seen means depends on what is known of the slot (<paramref name="expect"/>).
    /// </summary>
    /// <param name="lit">How the LED is looked at: null uses the slot's LED observer; else a measurement that returns what
    /// it saw when lit, null when dark. Without either only USB could tell, and a Core running its app is not on USB: the
    /// switch is then taken as made (null returned).</param>
    /// <returns>What showed the Core (for an output line), or null when it could not be seen (see <paramref name="expect"/>).</returns>
    /// <exception cref="SlotLineException">Nothing of the Core after every switch, when <paramref name="expect"/> says a Core is there (<see cref="SlotLineException.IsPower"/>).</exception>
    public static async Task<string?> PowerOnAsync(RigSlot slot, IUsbBus usb, TimeProvider time, PowerOnExpectation expect,
        Func<CancellationToken, Task<string?>>? lit = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(slot);
        ArgumentNullException.ThrowIfNull(usb);
        if (lit is null && slot.Led is { Fault: null } led) lit = _ => Task.FromResult(LedState.Dark.Matches(led.Current) ? null : $"LED {led.Current}");
        if (lit is null)
        {
            slot.Control.SetPower(true);
            return null;
        }
        string? seen = null;
        async Task<bool?> Seen()
        {
            var begin = time.GetTimestamp();
            while (true)
            {
                if (usb.GetDevices().FirstOrDefault(d => d.Path == slot.UsbPath && d.Descriptor.VendorId == SparkUsb.VendorId) is { } device)
                    seen = $"{device.Descriptor.VidPid} at {slot.UsbPath}";
                else
                    seen = await lit(ct);
                if (seen is not null) return true;
                if (time.GetElapsedTime(begin) >= Identify.AppStart) return null;
                await Task.Delay(ChoreographyRunner.UsbPollInterval, time, ct);
            }
        }

        if (expect == PowerOnExpectation.MayBeEmpty)
        {
            // An empty slot shows nothing whether or not the contact closed: switching again through a cut proves nothing
            // there, and the cut's MODE-through-RESET probe would put a Core the operator drops in meanwhile into DFU.
            // One switch; a Core that shows is the evidence the contact closed, nothing is no evidence either way.
            slot.Control.SetPower(true);
            await Task.Delay(ChoreographyStep.SetPower.SettleTime, time, ct);
            return await Seen() is null ? null : seen;
        }
        var log = new List<string>();
        var up = await SwitchOnAsync(slot, usb, time, Seen, log, unseenIsRelayFault: expect == PowerOnExpectation.WasUp, ct);
        if (up is null)
            throw new SlotLineException(true, $"{slot}: power on: the relay was switched on {GpioSlotControl.LineRetries + 1} times and nothing of a Core was seen (LED dark, nothing on USB at {slot.UsbPath}): its contact is stuck open (replace the relay), or the slot is empty");
        var again = log.Count(l => l.StartsWith(NothingSeen, StringComparison.Ordinal));
        return again > 0 ? $"{seen}; the relay stuck open {again} time(s) and was switched again" : seen;
    }

    private const string NothingSeen = "relay switched on: nothing of the Core seen";

    /// <summary>
    /// The relay switched on until <paramref name="cameUp"/> sees the Core. Nothing seen (null) may be a contact that did
    /// not close, or a Core that does not start: the relay is switched off (that cut checked too, with the DFU probe: a
    /// Core in its app is off USB) and on again, at most <see cref="GpioSlotControl.LineRetries"/> times; a Core seen
    /// only after that is the evidence the earlier switches did not close the contact, each recorded as a `relay-stuck` retry.
    /// </summary>
    /// <param name="unseenIsRelayFault">Nothing seen after every switch is the relay's: recorded (the last given up) and thrown.</param>
    /// <returns>What the last <paramref name="cameUp"/> said (null only when <paramref name="unseenIsRelayFault"/> is false).</returns>
    public static async Task<bool?> SwitchOnAsync(RigSlot slot, IUsbBus usb, TimeProvider time, Func<Task<bool?>> cameUp, List<string> log,
        bool unseenIsRelayFault = false, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(cameUp);
        ArgumentNullException.ThrowIfNull(log);
        var unseen = 0;
        for (var attempt = 0; ; attempt++)
        {
            slot.Control.SetPower(true);
            await Task.Delay(ChoreographyStep.SetPower.SettleTime, time, ct);
            var up = await cameUp();
            if (up is null && attempt < GpioSlotControl.LineRetries)
            {
                unseen++;
                log.Add($"{NothingSeen}; switched again");
                // the off is checked too: a contact that did close and then sticks on the off must not go unseen
                await CutAsync(slot, usb, time, probeDfu: true, ct);
                continue;
            }
            if (up is not null)
            {
                for (var i = 0; i < unseen; i++)
                    RigRetries.Record("relay-stuck", $"{slot}: relay switched on, nothing of the Core seen; the Core came up after the relay was switched again", gaveUp: false);
            }
            else if (unseenIsRelayFault)
            {
                for (var i = 0; i <= unseen; i++)
                    RigRetries.Record("relay-stuck", $"{slot}: relay switched on, nothing of the Core seen", gaveUp: i == unseen);
                throw new SlotLineException(true, $"{slot}: the power relay does not close ({GpioSlotControl.LineRetries + 1} switches on, nothing of the Core seen though it was up before the cut): its contact is stuck open, replace the relay or retest the Core in another slot");
            }
            return up;
        }
    }
}

/// <summary>What is known of a slot when its relay is switched on, which says what nothing seen afterwards means.</summary>
public enum PowerOnExpectation
{
    /// <summary>Someone switched on a slot to use its Core: nothing seen after every switch is a rig fault (a contact stuck
    /// open, or an empty slot: both named).</summary>
    CoreExpected,

    /// <summary>The Core was up before the cut: nothing of it after every switch is the relay's (recorded, thrown).</summary>
    WasUp,

    /// <summary>The slot may be empty (a station waiting for a Core): one switch, nothing seen is no fault.</summary>
    MayBeEmpty,
}
