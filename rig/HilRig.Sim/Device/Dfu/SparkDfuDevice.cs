using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using HilRig.Core.Dfu;
using HilRig.Core.Usb;
using HilRig.Sim.Device.Flash;
using HilRig.Sim.Usb;

namespace HilRig.Sim.Device.Dfu;

/// <summary>
/// The Spark Core bootloader's DfuSe device (BL14, spark-core.md §4.1): descriptors with their quirks, the
/// DFU state machine, DfuSe Set Address / Erase / data blocks on two flash media chosen by address, and the
/// timing the host sees: a flash operation runs after the GETSTATUS that reported dfuDNBUSY and the device
/// NAKs until it is done. The flash's own status is not looked at (ST's DFU class ignores MAL_Erase/MAL_Write's
/// return): an erase or write of a write-protected bootloader page ends with status OK and nothing changed.
/// </summary>
public sealed class SparkDfuDevice : VirtualUsbFunction
{
    public const ushort VendorId = 0x1d50;
    public const ushort ProductId = 0x607f;
    public const string Manufacturer = "Spark Devices     ";
    public const string Product = "CORE DFU ";
    public const string InternalFlashAltName = "@Internal Flash  /0x08000000/20*001Ka,108*001Kg";
    public const string SpiFlashAltName = "@SPI Flash : SST25x/0x00000000/512*04Kg";
    public const ushort TransferSize = 1024;
    public const uint InternalFlashBase = 0x08000000;

    /// <summary>usb_desc.h declares both interface strings 98 bytes long, whatever their text.</summary>
    private const int InterfaceStringLength = 98;

    private static readonly TimeSpan InternalErasePoll = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan InternalWritePoll = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan SpiErasePoll = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan SpiWritePoll = TimeSpan.FromMilliseconds(30);
    private static readonly TimeSpan ManifestPoll = TimeSpan.FromMilliseconds(1);

    private static readonly DfuFunctionalDescriptor Functional = new(0x0B, 255, TransferSize, DfuFunctionalDescriptor.DfuSeVersion);

    private readonly IFlashMedia _internalFlash;
    private readonly IFlashMedia _spiFlash;
    private readonly string _serial;
    private readonly byte[] _pending = new byte[TransferSize];
    private int _pendingLength;
    private ushort _pendingBlock;
    private bool _hasPending;
    private int _altSetting;

    public SparkDfuDevice(TimeProvider time, IFlashMedia internalFlash, IFlashMedia spiFlash, string serial)
        : base(time)
    {
        ArgumentNullException.ThrowIfNull(internalFlash);
        ArgumentNullException.ThrowIfNull(spiFlash);
        ArgumentNullException.ThrowIfNull(serial);
        if (serial.Length != 12 || !serial.All(c => char.IsAsciiDigit(c) || c is >= 'A' and <= 'F'))
            throw new ArgumentException($"serial '{serial}': the Core's DFU serial is 12 uppercase hex characters (see SerialFromDeviceId)", nameof(serial));
        _internalFlash = internalFlash;
        _spiFlash = spiFlash;
        _serial = serial;
        DeviceDescriptor = new UsbDeviceDescriptor(0x0100, 0, 0, 0, 64, VendorId, ProductId, 0x0200, 1, 2, 3, 1);
    }

    public override UsbDeviceDescriptor DeviceDescriptor { get; }

    public DfuState State { get; private set; } = DfuState.DfuError;

    /// <summary>The bootloader starts in dfuERROR/errFIRMWARE; dfu-util clears it.</summary>
    public DfuStatusCode Status { get; private set; } = DfuStatusCode.ErrFirmware;

    /// <summary>
    /// The DfuSe address pointer: the address of the last Set Address or Erase command (the ST DFU code the bootloader
    /// is built on decodes both into it); data blocks do not move it. Starts at the internal flash base.
    /// </summary>
    public uint AddressPointer { get; private set; } = InternalFlashBase;

