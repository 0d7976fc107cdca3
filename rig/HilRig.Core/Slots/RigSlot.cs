namespace HilRig.Core.Slots;

/// <summary>Reads the device id (24 hex) of the Core in a slot.</summary>
public interface IDeviceIdentifier
{
    /// <summary>Null when no Core answers.</summary>
    Task<string?> ReadDeviceIdAsync(CancellationToken ct = default);
}

/// <summary>
/// A slot with its instruments. The slot is the rig's; the device in it comes and goes. <see cref="Led"/> is null
/// on a rig without colour sensors wired in; <see cref="Serial"/> reaches the Core's USB serial port (listening mode).
/// </summary>
public sealed record RigSlot(
    int Number, string UsbPath, ISlotControl Control, IDeviceIdentifier Identity, string? Lot, ISlotLed? Led = null, Serial.ISlotSerial? Serial = null)
{
    public override string ToString() => $"slot {Number} ({UsbPath})";
}
