using HilRig.Core.Usb;

namespace HilRig.Core.Dfu;

/// <summary>One DFU-mode alt setting on the bus, as a line of <c>dfu-util -l</c>.</summary>
public sealed record DfuDeviceInfo(
    string Path,
    ushort VendorId,
    ushort ProductId,
    ushort BcdDevice,
    byte DeviceAddress,
    int Interface,
    int Alt,
    string Name,
    string Serial)
{
    public string VidPid => $"{VendorId:x4}:{ProductId:x4}";

    public override string ToString() =>
        $"Found DFU: [{VidPid}] ver={BcdDevice:x4}, devnum={DeviceAddress}, cfg=1, intf={Interface}, path=\"{Path}\", alt={Alt}, name=\"{Name}\", serial=\"{Serial}\"";
}

/// <summary>An alt setting of an open DfuSe device: its number, its name and the memory map the name describes.</summary>
public sealed record DfuAltSetting(int Alt, string Name, MemoryLayout MemoryLayout);

public sealed record DfuHostOptions
{
    /// <summary>Timeout of every DFU control transfer; dfu-util uses 5000 ms.</summary>
    public TimeSpan ControlTimeout { get; init; } = TimeSpan.FromMilliseconds(5000);

    /// <summary>GETSTATUS replies with dfuDNBUSY tolerated for one command or block before the device counts as stuck.</summary>
    public int MaxBusyPolls { get; init; } = 1000;

    /// <summary>Overrides the quirk table: true always waits bwPollTimeout, false never does, null asks <see cref="DfuQuirks"/>.</summary>
    public bool? HonourPollTimeout { get; init; }
}

public sealed record DfuDownloadOptions
{
    /// <summary>Erase every page/sector the data touches first (the flash is not erased by a write).</summary>
    public bool Erase { get; init; } = true;

    /// <summary>Allow erasing/writing the SPI key region 0x0000-0x1FFFF (server key, address, device key).</summary>
    public bool AllowKeyRegion { get; init; }

    /// <summary>
    /// Like dfu-util's <c>:force</c>: erase and write pages the alt's layout marks read-only (the Core's bootloader pages
    /// 0-19 are "a"); the device decides. Pages are erased per the layout's page size all the same.
    /// </summary>
    public bool Force { get; init; }
}

public enum DfuPhase
{
    Erase,
    Download,
    Upload,
}

/// <summary>Progress of one operation: bytes done of the total, and the address being worked on.</summary>
public readonly record struct DfuProgress(DfuPhase Phase, uint Address, long BytesDone, long BytesTotal);

/// <summary>What a session cost: evidence for durations and for the rig's capacity planning.</summary>
public sealed class DfuSessionStats
{
    public int ControlTransfers { get; internal set; }

    public long BytesDownloaded { get; internal set; }

    public long BytesUploaded { get; internal set; }

    /// <summary>Erase commands sent (pages or sectors).</summary>
    public int Erases { get; internal set; }

    /// <summary>Time spent waiting on bwPollTimeout before requests.</summary>
    public TimeSpan PollWaitTotal { get; internal set; }

    public override string ToString() =>
        $"{ControlTransfers} control transfers, {BytesDownloaded} bytes down, {BytesUploaded} bytes up, {Erases} erases, {PollWaitTotal.TotalMilliseconds:0} ms poll wait";
}

/// <summary>
/// Devices whose bwPollTimeout the host does not wait for. The Spark Core bootloader (1d50:607f) runs each
/// flash operation in the USB interrupt right after the GETSTATUS that reported dfuDNBUSY and NAKs every
/// request until it is done (spark-core.md §4.1), so an immediate GETSTATUS is answered exactly when the
/// operation finishes; waiting the poll timeout on top would only add 20-50 ms per block.
/// </summary>
public static class DfuQuirks
{
    private static readonly HashSet<(ushort Vid, ushort Pid)> NakWhileBusy = [(0x1d50, 0x607f)];

    public static bool NaksWhileBusy(ushort vendorId, ushort productId) => NakWhileBusy.Contains((vendorId, productId));

    public static bool NaksWhileBusy(UsbDeviceDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        return NaksWhileBusy(descriptor.VendorId, descriptor.ProductId);
    }
}
