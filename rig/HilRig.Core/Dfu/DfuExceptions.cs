namespace HilRig.Core.Dfu;

/// <summary>
/// The device reported a DFU-level error (a GETSTATUS with dfuERROR or a bad status, a wrong state after a
/// command, a stalled class request). The DUT's problem, not the rig's; transport failures stay UsbException.
/// </summary>
public sealed class DfuException : Exception
{
    public DfuException(DfuState state, DfuStatusCode status, string operation, uint? address, string? detail = null, Exception? inner = null)
        : base(Compose(state, status, operation, address, detail), inner)
    {
        State = state;
        Status = status;
        Operation = operation;
        Address = address;
    }

    public DfuException() : this(DfuState.DfuError, DfuStatusCode.ErrUnknown, "DFU request", null) { }

    public DfuException(string message) : base(message) => Operation = "DFU request";

    public DfuException(string message, Exception inner) : base(message, inner) => Operation = "DFU request";

    public DfuState State { get; } = DfuState.DfuError;

    public DfuStatusCode Status { get; } = DfuStatusCode.ErrUnknown;

    /// <summary>What the host was doing: "erase", "download block 7", "set address", "upload", "leave" ...</summary>
    public string Operation { get; }

    public uint? Address { get; }

    private static string Compose(DfuState state, DfuStatusCode status, string operation, uint? address, string? detail)
    {
        var at = address is { } a ? $" at 0x{a:X8}" : "";
        var why = detail is null ? "" : $": {detail}";
        return $"DFU {operation}{at} failed: device reports {DfuNames.Of(state)}, status {DfuNames.Of(status)}{why}";
    }
}

/// <summary>
/// The host refused a request before sending it: outside the writable/erasable/readable segments of the alt
/// setting's memory layout, into the SPI key region without permission, length 0, device not in DfuSe mode.
/// </summary>
public sealed class DfuRequestRefusedException : Exception
{
    public DfuRequestRefusedException(string message, uint? address) : base(message) => Address = address;

    public DfuRequestRefusedException() : base("DFU request refused") { }

    public DfuRequestRefusedException(string message) : base(message) { }

    public DfuRequestRefusedException(string message, Exception inner) : base(message, inner) { }

    public uint? Address { get; }
}
