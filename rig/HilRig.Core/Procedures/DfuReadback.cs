using HilRig.Core.Dfu;
using HilRig.Core.Spark;
using HilRig.Core.Usb;

namespace HilRig.Core.Procedures;

public sealed record DfuReadbackOptions
{
    /// <summary>External-flash regions to test; the key region is never among the defaults.</summary>
    public IReadOnlyList<FlashRegion> Regions { get; init; } = SparkMemoryMap.ImageRegions;

    /// <summary>Each region's original content is written here before anything is erased, so a rig fault mid-test loses nothing.</summary>
    public string? BackupDirectory { get; init; }

    public bool AllowKeyRegion { get; init; }

    /// <summary>The alt setting whose layout maps the SPI flash (alt 1 on a Core).</summary>
    public int SpiAltSetting { get; init; } = 1;
}

/// <summary>
/// The device accepted an erase or program and then stopped answering: the Spark SPI driver waits forever on a chip
/// whose BUSY never clears. Carries what is needed to put the region back.
/// </summary>
public sealed class FlashOperationHungException(FlashRegion region, string operation, byte[] original, UsbException inner)
    : Exception($"{operation} of {region.Name} (0x{region.Start:X6}) never finished: the Core stopped answering USB ({inner.Message})", inner)
{
    public FlashRegion Region { get; } = region;

    public string Operation { get; } = operation;

    /// <summary>The region's content as saved before anything was erased.</summary>
    public byte[] Original { get; } = original;
}

public sealed record RegionReadback(
    string Region,
    string Address,
    int Length,
    bool Pass,
    bool RestoreVerified,
    string Signature,
    BitErrorMapSummary BitErrors,
    double DeviceTimeMs);

public sealed record DfuReadbackResult(
    Verdict Verdict,
    string? FailureMode,
    string Signature,
    IReadOnlyList<RegionReadback> Regions,
    BitErrorMapSummary BitErrors,
    TimeSpan DeviceTime,
    string? BackupFile);

/// <summary>
/// The screening primitive: for each region save the content, write patterns that expose stuck-at-0 cells,
/// stuck-at-1 cells and incomplete erases, read back into a bit-error map, then restore the original and verify it.
/// Patterns: the erased state (0xFF: a bit reading 0 is stuck at 0 or did not erase), then all zeros programmed
/// into the erased region (a bit reading 1 is stuck at 1 or will not program).
/// </summary>
public sealed class DfuReadback(TimeProvider time, DfuReadbackOptions? options = null)
{
    private readonly DfuReadbackOptions _options = options ?? new DfuReadbackOptions();

    public async Task<DfuReadbackResult> RunAsync(DfuSeSession session, string deviceKey, IProgress<string>? progress = null, CancellationToken ct = default)
    {
        var start = time.GetTimestamp();
        await session.SelectAltAsync(_options.SpiAltSetting, ct);
        var all = new BitErrorMap(SparkMemoryMap.SpiSectorSize);
        var regions = new List<RegionReadback>();
        string? backupFile = null;
        var download = new DfuDownloadOptions { Erase = true, AllowKeyRegion = _options.AllowKeyRegion };
        var downloadErased = download with { Erase = false };

        foreach (var region in _options.Regions)
        {
            var regionStart = time.GetTimestamp();
            var map = new BitErrorMap(SparkMemoryMap.SpiSectorSize);
            progress?.Report($"{region.Name}: saving 0x{region.Start:X6}");
            var original = await session.UploadAsync(region.Start, region.Length, null, ct);
            if (original.Length != region.Length)
                throw new DfuException($"upload of {region.Name} returned {original.Length} of {region.Length} bytes");
            backupFile = SaveBackup(deviceKey, region, original) ?? backupFile;

            progress?.Report($"{region.Name}: erase check");
            await Guard(region, "erase", original, () => session.EraseAsync(region.Start, region.Length, null, ct));
            var erased = new byte[region.Length];
            Array.Fill(erased, (byte)0xFF);
            var firstErase = await CompareAsync(session, region, erased, ct, afterErase: true, map, all);
            await RecheckErasesAsync(session, region, firstErase, map, all, original, ct);

            progress?.Report($"{region.Name}: zeros");
            var zeros = new byte[region.Length];
            await Guard(region, "program", original, () => session.DownloadAsync(region.Start, zeros, downloadErased, null, ct));
            await CompareAsync(session, region, zeros, ct, afterErase: false, map, all);

            progress?.Report($"{region.Name}: restoring");
            await Guard(region, "restore", original, () => session.DownloadAsync(region.Start, original, download, null, ct));
            var restored = await session.UploadAsync(region.Start, region.Length, null, ct);
            var restoreVerified = restored.AsSpan().SequenceEqual(original);
            if (!restoreVerified)
            {
                map.Compare(region.Start, original, restored);
                all.Compare(region.Start, original, restored);
            }

            regions.Add(new RegionReadback(
                region.Name, $"0x{region.Start:X6}", region.Length, map.Clean && restoreVerified, restoreVerified,
                map.Signature(), map.ToSummary(), time.GetElapsedTime(regionStart).TotalMilliseconds));
        }

        var pass = regions.All(r => r.Pass);
        // Totals first (what a support engineer compares across Cores), then where: each failing region.
        var signature = pass ? "no bit errors" : $"{all.Signature()} [{string.Join("; ", regions.Where(r => !r.Pass).Select(r => $"{r.Region}: {r.BitErrors.ErrorBits} bit(s){(r.RestoreVerified ? "" : ", original content could not be restored")}"))}]";
        return new DfuReadbackResult(
            pass ? Verdict.Pass : Verdict.Fail,
            pass ? null : FailureModes.BadExternalFlash,
            signature,
            regions,
            all.ToSummary(),
            time.GetElapsedTime(start),
            backupFile);
    }