    /// <summary>
    /// The host has read the dfuMANIFEST status after a zero-length DNLOAD: the bootloader runs Finish_Update
    /// (flags 0x5000, D+ off, reset). The owner must take the device off the bus; the status reply is already sent.
    /// </summary>
    public event Action? Leave;

    /// <summary>
    /// The serial the bootloader computes (Get_SerialNum): hex8(UID_w0 + UID_w2) then hex4(UID_w1 >> 16), the
    /// words little-endian from the 12 UID bytes that form the 24-hex device id.
    /// </summary>
    public static string SerialFromDeviceId(string deviceId)
    {
        ArgumentNullException.ThrowIfNull(deviceId);
        if (deviceId.Length != 24 || !deviceId.All(char.IsAsciiHexDigit))
            throw new ArgumentException($"device id '{deviceId}': must be 24 hex characters (the STM32 unique id)", nameof(deviceId));
        var uid = Convert.FromHexString(deviceId);
        var w0 = BinaryPrimitives.ReadUInt32LittleEndian(uid);
        var w1 = BinaryPrimitives.ReadUInt32LittleEndian(uid.AsSpan(4));
        var w2 = BinaryPrimitives.ReadUInt32LittleEndian(uid.AsSpan(8));
        return string.Create(CultureInfo.InvariantCulture, $"{unchecked(w0 + w2):X8}{w1 >> 16:X4}");
    }

