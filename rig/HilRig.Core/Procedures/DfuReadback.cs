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

    /// <summary>
    /// Where the originals go before the first destructive write (fsynced, hashed), so a crash mid-readback loses
    /// nothing: the next screen or `hilrig recover` puts them back. Null: in memory only (tests of the primitive).
    /// </summary>
    public RegionJournal? Journal { get; init; }

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
    string? BackupFile)
{
    /// <summary>The keys (0x1000-0x2FFF) read the same before and after the readback (null: not checked).</summary>
    public bool? KeysUnchanged { get; init; }
}

/// <summary>
/// The screening primitive: for each region save the content, write patterns that expose stuck-at-0 cells,
/// stuck-at-1 cells and incomplete erases, read back into a bit-error map, then restore the original and verify it.
/// Patterns: the erased state (0xFF: a bit reading 0 is stuck at 0 or did not erase), then all zeros programmed
/// into the erased region (a bit reading 1 is stuck at 1 or will not program).
/// </summary>
public sealed class DfuReadback(TimeProvider time, DfuReadbackOptions? options = null)
{
    private readonly DfuReadbackOptions _options = options ?? new DfuReadbackOptions();

    /// <summary>The SPI sectors holding the server key (0x1000) and the Core's private key (0x2000): read, never written.</summary>
    public static readonly FlashRegion KeysRegion = new("keys", SparkMemoryMap.ServerPublicKeyAddress, 2 * SparkMemoryMap.SpiSectorSize);

