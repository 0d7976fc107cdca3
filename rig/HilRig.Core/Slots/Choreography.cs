using HilRig.Core.Led;
using HilRig.Core.Spark;
using HilRig.Core.Usb;

namespace HilRig.Core.Slots;

/// <summary>A button/power sequence on a slot did not lead where it should.</summary>
public sealed class ChoreographyException(string message) : Exception(message)
{
    public ChoreographyException() : this("choreography failed") { }

    public ChoreographyException(string message, Exception inner) : this(message + ": " + inner.Message) { }

    public ChoreographyException(string message, LedTimeline timeline, ChoreographyStep? step) : this(message)
    {
        Timeline = timeline;
        Step = step;
    }

    /// <summary>What the slot's LED did during the sequence (empty without an LED observer): the evidence.</summary>
    public LedTimeline Timeline { get; } = LedTimeline.Empty;

    /// <summary>The step that did not see what it waited for.</summary>
    public ChoreographyStep? Step { get; }
}

/// <summary>
/// Button sequences from spark-core.md §3.3: hold MODE, tap RESET, keep holding. The bootloader samples MODE
/// once at start and counts: released between 3 and 10 s means DFU; at 10 s a factory reset starts.
/// </summary>
public static class Choreography
{
    /// <summary>Released well after the 3 s threshold and far from the 10 s factory reset.</summary>
    public static readonly TimeSpan DfuHold = TimeSpan.FromSeconds(4);

    public static readonly TimeSpan ResetPulse = TimeSpan.FromMilliseconds(100);

    public static readonly TimeSpan EnumerationTimeout = TimeSpan.FromSeconds(3);

    /// <summary>Runs <see cref="Choreographies.EnterDfu"/> unless the Core is already in DFU.</summary>
    public static async Task EnterDfuAsync(RigSlot slot, IUsbBus bus, TimeProvider time, CancellationToken ct = default)
    {
        if (slot.Control.PowerOn && FindDfu(bus, slot.UsbPath) is not null)
            return; // already in DFU: nothing to press
        await ChoreographyRunner.RunAsync(Choreographies.EnterDfu, slot, bus, time, ct);
    }

    /// <summary>Pulses RESET; the bootloader then boots the app (flags 0x5000) or falls into DFU.</summary>
    public static async Task ResetAsync(RigSlot slot, TimeProvider time, CancellationToken ct = default)
    {
        slot.Control.SetReset(true);
        await Task.Delay(ResetPulse, time, ct);
        slot.Control.SetReset(false);
    }

    public static async Task WaitForDfuAsync(RigSlot slot, IUsbBus bus, TimeProvider time, TimeSpan timeout, CancellationToken ct = default)
    {
        var start = time.GetTimestamp();
        while (FindDfu(bus, slot.UsbPath) is null)
        {
            if (time.GetElapsedTime(start) > timeout)
            {
                var seen = bus.GetDevices().Where(d => d.Path == slot.UsbPath).Select(d => d.Descriptor.VidPid).FirstOrDefault();
                throw new ChoreographyException(seen is null
                    ? $"{slot}: no DFU device appeared at {slot.UsbPath} within {timeout.TotalSeconds:0.#} s of releasing MODE (nothing on that port)"
                    : $"{slot}: {seen} at {slot.UsbPath} is not a Core in DFU mode");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(50), time, ct);
        }
    }

    public static IUsbDevice? FindDfu(IUsbBus bus, string path) =>
        bus.GetDevices().FirstOrDefault(d => d.Path == path && d.Descriptor.VendorId == SparkUsb.VendorId && d.Descriptor.ProductId == SparkUsb.DfuProductId);
}
