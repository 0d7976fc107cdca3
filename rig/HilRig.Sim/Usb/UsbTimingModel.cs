namespace HilRig.Sim.Usb;

/// <summary>
/// Device time of a control transfer on a full-speed (12 Mbit/s) bus. Modelled, not measured:
/// a fixed per-transfer cost for the SETUP and STATUS stages and the host stack's turnaround, plus one data
/// packet per 64 bytes (64 x 8 bits at 12 Mbit/s = 43 us, with bit stuffing, token and handshake about 60 us).
/// </summary>
public sealed record UsbTimingModel(TimeSpan PerTransfer, TimeSpan PerPacket, int MaxPacketSize)
{
    public static readonly UsbTimingModel FullSpeed = new(TimeSpan.FromMicroseconds(250), TimeSpan.FromMicroseconds(60), 64);

    public TimeSpan TransferTime(int dataBytes)
    {
        var packets = (dataBytes + MaxPacketSize - 1) / MaxPacketSize;
        return PerTransfer + PerPacket * packets;
    }
}
