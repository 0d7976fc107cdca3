using HilRig.Core.Usb;
using HilRig.Core.Usb.Wire;

namespace HilRig.Tests.Hardware;

/// <summary>
/// A 4-port per-port-power hub (VIA Labs style, 2109:2817 for the USB2 half, 2109:0817 for the USB3 half), answering
/// the hub class requests uhubctl sends (protocols.md 3.1-3.3), with an optional container id in its BOS descriptor.
/// </summary>
internal sealed class FakeHub : IUsbDevice, IUsbBosSource
{
    private readonly string[] _strings;
    private readonly byte[]? _containerId;

    public FakeHub(byte bus, byte address, byte[] ports, bool superSpeed, byte[]? containerId)
    {
        BusNumber = bus;
        Address = address;
        PortNumbers = ports;
        SuperSpeed = superSpeed;
        _containerId = containerId;
        Descriptor = new UsbDeviceDescriptor(superSpeed ? (ushort)0x0300 : (ushort)0x0210, 9, 0, superSpeed ? (byte)3 : (byte)1,
            superSpeed ? (byte)9 : (byte)64, 0x2109, superSpeed ? (ushort)0x0817 : (ushort)0x2817, 0x0100, 1, 2, 0, 1);
        _strings = ["", "VIA Labs, Inc.", superSpeed ? "USB3.0 Hub" : "USB2.0 Hub"];
        PortStatus = superSpeed ? [0x02A0, 0x02A0, 0x02A0, 0x02A0] : [0x0100, 0x0100, 0x0100, 0x0100];
    }

    private const ushort PortPowerFeature = 8;

    public bool SuperSpeed { get; }

    /// <summary>wPortStatus of ports 1..4.</summary>
    public ushort[] PortStatus { get; }

    public byte BusNumber { get; }

    public byte Address { get; }

    public IReadOnlyList<byte> PortNumbers { get; }

    public UsbDeviceDescriptor Descriptor { get; }

    public byte[] GetRawConfigDescriptor(int index) =>
    [
        9, 2, 25, 0, 1, 1, 0, 0xE0, 0,
        9, 4, 0, 0, 1, 9, 0, 0, 0,
        7, 5, 0x81, 0x03, 2, 0, 12,
    ];

    public byte[]? GetRawBosDescriptor() => _containerId is null ? null : [5, 0x0F, 25, 0, 1, 20, 0x10, 4, 0, .. _containerId];

    public IUsbDeviceHandle Open() => new Handle(this);

    private byte[] Answer(UsbSetup setup)
    {
        switch (setup.RequestType, setup.Request)
        {
            case (0x80, UsbRequest.GetDescriptor) when setup.Value >> 8 == UsbDescriptorType.String:
                var index = setup.Value & 0xFF;
                if (index == 0) return [4, 3, 0x09, 0x04];
                if (index < _strings.Length) return UsbStrings.Encode(_strings[index]);
                break;
            case (0xA0, UsbRequest.GetDescriptor) when setup.Value == 0x2900 && !SuperSpeed:
                // 4 ports, per-port power and over-current (0x0009), 100 ms power-on-to-good
                return [9, 0x29, 4, 0x09, 0x00, 50, 100, 0x00, 0xFF];
            case (0xA0, UsbRequest.GetDescriptor) when setup.Value == 0x2A00 && SuperSpeed:
                return [12, 0x2A, 4, 0x09, 0x00, 50, 0, 0, 0, 0, 0, 0];
            case (0xA3, UsbRequest.GetStatus) when setup.Index is >= 1 and <= 4:
                var s = PortStatus[setup.Index - 1];
                return [(byte)s, (byte)(s >> 8), 0, 0];
            case (0x80, UsbRequest.GetConfiguration):
                return [1];
            case (0x23, UsbRequest.ClearFeature or UsbRequest.SetFeature) when setup.Value == PortPowerFeature && setup.Index is >= 1 and <= 4:
                var on = setup.Request == UsbRequest.SetFeature;
                // without power the port loses its device too: the whole status word drops to 0
                PortStatus[setup.Index - 1] = on ? (ushort)(SuperSpeed ? 0x02A0 : 0x0100) : (ushort)0;
                return [];
        }
        throw new UsbException(UsbError.Pipe, $"fake hub stalls {setup}");
    }

    private sealed class Handle(FakeHub hub) : IUsbDeviceHandle
    {
        public IUsbDevice Device => hub;

        public Task<int> ControlTransferAsync(UsbSetup setup, Memory<byte> data, TimeSpan timeout, CancellationToken cancellationToken = default)
        {
            var answer = hub.Answer(setup);
            var n = Math.Min(answer.Length, setup.Length);
            answer.AsSpan(0, n).CopyTo(data.Span);
            return Task.FromResult(n);
        }

        public void ClaimInterface(int interfaceNumber) { }

        public void ReleaseInterface(int interfaceNumber) { }

        public Task SetAltSettingAsync(int interfaceNumber, int altSetting, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task ResetAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

        public void Dispose() { }
    }
}
