using System.Buffers.Binary;
using HilRig.Core.Usb;

namespace HilRig.Core.Dfu;

/// <summary>bState of a DFU 1.1 device (protocols.md §1.3).</summary>
public enum DfuState : byte
{
    AppIdle = 0,
    AppDetach = 1,
    DfuIdle = 2,
    DfuDnloadSync = 3,
    DfuDnBusy = 4,
    DfuDnloadIdle = 5,
    DfuManifestSync = 6,
    DfuManifest = 7,
    DfuManifestWaitReset = 8,
    DfuUploadIdle = 9,
    DfuError = 10,
}

/// <summary>bStatus of a DFU 1.1 device (protocols.md §1.4).</summary>
public enum DfuStatusCode : byte
{
    Ok = 0x00,
    ErrTarget = 0x01,
    ErrFile = 0x02,
    ErrWrite = 0x03,
    ErrErase = 0x04,
    ErrCheckErased = 0x05,
    ErrProg = 0x06,
    ErrVerify = 0x07,
    ErrAddress = 0x08,
    ErrNotDone = 0x09,
    ErrFirmware = 0x0A,
    ErrVendor = 0x0B,
    ErrUsbr = 0x0C,
    ErrPor = 0x0D,
    ErrUnknown = 0x0E,
    ErrStalledPkt = 0x0F,
}

/// <summary>bRequest values of the DFU class requests.</summary>
public static class DfuRequest
{
    public const byte Detach = 0;
    public const byte Dnload = 1;
    public const byte Upload = 2;
    public const byte GetStatus = 3;
    public const byte ClrStatus = 4;
    public const byte GetState = 5;
    public const byte Abort = 6;

    /// <summary>OUT, class, interface.</summary>
    public const byte OutRequestType = 0x21;

    /// <summary>IN, class, interface.</summary>
    public const byte InRequestType = 0xA1;
}

/// <summary>DfuSe command bytes sent with DNLOAD wValue 0 (protocols.md §2.1).</summary>
public static class DfuSeCommand
{
    public const byte GetCommands = 0x00;
    public const byte SetAddressPointer = 0x21;
    public const byte Erase = 0x41;
    public const byte ReadUnprotect = 0x92;

    /// <summary>First wBlockNum of a data block; the address is pointer + (wBlockNum - 2) x wLength.</summary>
    public const ushort FirstDataBlock = 2;
}

/// <summary>The 6-byte GETSTATUS reply.</summary>
public sealed record DfuStatus(DfuStatusCode Status, TimeSpan PollTimeout, DfuState State, byte IString)
{
    public const int Length = 6;

    public static DfuStatus Parse(ReadOnlySpan<byte> reply)
    {
        if (reply.Length != Length) throw new FormatException($"GETSTATUS reply is {reply.Length} bytes, a DFU device sends {Length}");
        var pollMs = reply[1] | (reply[2] << 8) | (reply[3] << 16);
        return new DfuStatus((DfuStatusCode)reply[0], TimeSpan.FromMilliseconds(pollMs), (DfuState)reply[4], reply[5]);
    }

    public void WriteTo(Span<byte> reply)
    {
        var pollMs = (int)Math.Clamp(PollTimeout.TotalMilliseconds, 0, 0xFFFFFF);
        reply[0] = (byte)Status;
        reply[1] = (byte)pollMs;
        reply[2] = (byte)(pollMs >> 8);
        reply[3] = (byte)(pollMs >> 16);
        reply[4] = (byte)State;
        reply[5] = IString;
    }

    public override string ToString() => $"state {DfuNames.Of(State)}, status {DfuNames.Of(Status)}, poll timeout {PollTimeout.TotalMilliseconds:0} ms";
}

/// <summary>The names dfu-util and the DFU spec print, so logs read like the forum threads.</summary>
public static class DfuNames
{
    public static string Of(DfuState state) => state switch
    {
        DfuState.AppIdle => "appIDLE",
        DfuState.AppDetach => "appDETACH",
        DfuState.DfuIdle => "dfuIDLE",
        DfuState.DfuDnloadSync => "dfuDNLOAD-SYNC",
        DfuState.DfuDnBusy => "dfuDNBUSY",
        DfuState.DfuDnloadIdle => "dfuDNLOAD-IDLE",
        DfuState.DfuManifestSync => "dfuMANIFEST-SYNC",
        DfuState.DfuManifest => "dfuMANIFEST",
        DfuState.DfuManifestWaitReset => "dfuMANIFEST-WAIT-RESET",
        DfuState.DfuUploadIdle => "dfuUPLOAD-IDLE",
        DfuState.DfuError => "dfuERROR",
        _ => $"state {(byte)state}",
    };

