using HilRig.Core.Chips;
using HilRig.Core.Led;

namespace HilRig.Core.Slots;

/// <summary>What a slot's colour sensor has seen: the LED as an observable for procedures and choreographies.</summary>
public interface ISlotLed
{
    /// <summary>Expectations from now on ("wait for flashing yellow within 5 s").</summary>
    LedExpectations Expect();

    /// <summary>The timeline since <paramref name="since"/> (rig clock since the sampler started), or all that is buffered.</summary>
    LedTimeline Timeline(TimeSpan? since = null);

    LedState Current { get; }

    /// <summary>Rig clock position of the sampler, to mark the start of a step's timeline.</summary>
    TimeSpan Now { get; }

    /// <summary>Set when the sensor stopped answering: a rig fault for this slot, never a DUT verdict.</summary>
    SensorException? Fault { get; }

    /// <summary>The colour sensor's chip id read now, or null where it cannot be read (no sensor of its own, or it already failed).</summary>
    byte? ReadSensorId() => null;
}

/// <summary>A slot's view of the rig's one <see cref="LedSampler"/>.</summary>
public sealed class SamplerSlotLed(LedSampler sampler, int slot) : ISlotLed
{
    public LedExpectations Expect() => sampler.Expect(slot);

    public LedTimeline Timeline(TimeSpan? since = null) => sampler.Timeline(slot, since);

    public LedState Current => sampler.CurrentState(slot);

    public TimeSpan Now => sampler.Now;

    public SensorException? Fault => sampler.Fault(slot);

    public byte? ReadSensorId() => sampler.ReadChipId(slot);
}