    private static async Task Guard(FlashRegion region, string operation, byte[] original, Func<Task> flashOperation)
    {
        try
        {
            await flashOperation();
        }
        catch (UsbException ex) when (ex.Error == UsbError.Timeout)
        {
            throw new FlashOperationHungException(region, operation, original, ex);
        }
    }

    /// <summary>Puts a region's saved content back (erase + program + verify). False if it does not read back as saved.</summary>
    public async Task<bool> RestoreAsync(DfuSeSession session, FlashRegion region, byte[] original, CancellationToken ct = default)
    {
        await session.SelectAltAsync(_options.SpiAltSetting, ct);
        await session.DownloadAsync(region.Start, original, new DfuDownloadOptions { Erase = true, AllowKeyRegion = _options.AllowKeyRegion }, null, ct);
        var back = await session.UploadAsync(region.Start, region.Length, null, ct);
        return back.AsSpan().SequenceEqual(original);
    }

    private static async Task<byte[]> CompareAsync(DfuSeSession session, FlashRegion region, byte[] expected, CancellationToken ct, bool afterErase, BitErrorMap map, BitErrorMap all)
    {
        var actual = await session.UploadAsync(region.Start, region.Length, null, ct);
        map.Compare(region.Start, expected, actual, afterErase);
        all.Compare(region.Start, expected, actual, afterErase);
        return actual;
    }

    /// <summary>
    /// Bits left at 0 by an erase are either stuck cells (the same bits every time) or a sector that does not erase
    /// (different bits each time). Erase each such sector once more and compare the two patterns.
    /// </summary>
    private static async Task RecheckErasesAsync(DfuSeSession session, FlashRegion region, byte[] firstErase, BitErrorMap map, BitErrorMap all, byte[] original, CancellationToken ct)
    {
        var sectorSize = SparkMemoryMap.SpiSectorSize;
        foreach (var sector in map.SectorsWithEraseErrors.Where(region.Contains))
        {
            await Guard(region, "erase", original, () => session.EraseAsync(sector, sectorSize, null, ct));
            var again = await session.UploadAsync(sector, sectorSize, null, ct);
            var offset = (int)(sector - region.Start);
            if (!again.AsSpan().SequenceEqual(firstErase.AsSpan(offset, sectorSize)))
            {
                map.MarkEraseUnstable(sector);
                all.MarkEraseUnstable(sector);
            }
        }
    }

    private string? SaveBackup(string deviceKey, FlashRegion region, byte[] content)
    {
        if (_options.BackupDirectory is null) return null;
        Directory.CreateDirectory(_options.BackupDirectory);
        var path = Path.Combine(_options.BackupDirectory, $"{deviceKey}-{region.Name}-0x{region.Start:X6}.bin");
        // write-then-rename: a crash never leaves a half-written backup that looks complete
        var temp = path + ".tmp";
        File.WriteAllBytes(temp, content);
        File.Move(temp, path, overwrite: true);
        return path;
    }
}
