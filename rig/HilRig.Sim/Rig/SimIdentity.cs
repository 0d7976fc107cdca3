using HilRig.Core.Slots;
using HilRig.Sim.Device;

namespace HilRig.Sim.Rig;

/// <summary>
/// The simulated Core's device id, read from its STM32 unique id. Stands in for the listening-mode `i` dialogue
/// over serial until that is simulated; a Core without power answers nothing, as over serial.
/// </summary>
public sealed class SimIdentity(VirtualCore core) : IDeviceIdentifier
{
    public Task<string?> ReadDeviceIdAsync(CancellationToken ct = default) =>
        Task.FromResult<string?>(core.DeviceId);
}
