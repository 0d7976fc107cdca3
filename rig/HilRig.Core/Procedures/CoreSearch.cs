using HilRig.Core.Led;
using HilRig.Core.Slots;
using HilRig.Core.Usb;

namespace HilRig.Core.Procedures;

/// <summary>
/// What <see cref="CoreSearch"/> found in a slot whose Core did not answer `i`: either a Core now in DFU
/// (<see cref="Arrival"/> says how it was found), or a rig fault that says what was checked.
/// </summary>
public sealed record CoreSearchResult(string? Arrival, Verdict? Verdict, string? FailureMode, string? Signature)
{
    public bool FoundInDfu => Arrival is not null;
}

/// <summary>
/// The any-state detection screening and soak share (issue 14.1): a Core that does not answer `i` is looked for in DFU
/// (already there: flashing yellow at every boot; or by MODE through RESET). "No Core in the slot" only when nothing at
/// all answers (USB, serial, DFU by the buttons, the LED), naming what was checked; something lit that answers neither
/// serial nor DFU is a rig fault of the USB path or the buttons, never an empty slot.
/// </summary>
public static class CoreSearch
{
    public static async Task<CoreSearchResult> LookAsync(IUsbBus bus, TimeProvider time, RigSlot slot, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(bus);
        ArgumentNullException.ThrowIfNull(slot);
        var ledFrom = slot.Led?.Now;
        if (Choreography.FindDfu(bus, slot.UsbPath) is not null)
            return new("already in DFU (flashing yellow) after power-on: the bootloader finds no app to run", null, null, null);
        var seenOnUsb = bus.GetDevices().Where(d => d.Path == slot.UsbPath).Select(d => d.Descriptor.VidPid).FirstOrDefault();
        try
        {
            await ChoreographyRunner.RunAsync(Choreographies.EnterDfu, slot, bus, time, ct);
            var was = slot.Led is { } l ? $"LED {l.Timeline(ledFrom)}" : seenOnUsb is null ? "nothing on USB" : $"{seenOnUsb} on USB";
            return new($"no listening mode ({was}), but MODE through RESET entered DFU", null, null, null);
        }
        catch (ChoreographyException ex)
        {
            var timeline = slot.Led?.Timeline(ledFrom);
            var lit = timeline?.Segments.Where(s => !LedState.Dark.Matches(s.State)).Select(s => s.State.ToString()).Distinct().ToList() ?? [];
            var usbNow = bus.GetDevices().Where(d => d.Path == slot.UsbPath).Select(d => d.Descriptor.VidPid).FirstOrDefault() ?? seenOnUsb;
            var led = slot.Led is null ? "LED not observed (no colour sensor on this slot)" : lit.Count == 0 ? "LED dark after power-on" : $"LED {string.Join(", ", lit)}";
            var checkedWhat = $"checked: USB at {slot.UsbPath} ({(usbNow is null ? "nothing enumerated" : usbNow)}), serial (no `i` answer), DFU by MODE through RESET (none), {led}";
            if (usbNow is null && lit.Count == 0)
                return new(null, Procedures.Verdict.RigFault, FailureModes.SlotEmpty, $"no Core in {slot}: nothing answers; {checkedWhat}");
            if (usbNow is null)
                return new(null, Procedures.Verdict.RigFault, FailureModes.UsbTransport,
                    $"the Core in {slot} is alive ({led}) but nothing enumerates on USB at {slot.UsbPath}: check the slot's USB cable and hub port, then retest; {checkedWhat}");
            // on USB but neither `i` nor DFU by the buttons: the buttons may not act, or its bootloader may not run; not judged
            return new(null, Procedures.Verdict.RigFault, FailureModes.NoDfu,
                $"the Core in {slot} answers neither `i` nor enters DFU by MODE through RESET (buttons not acting, or a bootloader that does not run): check the slot's button lines, then retest; {checkedWhat} ({ex.Message})");
        }
    }
}
