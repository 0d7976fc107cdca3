namespace HilRig.Core.Dfu;

/// <summary>
/// A write that starts or ends inside a page/sector: DfuSe erases whole pages, so the bytes of the first and last page
/// outside the data are read first and written back with it (read-modify-write). Nothing outside the data changes.
/// </summary>
public static class PartialPageWrite
{
    /// <summary>The page-aligned span <paramref name="address"/>..+<paramref name="length"/> touches in the selected alt's layout.</summary>
    public static (uint Start, long End) PageSpan(DfuSeSession session, uint address, int length)
    {
        ArgumentNullException.ThrowIfNull(session);
        var layout = session.SelectedAlt.MemoryLayout;
        var first = layout.FindSegment(address) ?? throw new DfuRequestRefusedException($"0x{address:X8} lies in no memory segment of alt {session.SelectedAlt.Alt}");
        var lastAddress = (uint)(address + length - 1);
        var last = layout.FindSegment(lastAddress) ?? throw new DfuRequestRefusedException($"0x{lastAddress:X8} lies in no memory segment of alt {session.SelectedAlt.Alt}");
        return (first.PageStart(address), (long)last.PageStart(lastAddress) + last.PageSize);
    }

    /// <summary>
    /// Writes <paramref name="data"/> at <paramref name="address"/> keeping every byte of the touched pages outside it.
    /// Returns how many bytes around the data were read and written back (0 when the data is page-aligned).
    /// </summary>
    public static async Task<int> DownloadAsync(DfuSeSession session, uint address, byte[] data, DfuDownloadOptions? options = null, IProgress<DfuProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(data);
        options ??= new DfuDownloadOptions();
        var (start, end) = PageSpan(session, address, data.Length);
        var head = (int)(address - start);
        var tail = (int)(end - (address + data.Length));
        if (!options.Erase || (head == 0 && tail == 0))
        {
            await session.DownloadAsync(address, data, options, progress, ct);
            return 0;
        }
        var merged = new byte[head + data.Length + tail];
        if (head > 0) (await session.UploadAsync(start, head, null, ct)).CopyTo(merged, 0);
        data.CopyTo(merged, head);
        if (tail > 0) (await session.UploadAsync((uint)(address + data.Length), tail, null, ct)).CopyTo(merged, head + data.Length);
        await session.DownloadAsync(start, merged, options, progress, ct);
        return head + tail;
    }
}