    /// <param name="slot">The slot number the journal records (0: unknown).</param>
    public async Task<DfuReadbackResult> RunAsync(DfuSeSession session, string deviceKey, IProgress<string>? progress = null, CancellationToken ct = default, int slot = 0, string? deviceId = null)
    {
        var start = time.GetTimestamp();
        await session.SelectAltAsync(_options.SpiAltSetting, ct);
        var all = new BitErrorMap(SparkMemoryMap.SpiSectorSize);
        var regions = new List<RegionReadback>();
        string? backupFile = null;
        var download = new DfuDownloadOptions { Erase = true, AllowKeyRegion = _options.AllowKeyRegion };
        var downloadErased = download with { Erase = false };

        // Every original on disk before the first destructive write; the keys too, to prove they were not touched.
        progress?.Report("keys: reading 0x001000");
        var keysBefore = await session.UploadAsync(KeysRegion.Start, KeysRegion.Length, null, ct);
        CrashPoints.Hit("keys read");
        var originals = new Dictionary<FlashRegion, byte[]>();
        foreach (var region in _options.Regions)
        {
            progress?.Report($"{region.Name}: saving 0x{region.Start:X6}");
            var original = await session.UploadAsync(region.Start, region.Length, null, ct);
            if (original.Length != region.Length)
                throw new DfuException($"upload of {region.Name} returned {original.Length} of {region.Length} bytes");
            originals[region] = original;
            backupFile = SaveBackup(deviceKey, region, original) ?? backupFile;
            CrashPoints.Hit($"{region.Name} read");
        }
        var journal = _options.Journal?.Begin(slot, session.Device.Path, session.Serial, deviceId, "dfu-readback", time.GetUtcNow());
        if (journal is not null)
        {
            journal.Save(KeysRegion.Name, _options.SpiAltSetting, KeysRegion.Start, keysBefore);
            foreach (var (region, original) in originals)
            {
                journal.Save(region.Name, _options.SpiAltSetting, region.Start, original);
                CrashPoints.Hit($"{region.Name} journaled");
            }
        }

        foreach (var region in _options.Regions)
        {
            var regionStart = time.GetTimestamp();
            var map = new BitErrorMap(SparkMemoryMap.SpiSectorSize);
            var original = originals[region];

            progress?.Report($"{region.Name}: erase check");
            CrashPoints.Hit($"{region.Name} before erase");
            await Guard(region, "erase", original, () => session.EraseAsync(region.Start, region.Length, HalfWay($"{region.Name} erasing"), ct));
            CrashPoints.Hit($"{region.Name} erased");
            var erased = new byte[region.Length];
            Array.Fill(erased, (byte)0xFF);
            var firstErase = await CompareAsync(session, region, erased, ct, afterErase: true, map, all);
            await RecheckErasesAsync(session, region, firstErase, map, all, original, ct);

            progress?.Report($"{region.Name}: zeros");
            var zeros = new byte[region.Length];
            await Guard(region, "program", original, () => session.DownloadAsync(region.Start, zeros, downloadErased, HalfWay($"{region.Name} programming zeros"), ct));
            CrashPoints.Hit($"{region.Name} zeros written");
            await CompareAsync(session, region, zeros, ct, afterErase: false, map, all);
            CrashPoints.Hit($"{region.Name} zeros checked");

            progress?.Report($"{region.Name}: restoring");
            await Guard(region, "restore", original, () => session.DownloadAsync(region.Start, original, download, HalfWay($"{region.Name} restoring"), ct));
            CrashPoints.Hit($"{region.Name} restored");
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

        progress?.Report("keys: checking 0x001000");
        var keysAfter = await session.UploadAsync(KeysRegion.Start, KeysRegion.Length, null, ct);
        var keysUnchanged = keysAfter.AsSpan().SequenceEqual(keysBefore);
        string? keysNote = null;
        if (!keysUnchanged)
        {
            // the readback never writes there: a change is the chip's; put the keys back so the Core still connects
            var diff = SlotDfu.Difference(keysBefore, keysAfter, KeysRegion.Start);
            await session.DownloadAsync(KeysRegion.Start, keysBefore, new DfuDownloadOptions { AllowKeyRegion = true }, null, ct);
            var back = await session.UploadAsync(KeysRegion.Start, KeysRegion.Length, null, ct);
            keysNote = $"keys at 0x1000/0x2000 changed during the readback ({diff}); {(back.AsSpan().SequenceEqual(keysBefore) ? "put back and verified" : "could not be put back")}";
        }
        CrashPoints.Hit("keys checked");
        journal?.Complete();

        var pass = regions.All(r => r.Pass) && keysUnchanged;
        // Totals first (what a support engineer compares across Cores), then where: each failing region.
        var signature = regions.All(r => r.Pass) ? "no bit errors" : $"{all.Signature()} [{string.Join("; ", regions.Where(r => !r.Pass).Select(r => $"{r.Region}: {r.BitErrors.ErrorBits} bit(s){(r.RestoreVerified ? "" : ", original content could not be restored")}"))}]";
        if (keysNote is not null) signature = $"{signature}; {keysNote}";
        return new DfuReadbackResult(
            pass ? Verdict.Pass : Verdict.Fail,
            pass ? null : FailureModes.BadExternalFlash,
            signature,
            regions,
            all.ToSummary(),
            time.GetElapsedTime(start),
            backupFile)
        {
            KeysUnchanged = keysUnchanged,
        };
    }

    /// <summary>A crash point half-way through a long erase or write (test-only; nothing without a handler).</summary>
    private static HalfWayCrashPoint? HalfWay(string point) => CrashPoints.Handler is null ? null : new HalfWayCrashPoint(point);

    private sealed class HalfWayCrashPoint(string point) : IProgress<DfuProgress>
    {
        private bool _hit;

        public void Report(DfuProgress value)
        {
            if (_hit || value.BytesDone * 2 < value.BytesTotal) return;
            _hit = true;
            CrashPoints.Hit(point);
        }
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
        // named by content: a later run that finds the region zeroed never replaces the good copy taken before
        var hash = RegionJournal.CoreJournal.Hash(content)[..16];
        var path = Path.Combine(_options.BackupDirectory, $"{deviceKey}-{region.Name}-0x{region.Start:X6}-{hash}.bin");
        if (File.Exists(path)) return path;
        RegionJournal.WriteDurably(path, content);
        return path;
    }
}
