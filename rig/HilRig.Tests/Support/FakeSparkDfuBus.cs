using HilRig.Core.Usb;

namespace HilRig.Tests.Hardware;

/// <summary>A bus holding fixed devices, for serving over the USB socket in tests.</summary>
internal sealed class FakeUsbBus(params IUsbDevice[] devices) : IUsbBus
{
    public List<IUsbDevice> Devices { get; } = [.. devices];

    public IReadOnlyList<IUsbDevice> GetDevices() => [.. Devices];
}

/// <summary>
/// A Spark Core in its DFU bootloader as spark-core.md 4.1 describes its descriptors (1d50:607f, one interface
/// with two alt settings, DfuSe functional descriptor after the last alt). DFU itself is only GETSTATUS, GETSTATE
/// and CLRSTATUS, starting in dfuERROR/errFIRMWARE like the real bootloader.
/// </summary>
internal sealed class FakeSparkDfuDevice : IUsbDevice
{
    public const string Manufacturer = "Spark Devices     ";
    public const string Product = "CORE DFU ";
    public const string Serial = "8D8211995355";
    public const string InternalFlashName = "@Internal Flash  /0x08000000/20*001Ka,108*001Kg";
    public const string SpiFlashName = "@SPI Flash : SST25x/0x00000000/512*04Kg";

    public const byte DfuError = 10;
    public const byte DfuIdle = 2;
    public const byte ErrFirmware = 0x0A;

    public static readonly byte[] FunctionalDescriptor = [9, 0x21, 0x0B, 0xFF, 0x00, 0x00, 0x04, 0x1A, 0x01];

    public static readonly byte[] ConfigDescriptor =
    [
        9, 2, 36, 0, 1, 1, 0, 0xC0, 0x32,
        9, 4, 0, 0, 0, 0xFE, 0x01, 0x02, 4,
        9, 4, 0, 1, 0, 0xFE, 0x01, 0x02, 5,
        .. FunctionalDescriptor,
    ];

    private readonly string[] _strings = ["", Manufacturer, Product, Serial, InternalFlashName, SpiFlashName];

    public byte BusNumber { get; init; } = 1;

    public byte Address { get; init; } = 7;

    public IReadOnlyList<byte> PortNumbers { get; init; } = [1, 3];

    public UsbDeviceDescriptor Descriptor { get; } = new(0x0100, 0, 0, 0, 64, 0x1d50, 0x607f, 0x0200, 1, 2, 3, 1);

    public byte State { get; set; } = DfuError;

    public byte Status { get; set; } = ErrFirmware;

    /// <summary>wValue and data of the last DNLOAD.</summary>
    public (ushort BlockNumber, byte[] Data)? LastDownload { get; private set; }

    /// <summary>Every SETUP packet the device saw, in order.</summary>
    public List<UsbSetup> Requests { get; } = [];

    public byte[] GetRawConfigDescriptor(int index) =>
        index == 0 ? (byte[])ConfigDescriptor.Clone() : throw new UsbException(UsbError.NotFound, $"configuration index {index}");

    public IUsbDeviceHandle Open() => new Handle(this);

    private int Answer(UsbSetup setup, Span<byte> data)
    {
        Requests.Add(setup);
        switch (setup.RequestType, setup.Request)
        {
            case (0x80, UsbRequest.GetDescriptor):
                return Reply(Describe(setup), data, setup.Length);
            case (0x80, UsbRequest.GetConfiguration):
                return Reply([1], data, setup.Length);
            case (0xA1, 3): // DFU_GETSTATUS: bStatus, bwPollTimeout (3 bytes), bState, iString
                return Reply([Status, 0, 0, 0, State, 0], data, setup.Length);
            case (0xA1, 5): // DFU_GETSTATE
                return Reply([State], data, setup.Length);
            case (0x21, 1): // DFU_DNLOAD: only remembered, no flash behind this fake
                LastDownload = (setup.Value, data[..setup.Length].ToArray());
                return setup.Length;
            case (0x21, 4): // DFU_CLRSTATUS
                State = DfuIdle;
                Status = 0;
                return 0;
            default:
                throw new UsbException(UsbError.Pipe, $"fake Spark Core stalls {setup}");
        }
    }

    private byte[] Describe(UsbSetup setup)
    {
        var type = (byte)(setup.Value >> 8);
        var index = setup.Value & 0xFF;
        return type switch
        {
            UsbDescriptorType.Device => Descriptor.ToBytes(),
            UsbDescriptorType.Configuration when index == 0 => ConfigDescriptor,
            UsbDescriptorType.String when index == 0 => [4, 3, 0x09, 0x04],
            UsbDescriptorType.String when index < _strings.Length && setup.Index == 0x0409 => UsbStrings.Encode(_strings[index]),
            UsbDescriptorType.DfuFunctional => FunctionalDescriptor,
            _ => throw new UsbException(UsbError.Pipe, $"fake Spark Core has no descriptor for {setup}"),
        };
    }

    private static int Reply(ReadOnlySpan<byte> answer, Span<byte> data, int wLength)
    {
        var n = Math.Min(answer.Length, wLength);
        answer[..n].CopyTo(data);
        return n;
    }

    private sealed class Handle(FakeSparkDfuDevice device) : IUsbDeviceHandle
    {
        private bool _claimed;

        public IUsbDevice Device => device;

        public int AltSetting { get; private set; }

        public Task<int> ControlTransferAsync(UsbSetup setup, Memory<byte> data, TimeSpan timeout, CancellationToken cancellationToken = default) =>
            Task.FromResult(device.Answer(setup, data.Span));

        public void ClaimInterface(int interfaceNumber)
        {
            if (interfaceNumber != 0) throw new UsbException(UsbError.NotFound, $"claim interface {interfaceNumber}: the Spark Core DFU has only interface 0");
            _claimed = true;
        }

        public void ReleaseInterface(int interfaceNumber)
        {
            if (interfaceNumber != 0 || !_claimed) throw new UsbException(UsbError.NotFound, $"release interface {interfaceNumber}: not claimed");
            _claimed = false;
        }

        public Task SetAltSettingAsync(int interfaceNumber, int altSetting, CancellationToken cancellationToken = default)
        {
            if (interfaceNumber != 0 || !_claimed || altSetting is < 0 or > 1)
                throw new UsbException(UsbError.NotFound, $"alt setting {altSetting} of interface {interfaceNumber}");
            AltSetting = altSetting;
            return Task.CompletedTask;
        }

        public Task ResetAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

        public void Dispose() => _claimed = false;
    }
}