    public override byte[] GetConfigDescriptor(int index)
    {
        // config (9) + alt 0 (9) + alt 1 (9) + DFU functional (9), functional after the last alt setting
        var b = new byte[36];
        b[0] = 9; b[1] = UsbDescriptorType.Configuration;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(2), 36);
        b[4] = 1; b[5] = 1; b[6] = 0; b[7] = 0xC0; b[8] = 0x32;
        for (var alt = 0; alt < 2; alt++)
        {
            var d = b.AsSpan(9 + 9 * alt, 9);
            d[0] = 9; d[1] = UsbDescriptorType.Interface; d[2] = 0; d[3] = (byte)alt; d[4] = 0;
            d[5] = 0xFE; d[6] = 0x01; d[7] = 0x02; d[8] = (byte)(4 + alt);
        }
        Functional.ToBytes().CopyTo(b, 27);
        return b;
    }

    protected override string? GetString(int index) => index switch
    {
        1 => Manufacturer,
        2 => Product,
        3 => _serial,
        4 => InternalFlashAltName,
        5 => SpiFlashAltName,
        _ => null,
    };

    protected override byte[]? StringDescriptor(byte index)
    {
        if (index is not (4 or 5)) return base.StringDescriptor(index);
        var text = GetString(index)!;
        var b = new byte[InterfaceStringLength];
        b[0] = InterfaceStringLength;
        b[1] = UsbDescriptorType.String;
        Encoding.Unicode.GetBytes(text, b.AsSpan(2)); // the rest stays U+0000
        return b;
    }

    protected internal override void OnAltSettingSelected(int interfaceNumber, int altSetting) => _altSetting = altSetting;

    protected override byte[]? GetClassDescriptor(byte type, byte index) =>
        type == UsbDescriptorType.DfuFunctional && index == 0 ? Functional.ToBytes() : null;

    protected override async ValueTask<ControlResponse> HandleRequestAsync(UsbSetup setup, Memory<byte> data, CancellationToken cancellationToken)
    {
        switch (setup.RequestType, setup.Request)
        {
            // Standard interface requests: the alt setting does not choose the media, so nothing changes.
            case (0x01, 11 /* SET_INTERFACE */):
                return setup.Index == 0 && setup.Value <= 1 ? ControlResponse.Ok() : ControlResponse.Stall;
            case (0x81, 10 /* GET_INTERFACE */):
                if (data.Length < 1) return ControlResponse.Stall;
                data.Span[0] = (byte)_altSetting;
                return ControlResponse.Ok(1);
        }
        if (setup.Index != 0) return Stall();
        switch (setup.RequestType, setup.Request)
        {
            case (DfuRequest.InRequestType, DfuRequest.GetStatus):
                return GetStatus(data.Span);
            case (DfuRequest.InRequestType, DfuRequest.GetState):
                if (data.Length < 1) return Stall();
                data.Span[0] = (byte)State;
                return ControlResponse.Ok(1);
            case (DfuRequest.OutRequestType, DfuRequest.ClrStatus):
                if (State != DfuState.DfuError) return Stall();
                Enter(DfuState.DfuIdle);
                return ControlResponse.Ok();
            case (DfuRequest.OutRequestType, DfuRequest.Abort):
                if (State is not (DfuState.DfuIdle or DfuState.DfuDnloadSync or DfuState.DfuDnloadIdle or DfuState.DfuManifestSync or DfuState.DfuUploadIdle))
                    return Stall();
                _hasPending = false;
                Enter(DfuState.DfuIdle);
                return ControlResponse.Ok();
            case (DfuRequest.OutRequestType, DfuRequest.Dnload):
                return Download(setup, data.Span);
            case (DfuRequest.InRequestType, DfuRequest.Upload):
                return await UploadAsync(setup, data, cancellationToken);
            default:
                // DETACH included: the bootloader is already in DFU mode and does not implement it.
                return Stall();
        }
    }

    private ControlResponse GetStatus(Span<byte> reply)
    {
        if (reply.Length < DfuStatus.Length) return Stall();
        switch (State)
        {
            case DfuState.DfuDnloadSync when _hasPending:
            {
                // The poll timeout comes from the address pointer as it was before this command (the new one is
                // decoded only after the status stage): the first SPI command after entering DFU reports 50 ms.
                var erase = _pendingBlock == 0 && _pending[0] == DfuSeCommand.Erase;
                new DfuStatus(DfuStatusCode.Ok, PollTimeoutAt(AddressPointer, erase), DfuState.DfuDnBusy, 0).WriteTo(reply);
                _hasPending = false;
                State = DfuState.DfuDnloadSync;
                Execute();
                return ControlResponse.Ok(DfuStatus.Length);
            }
            case DfuState.DfuDnloadSync:
                State = DfuState.DfuDnloadIdle;
                break;
            case DfuState.DfuManifestSync:
                State = DfuState.DfuManifest;
                new DfuStatus(DfuStatusCode.Ok, ManifestPoll, State, 0).WriteTo(reply);
                Leave?.Invoke();
                return ControlResponse.Ok(DfuStatus.Length);
        }
        new DfuStatus(Status, TimeSpan.Zero, State, 0).WriteTo(reply);
        return ControlResponse.Ok(DfuStatus.Length);
    }

    private ControlResponse Download(UsbSetup setup, ReadOnlySpan<byte> data)
    {
        if (State is not (DfuState.DfuIdle or DfuState.DfuDnloadIdle)) return Stall();
        if (setup.Length == 0)
        {
            Enter(DfuState.DfuManifestSync);
            return ControlResponse.Ok();
        }
        var valid = setup.Value switch
        {
            0 => setup.Length == 5 && data[0] is DfuSeCommand.SetAddressPointer or DfuSeCommand.Erase,
            1 => false,
            _ => setup.Length <= TransferSize,
        };
        // A 1-byte 0x41 (mass erase) is not implemented by the bootloader, nor is anything else but 5-byte commands.
        if (!valid) return Stall();
        data[..setup.Length].CopyTo(_pending);
        _pendingLength = setup.Length;
        _pendingBlock = setup.Value;
        _hasPending = true;
        Enter(DfuState.DfuDnloadSync);
        return ControlResponse.Ok();
    }

    // Runs in the USB interrupt after the dfuDNBUSY status went out; the device NAKs until the flash is done.
    private void Execute()
    {
        if (_pendingBlock == 0)
        {
            var address = BinaryPrimitives.ReadUInt32LittleEndian(_pending.AsSpan(1));
            var media = MediaFor(address, 1);
            if (media is null)
            {
                Fail(DfuStatusCode.ErrTarget);
                return;
            }
            // Erase moves the pointer too: later blocks land relative to it, and the next status reports its medium's poll timeout.
            AddressPointer = address;
            if (_pending[0] == DfuSeCommand.SetAddressPointer) return;
            Busy(media.Erase(address));
            return;
        }

        // BL14 uses its fixed 1024-byte transfer size here, not wLength, so a short last block lands right after the others.
        var target = (long)AddressPointer + (long)(_pendingBlock - DfuSeCommand.FirstDataBlock) * TransferSize;
        var block = _pending.AsSpan(0, _pendingLength);
        var dest = target <= uint.MaxValue ? MediaFor((uint)target, _pendingLength) : null;
        if (dest is null)
        {
            Fail(DfuStatusCode.ErrTarget);
            return;
        }
        if (dest == _internalFlash && _pendingLength % 4 != 0)
        {
            // Internal flash is programmed in 32-bit words; the tail is padded with 0xFF.
            var padded = Math.Min((_pendingLength + 3) & ~3, (int)(dest.BaseAddress + dest.Size - target));
            var words = new byte[padded];
            words.AsSpan().Fill(0xFF);
            block.CopyTo(words);
            Busy(dest.Write((uint)target, words));
            return;
        }
        Busy(dest.Write((uint)target, block));
    }

    private async ValueTask<ControlResponse> UploadAsync(UsbSetup setup, Memory<byte> data, CancellationToken ct)
    {
        if (State is not (DfuState.DfuIdle or DfuState.DfuUploadIdle)) return Stall();
        if (setup.Value == 0)
        {
            byte[] commands = [DfuSeCommand.GetCommands, DfuSeCommand.SetAddressPointer, DfuSeCommand.Erase];
            var n = Math.Min(commands.Length, setup.Length);
            commands.AsSpan(0, n).CopyTo(data.Span);
            Enter(DfuState.DfuUploadIdle);
            return ControlResponse.Ok(n);
        }
        if (setup.Value == 1 || setup.Length == 0 || setup.Length > TransferSize) return Stall();

        var start = (long)AddressPointer + (long)(setup.Value - DfuSeCommand.FirstDataBlock) * TransferSize;
        var media = start <= uint.MaxValue ? MediaFor((uint)start, 1) : null;
        if (media is null)
        {
            Fail(DfuStatusCode.ErrTarget);
            return ControlResponse.Stall;
        }
        // A short reply ends the upload at the media's end.
        var length = (int)Math.Min(setup.Length, media.BaseAddress + (long)media.Size - start);
        var readTime = media.Read((uint)start, data.Span[..length]);
        // The read happens before the data stage, so the transfer completes after it.
        if (readTime > TimeSpan.Zero) await HilRig.Sim.Time.DeviceDelay.WaitAsync(Time, readTime, ct);
        Enter(length < setup.Length ? DfuState.DfuIdle : DfuState.DfuUploadIdle);
        return ControlResponse.Ok(length);
    }

    /// <summary>The media holding [address, address+length), or null when the range is not all on one.</summary>
    private IFlashMedia? MediaFor(uint address, int length)
    {
        var media = (address & 0xFC000000) switch
        {
            InternalFlashBase => _internalFlash,
            0 => _spiFlash,
            _ => null,
        };
        if (media is null) return null;
        var inRange = address >= media.BaseAddress && (long)address + length <= media.BaseAddress + (long)media.Size;
        return inRange ? media : null;
    }

    private static TimeSpan PollTimeoutAt(uint pointer, bool erase) =>
        (pointer & 0xFC000000) == InternalFlashBase
            ? (erase ? InternalErasePoll : InternalWritePoll)
            : (erase ? SpiErasePoll : SpiWritePoll);

    private void Busy(FlashOpResult result) => BusyFor(result.Hung ? Timeout.InfiniteTimeSpan : result.Duration);

    private void Enter(DfuState state)
    {
        State = state;
        Status = DfuStatusCode.Ok;
    }

    private void Fail(DfuStatusCode status)
    {
        State = DfuState.DfuError;
        Status = status;
    }

    private ControlResponse Stall()
    {
        _hasPending = false;
        Fail(DfuStatusCode.ErrStalledPkt);
        return ControlResponse.Stall;
    }
}
