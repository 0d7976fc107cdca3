using HilRig.Core.Chips;
using HilRig.Core.Chips.Tcs34725;

namespace HilRig.Core.Slots;

/// <summary>
/// Before a loop leans on a slot's LED evidence, its colour sensor must still be the part it was at power-on: a
/// TCS3472x, read by its chip id. A loose cable or a mux channel that routes another part answers another id, and
/// the light it reports is not this Core's. A wrong id read again right is a recovered retry (kind
/// <c>sensor-id</c>); three wrong reads in a row are a sensor rig fault, never a verdict on the Core.
/// </summary>
public static class SensorIdCheck
{
    public const int Reads = 3;

    public static void Verify(RigSlot slot)
    {
        if (slot.Led is not { } led) return;
        for (var attempt = 1; ; attempt++)
        {
            byte? id;
            try
            {
                id = led.ReadSensorId();
            }
            catch (SensorException ex)
            {
                RigRetries.Record("i2c-nack", ex.Message, gaveUp: attempt >= Reads);
                if (attempt >= Reads) throw;
                continue;
            }
            if (id is null or Tcs34725Registers.IdTcs34725 or Tcs34725Registers.IdTcs34727) return;
            var last = attempt >= Reads;
            var what = $"slot {slot.Number}'s colour sensor answered chip id 0x{id:X2}; a TCS34725 answers 0x44, a TCS34727 0x4D";
            RigRetries.Record("sensor-id", what, gaveUp: last);
            if (last)
                throw new SensorException($"slot {slot.Number}", $"colour sensor answered chip id 0x{id:X2} {Reads} times in a row (a TCS34725 answers 0x44, a TCS34727 0x4D): check its cable and mux channel");
        }
    }
}
