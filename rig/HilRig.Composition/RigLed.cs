using System.Device.I2c;
using HilRig.Core.Chips;
using HilRig.Core.Chips.Tca9548a;
using HilRig.Core.Chips.Tcs34725;
using HilRig.Core.Config;
using HilRig.Core.Led;
using HilRig.Core.Results;

namespace HilRig.Composition;

/// <summary>
/// The rig's LED observation: one <see cref="LedSampler"/> over every configured slot's TCS34725 behind its
/// TCA9548A channel, sampling in the background for the session's life. The same code serves the simulator's
/// I2C bus and the Pi's /dev/i2c buses.
/// </summary>
public sealed class RigLed
{
    /// <summary>Samples kept per slot: 12,500 at 24 ms is five minutes, longer than a screening run.</summary>
    public const int BufferSize = 12_500;

    private readonly RigConfig _config;
    private readonly TimeProvider _wall;
    private CancellationTokenSource? _stop;

    private RigLed(RigConfig config, LedSampler sampler, TimeProvider wall)
    {
        _config = config;
        Sampler = sampler;
        _wall = wall;
    }

    public LedSampler Sampler { get; }

    /// <summary>The background sampling loop; faults only if the sampler itself breaks (a sensor fault is per slot).</summary>
    public Task? Sampling { get; private set; }

    /// <summary>
    /// Drivers for each slot's mux channel and sensor; <paramref name="busFor"/> gives the I2C bus by its number (null:
    /// the default bus). <paramref name="wall"/> stamps stored calibrations.
    /// </summary>
    public static RigLed Build(RigConfig config, Func<int?, I2cBus> busFor, TimeProvider time, TimeProvider wall)
    {
        var muxes = new Dictionary<(int? Bus, int Address), Tca9548a>();
        var sensorDevices = new Dictionary<int, I2cDevice>();
        var sensors = new List<LedSlotSensor>();
        foreach (var slot in config.Slots.OrderBy(s => s.Number))
        {
            var wiring = slot.Sensor;
            var bus = busFor(wiring.I2cBus);
            var key = (wiring.I2cBus, wiring.MuxAddress);
            if (!muxes.TryGetValue(key, out var mux))
                muxes[key] = mux = new Tca9548a(bus.CreateDevice(wiring.MuxAddress), $"TCA9548A 0x{wiring.MuxAddress:X2}");
            // every sensor answers 0x29; the mux decides which one hears
            var busKey = wiring.I2cBus ?? -1;
            if (!sensorDevices.TryGetValue(busKey, out var device))
                sensorDevices[busKey] = device = bus.CreateDevice(Tcs34725Registers.DefaultAddress);
            sensors.Add(new LedSlotSensor(slot.Number, mux, wiring.Channel, new Tcs34725(device, time, $"slot {slot.Number}")));
        }
        return new RigLed(config, new LedSampler(sensors, time, new LedSamplerOptions { BufferSize = BufferSize }), wall);
    }

    /// <summary>
    /// Powers up the sensors and applies the calibrations stored for this rig; slots without one are calibrated now
    /// when <paramref name="calibrateMissing"/> and <paramref name="isDark"/> says their Core is powered off, and the
    /// result stored. A sensor that fails is that slot's rig fault, never an exception here.
    /// </summary>
    public async Task StartAsync(ResultsStore? store, bool calibrateMissing, Func<int, bool>? isDark = null, CancellationToken cancellationToken = default)
    {
        await Sampler.InitializeAsync(cancellationToken);
        var stored = store?.GetCalibrations(_config.RigId).ToDictionary(c => c.Calibration.Slot, c => c.Calibration) ?? [];
        var missing = new List<int>();
        foreach (var slot in Sampler.Slots)
        {
            if (Sampler.Fault(slot) is not null) continue;
            if (stored.TryGetValue(slot, out var calibration))
                Sampler.ApplyCalibration(calibration);
            else if (calibrateMissing && (isDark?.Invoke(slot) ?? true))
                missing.Add(slot);
        }
        await CalibrateAllAsync(missing, store, cancellationToken);
    }

    /// <summary>
    /// Calibrates several slots at once (each reading selects its own mux channel first, so they interleave safely);
    /// returns each slot's calibration or the sensor fault that stopped it.
    /// </summary>
    public async Task<IReadOnlyList<(int Slot, SlotCalibration? Calibration, SensorException? Fault)>> CalibrateAllAsync(
        IEnumerable<int> slots, ResultsStore? store, CancellationToken cancellationToken = default)
    {
        // a slot that needs a fresh power-on awaits between register writes: those go one at a time
        var all = slots.ToList();
        var sequential = all.Where(s => Sampler.Fault(s) is not null).ToList();
        var results = new List<(int, SlotCalibration?, SensorException?)>();
        foreach (var slot in sequential)
            results.Add(await TryCalibrateAsync(slot, store, cancellationToken));
        results.AddRange(await Task.WhenAll(all.Except(sequential).Select(s => TryCalibrateAsync(s, store, cancellationToken))));
        return [.. results.OrderBy(r => r.Item1)];
    }

    private async Task<(int, SlotCalibration?, SensorException?)> TryCalibrateAsync(int slot, ResultsStore? store, CancellationToken cancellationToken)
    {
        try
        {
            return (slot, await CalibrateAsync(slot, store, cancellationToken), null);
        }
        catch (SensorException ex)
        {
            return (slot, null, ex);
        }
    }

    /// <summary>Dark calibration of one slot (its Core must be off), stored for this rig when a store is given.</summary>
    /// <exception cref="SensorException">The slot's sensor does not answer or is the wrong chip.</exception>
    public async Task<SlotCalibration> CalibrateAsync(int slot, ResultsStore? store, CancellationToken cancellationToken = default)
    {
        var calibration = await Sampler.CalibrateAsync(slot, null, cancellationToken);
        store?.SaveCalibration(_config.RigId, calibration, _wall.GetUtcNow());
        return calibration;
    }

    /// <summary>Starts sampling on the current context; <paramref name="pacing"/> is the clock its waits use.</summary>
    public void Run(TimeProvider pacing)
    {
        if (Sampling is not null) return;
        _stop = new CancellationTokenSource();
        Sampling = Sampler.RunAsync(pacing, _stop.Token);
    }

    public void Stop()
    {
        _stop?.Cancel();
        _stop?.Dispose();
        _stop = null;
    }
}
