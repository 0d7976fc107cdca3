using HilRig.Core.Serial;
using HilRig.Sim.Device;

namespace HilRig.Sim.Rig;

/// <summary>The simulated Core's serial port as the rig reaches it: open only while listening mode has it enumerated.</summary>
public sealed class SimSlotSerial : ISlotSerial
{
    private readonly Func<VirtualCore?> _core;

    public SimSlotSerial(VirtualCore core) => _core = () => core;

    /// <summary>The serial of whichever Core sits in <paramref name="slot"/> now (none while it is empty).</summary>
    public SimSlotSerial(SimSlot slot)
    {
        ArgumentNullException.ThrowIfNull(slot);
        _core = () => slot.Occupied ? slot.Core : null;
    }

    public ISerialLink? TryOpen() => _core()?.SerialPort is { Open: true } port ? port.OpenHost() : null;
}
