using System.Globalization;
using HilRig.Core.Led;
using HilRig.Core.Spark;
using HilRig.Core.Usb;

namespace HilRig.Core.Slots;

/// <summary>One step of a button/power sequence.</summary>
public abstract record ChoreographyStep
{
    private ChoreographyStep()
    {
    }

    /// <summary>Relay on or off. <see cref="SettleTime"/> lets the supply come up before the next step.</summary>
    public sealed record SetPower(bool On, bool OnlyIfOff = false) : ChoreographyStep
    {
        public static readonly TimeSpan SettleTime = TimeSpan.FromMilliseconds(200);

        public override string ToString() => OnlyIfOff ? "power on (if off)" : On ? "power on" : "power off";
    }

    public sealed record Mode(bool Pressed) : ChoreographyStep
    {
        public override string ToString() => Pressed ? "press MODE" : "release MODE";
    }

    /// <summary>RESET held for 100 ms, then released: the bootloader starts on the release.</summary>
    public sealed record PulseReset : ChoreographyStep
    {
        public override string ToString() => "pulse RESET";
    }

    public sealed record Wait(TimeSpan Duration) : ChoreographyStep
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"wait {Duration.TotalSeconds:0.###} s");
    }

    /// <summary>
    /// Waits for an LED state on the slot's observer; without an observer, waits <see cref="Fallback"/> instead
    /// (the time the state is due by the firmware's timing). After a RESET pulse in the same script only a segment
    /// that starts after the pulse counts. Not <see cref="Required"/>: the wait ends at its timeout without failing
    /// (a hold that must last, seen or not).
    /// </summary>
    public sealed record WaitForLed(LedState State, TimeSpan Timeout, TimeSpan Fallback, bool Required = true) : ChoreographyStep
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"wait for {State} ({(Required ? "within" : "or")} {Timeout.TotalSeconds:0.#} s)");
    }

    /// <summary>Waits for a Spark device with <paramref name="ProductId"/> at the slot's USB path.</summary>
    public sealed record WaitForUsb(ushort ProductId, TimeSpan Timeout) : ChoreographyStep
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"wait for {SparkUsb.VendorId:x4}:{ProductId:x4} at the slot (within {Timeout.TotalSeconds:0.#} s)");
    }
}

/// <summary>A named list of steps, run by <see cref="ChoreographyRunner"/>.</summary>
public sealed record ChoreographyScript(string Name, IReadOnlyList<ChoreographyStep> Steps)
{
    public override string ToString() => $"{Name}: {string.Join(", ", Steps)}";
}

/// <summary>The Core's button sequences (spark-core.md §3.3, §8), as data.</summary>
public static class Choreographies
{
    private static readonly LedState FlashingYellow = new(LedColor.Yellow, LedPattern.Flashing);

    /// <summary>The longest MODE hold of a factory reset: past the bootloader's 10 s, never released before it.</summary>
    public static readonly TimeSpan FactoryResetHold = TimeSpan.FromSeconds(11);

    /// <summary>Hold MODE, tap RESET, release on flashing yellow (3 s; 4 s without an LED observer), expect DFU on USB.</summary>
    public static readonly ChoreographyScript EnterDfu = new("enter DFU",
    [
        new ChoreographyStep.SetPower(true, OnlyIfOff: true),
        new ChoreographyStep.Mode(true),
        new ChoreographyStep.PulseReset(),
        // yellow starts at 3 s; give up at 6.5 s, far from the factory reset at 10 s
        new ChoreographyStep.WaitForLed(FlashingYellow, TimeSpan.FromSeconds(6.5), Choreography.DfuHold),
        new ChoreographyStep.Mode(false),
        new ChoreographyStep.WaitForUsb(SparkUsb.DfuProductId, Choreography.EnumerationTimeout),
    ]);

    /// <summary>
    /// Hold MODE, tap RESET, keep holding through flashing yellow until white (10 s), then release. Yellow is not
    /// waited for: with DFU already selected by the flags the bootloader keeps the LED dark until 10 s
    /// (spark-core.md §3.3). MODE is held until white is seen or 11 s passed: the bootloader starts the factory
    /// reset at 10 s whether or not MODE is still held, and the loop judges where the Core ends up.
    /// </summary>
    public static readonly ChoreographyScript FactoryReset = new("factory reset",
    [
        new ChoreographyStep.SetPower(true, OnlyIfOff: true),
        new ChoreographyStep.Mode(true),
        new ChoreographyStep.PulseReset(),
        // white comes at 10 s from the RESET release: solid while the app area is erased
        new ChoreographyStep.WaitForLed(new LedState(LedColor.White, LedPattern.Solid), FactoryResetHold, FactoryResetHold, Required: false),
        new ChoreographyStep.Mode(false),
    ]);


    /// <summary>Relay off for a second (LED dark), then on.</summary>
    public static readonly ChoreographyScript PowerCycle = new("power cycle",
    [
        new ChoreographyStep.SetPower(false),
        new ChoreographyStep.WaitForLed(LedState.Dark, TimeSpan.FromSeconds(2), TimeSpan.Zero),
        new ChoreographyStep.Wait(TimeSpan.FromSeconds(1)),
        new ChoreographyStep.SetPower(true),
    ]);