    public static string Of(DfuStatusCode status) => status switch
    {
        DfuStatusCode.Ok => "OK",
        DfuStatusCode.ErrTarget => "errTARGET",
        DfuStatusCode.ErrFile => "errFILE",
        DfuStatusCode.ErrWrite => "errWRITE",
        DfuStatusCode.ErrErase => "errERASE",
        DfuStatusCode.ErrCheckErased => "errCHECK_ERASED",
        DfuStatusCode.ErrProg => "errPROG",
        DfuStatusCode.ErrVerify => "errVERIFY",
        DfuStatusCode.ErrAddress => "errADDRESS",
        DfuStatusCode.ErrNotDone => "errNOTDONE",
        DfuStatusCode.ErrFirmware => "errFIRMWARE",
        DfuStatusCode.ErrVendor => "errVENDOR",
        DfuStatusCode.ErrUsbr => "errUSBR",
        DfuStatusCode.ErrPor => "errPOR",
        DfuStatusCode.ErrUnknown => "errUNKNOWN",
        DfuStatusCode.ErrStalledPkt => "errSTALLEDPKT",
        _ => $"status 0x{(byte)status:X2}",
    };
}

/// <summary>The DFU functional descriptor (type 0x21): 9 bytes in DFU 1.1, 7 in DFU 1.0 (no bcdDFUVersion).</summary>
public sealed record DfuFunctionalDescriptor(byte Attributes, ushort DetachTimeout, ushort TransferSize, ushort BcdDfuVersion)
{
    public const ushort DfuSeVersion = 0x011A;

    public bool CanDownload => (Attributes & 0x01) != 0;

    public bool CanUpload => (Attributes & 0x02) != 0;

    public bool ManifestationTolerant => (Attributes & 0x04) != 0;

    public bool WillDetach => (Attributes & 0x08) != 0;

    public bool IsDfuSe => BcdDfuVersion == DfuSeVersion;

    public byte[] ToBytes()
    {
        var b = new byte[9];
        b[0] = 9;
        b[1] = UsbDescriptorType.DfuFunctional;
        b[2] = Attributes;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(3), DetachTimeout);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(5), TransferSize);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(7), BcdDfuVersion);
        return b;
    }

    /// <summary>Parses one functional descriptor; bLength 7 is DFU 1.0 (version 0x0100).</summary>
    public static DfuFunctionalDescriptor Parse(ReadOnlySpan<byte> b)
    {
        if (b.Length < 2 || b[1] != UsbDescriptorType.DfuFunctional)
            throw new FormatException($"not a DFU functional descriptor (type 0x{(b.Length > 1 ? b[1] : 0):X2}, expected 0x21)");
        var length = b[0];
        if (length is not (7 or 9))
            throw new FormatException($"DFU functional descriptor bLength {length}: valid are 9 (DFU 1.1) or 7 (DFU 1.0)");
        if (b.Length < length)
            throw new FormatException($"DFU functional descriptor truncated: bLength {length}, got {b.Length} bytes");
        var version = length == 9 ? BinaryPrimitives.ReadUInt16LittleEndian(b[7..]) : (ushort)0x0100;
        return new DfuFunctionalDescriptor(b[2], BinaryPrimitives.ReadUInt16LittleEndian(b[3..]), BinaryPrimitives.ReadUInt16LittleEndian(b[5..]), version);
    }

    /// <summary>Walks concatenated descriptors (a libusb "extra" blob) and returns the first functional descriptor, or null.</summary>
    public static DfuFunctionalDescriptor? Find(ReadOnlySpan<byte> extra)
    {
        var pos = 0;
        while (pos + 2 <= extra.Length)
        {
            var len = extra[pos];
            if (len < 2) return null;
            if (extra[pos + 1] == UsbDescriptorType.DfuFunctional && pos + len <= extra.Length)
                return Parse(extra.Slice(pos, len));
            pos += len;
        }
        return null;
    }
}
