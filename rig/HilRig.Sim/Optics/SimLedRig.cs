using HilRig.Core.Chips.Tca9548a;
using HilRig.Core.Chips.Tcs34725;
using HilRig.Core.Led;
using HilRig.Sim.Rig.I2c;

namespace HilRig.Sim.Optics;

/// <summary>
/// The LED-watching part of a simulated rig: one LED emitter and one TCS34725 model per slot, eight slots per
/// TCA9548A (0x70, 0x71, ...) on one 400 kHz bus, neighbouring slots leaking a little light into each other's
/// sensors; plus the Core drivers wired to it, ready for a <see cref="LedSampler"/>.
/// </summary>
public sealed class SimLedRig
{
    public SimLedRig(TimeProvider time, int slots, OpticsSettings optics, int seed)
    {
        if (slots is < 1 or > 64) throw new ArgumentOutOfRangeException(nameof(slots), slots, "a rig has 1..64 slots (8 muxes of 8 channels)");
        optics.Validate();
        Bus = new SimI2cBus("i2c-1");
        Emitters = [.. Enumerable.Range(0, slots).Select(_ => new LedEmitter(time, optics))];
        var muxCount = (slots + Tca9548a.ChannelCount - 1) / Tca9548a.ChannelCount;
        MuxModels = [.. Enumerable.Range(0, muxCount).Select(m => new Tca9548aModel($"mux 0x{Tca9548a.BaseAddress + m:X2}"))];
        var muxDrivers = new List<Tca9548a>();
        for (var m = 0; m < muxCount; m++)
        {
            Bus.Attach(Tca9548a.BaseAddress + m, MuxModels[m]);
            muxDrivers.Add(new Tca9548a(Bus.CreateDevice(Tca9548a.BaseAddress + m), $"mux 0x{Tca9548a.BaseAddress + m:X2}"));
        }
        var sensorDevice = Bus.CreateDevice(Tcs34725Registers.DefaultAddress);
        var models = new List<Tcs34725Model>();
        var sensors = new List<LedSlotSensor>();
        for (var slot = 0; slot < slots; slot++)
        {
            var neighbours = new List<ILightSource>();
            if (slot > 0) neighbours.Add(Emitters[slot - 1]);
            if (slot + 1 < slots) neighbours.Add(Emitters[slot + 1]);
            // one seeded stream per slot, so adding a slot does not change another slot's noise
            var model = new Tcs34725Model(time, Emitters[slot], neighbours, optics, new Random(unchecked(seed * 1_000_003 + slot * 7919) & int.MaxValue));
            var mux = slot / Tca9548a.ChannelCount;
            var channel = slot % Tca9548a.ChannelCount;
            MuxModels[mux].Channel(channel).Attach(Tcs34725Registers.DefaultAddress, model);
            models.Add(model);
            sensors.Add(new LedSlotSensor(slot, muxDrivers[mux], channel, new Tcs34725(sensorDevice, time, $"slot {slot}")));
        }
        SensorModels = models;
        Sensors = sensors;
    }

    public SimI2cBus Bus { get; }

    public IReadOnlyList<LedEmitter> Emitters { get; }

    public IReadOnlyList<Tcs34725Model> SensorModels { get; }

    public IReadOnlyList<Tca9548aModel> MuxModels { get; }

    /// <summary>Core drivers for each slot's sensor, for a <see cref="LedSampler"/>.</summary>
    public IReadOnlyList<LedSlotSensor> Sensors { get; }
}