    /// <summary>In the app: hold MODE 3 s until flashing blue; the Core's serial port enumerates.</summary>
    public static readonly ChoreographyScript EnterListeningMode = new("enter listening mode",
    [
        new ChoreographyStep.SetPower(true, OnlyIfOff: true),
        new ChoreographyStep.Mode(true),
        new ChoreographyStep.WaitForLed(new LedState(LedColor.Blue, LedPattern.Flashing), TimeSpan.FromSeconds(6), TimeSpan.FromSeconds(3.5)),
        new ChoreographyStep.Mode(false),
        new ChoreographyStep.WaitForUsb(SparkUsb.SerialProductId, Choreography.EnumerationTimeout),
    ]);
}

/// <summary>
/// Runs a <see cref="ChoreographyScript"/> on a slot: one interpreter for every sequence. A step that does not see
/// its LED state or USB device fails with a <see cref="ChoreographyException"/> carrying the LED timeline; buttons
/// pressed by the script are released whatever happens.
/// </summary>
public static class ChoreographyRunner
{
    public static readonly TimeSpan UsbPollInterval = TimeSpan.FromMilliseconds(50);

    /// <returns>One line per step with its start time from the beginning of the script.</returns>
    public static async Task<IReadOnlyList<string>> RunAsync(
        ChoreographyScript script, RigSlot slot, IUsbBus bus, TimeProvider time, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(script);
        ArgumentNullException.ThrowIfNull(slot);
        var log = new List<string>();
        var start = time.GetTimestamp();
        var ledStart = slot.Led?.Now;
        // after a RESET the LED's earlier state is stale (a Core already in DFU flashes yellow before the pulse too)
        TimeSpan? resetAt = null;
        bool modeHeld = false, resetHeld = false;
        try
        {
            foreach (var step in script.Steps)
            {
                log.Add(string.Create(CultureInfo.InvariantCulture, $"{time.GetElapsedTime(start).TotalSeconds,7:0.000} s {step}"));
                switch (step)
                {
                    case ChoreographyStep.SetPower p:
                        if (p.OnlyIfOff && slot.Control.PowerOn) break;
                        slot.Control.SetPower(p.On);
                        if (p.On) await Task.Delay(ChoreographyStep.SetPower.SettleTime, time, ct);
                        break;
                    case ChoreographyStep.Mode m:
                        slot.Control.SetMode(m.Pressed);
                        modeHeld = m.Pressed;
                        break;
                    case ChoreographyStep.PulseReset:
                        resetAt = slot.Led?.Now;
                        slot.Control.SetReset(true);
                        resetHeld = true;
                        await Task.Delay(Choreography.ResetPulse, time, ct);
                        slot.Control.SetReset(false);
                        resetHeld = false;
                        break;
                    case ChoreographyStep.Wait w:
                        await Task.Delay(w.Duration, time, ct);
                        break;
                    case ChoreographyStep.WaitForLed l when slot.Led is { } led:
                        try
                        {
                            var expect = led.Expect();
                            await (resetAt is { } since
                                ? expect.WaitForFreshAsync(l.State, l.Timeout, since, ct)
                                : expect.WaitForAsync(l.State, l.Timeout, ct));
                        }
                        catch (LedExpectationException) when (!l.Required)
                        {
                            log.Add(string.Create(CultureInfo.InvariantCulture, $"{time.GetElapsedTime(start).TotalSeconds,7:0.000} s {l.State} not seen; held {l.Timeout.TotalSeconds:0.#} s"));
                        }
                        catch (LedExpectationException ex)
                        {
                            throw new ChoreographyException($"{slot}: {script.Name}: step '{step}' failed: {ex.Message}", ex.Timeline, step);
                        }
                        break;
                    case ChoreographyStep.WaitForLed l:
                        if (l.Fallback > TimeSpan.Zero) await Task.Delay(l.Fallback, time, ct);
                        break;
                    case ChoreographyStep.WaitForUsb u:
                        await WaitForUsbAsync(slot, bus, time, u, script, ledStart, ct);
                        break;
                }
            }
        }
        finally
        {
            if (modeHeld) slot.Control.SetMode(false);
            if (resetHeld) slot.Control.SetReset(false);
        }
        return log;
    }

    private static async Task WaitForUsbAsync(
        RigSlot slot, IUsbBus bus, TimeProvider time, ChoreographyStep.WaitForUsb step, ChoreographyScript script, TimeSpan? ledStart, CancellationToken ct)
    {
        var start = time.GetTimestamp();
        while (Find(bus, slot.UsbPath, step.ProductId) is null)
        {
            if (time.GetElapsedTime(start) > step.Timeout)
            {
                var seen = bus.GetDevices().Where(d => d.Path == slot.UsbPath).Select(d => d.Descriptor.VidPid).FirstOrDefault();
                var timeline = slot.Led?.Timeline(ledStart) ?? LedTimeline.Empty;
                var what = seen is null ? $"nothing on that port" : $"{seen} is there instead";
                throw new ChoreographyException(
                    $"{slot}: {script.Name}: step '{step}' failed: no {SparkUsb.VendorId:x4}:{step.ProductId:x4} at {slot.UsbPath} within {step.Timeout.TotalSeconds:0.#} s ({what}){(slot.Led is null ? "" : $"; LED: {timeline}")}",
                    timeline, step);
            }
            await Task.Delay(UsbPollInterval, time, ct);
        }
    }

    public static IUsbDevice? Find(IUsbBus bus, string path, ushort productId) =>
        bus.GetDevices().FirstOrDefault(d => d.Path == path && d.Descriptor.VendorId == SparkUsb.VendorId && d.Descriptor.ProductId == productId);
}
