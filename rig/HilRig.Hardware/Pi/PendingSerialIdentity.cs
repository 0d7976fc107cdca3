using HilRig.Core.Slots;

namespace HilRig.Hardware.Pi;

/// <summary>
/// On the Pi a Core's device id comes from its listening-mode serial port (`i`), and the DFU serial string cannot
/// be turned back into it. Until the serial link is part of this backend, asking says so instead of guessing.
/// </summary>
public sealed class PendingSerialIdentity(int slot) : IDeviceIdentifier
{
    public Task<string?> ReadDeviceIdAsync(CancellationToken ct = default) =>
        throw new NotSupportedException($"slot {slot}: reading a Core's device id on the Pi needs its serial port (listening mode), which this build does not drive yet");
}
