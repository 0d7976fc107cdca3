using HilRig.Core.Serial;
using HilRig.Sim.Device;

namespace HilRig.Sim.Rig;

/// <summary>The simulated Core's serial port as the rig reaches it: open only while listening mode has it enumerated.</summary>
public sealed class SimSlotSerial(VirtualCore core) : ISlotSerial
{
    public ISerialLink? TryOpen() => core.SerialPort is { Open: true } port ? port.OpenHost() : null;
}
