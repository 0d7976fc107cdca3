using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace HilRig.Core.Procedures;

/// <summary>One saved region of a Core in the journal: where it lives, its hash and the file holding its bytes.</summary>
public sealed record JournalRegion(string Name, int Alt, uint Start, int Length, string Sha256, string File)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Name} (alt {Alt}, 0x{Start:X6}, {Length} bytes)");
}

/// <summary>What the journal knows of one Core whose destructive procedure has begun and not yet ended.</summary>
public sealed record JournalManifest(
    int Slot,
    string UsbPath,
    string DfuSerial,
    string? DeviceId,
    string Procedure,
    DateTimeOffset StartedAt,
    IReadOnlyList<JournalRegion> Regions);

/// <summary>
/// Do no harm, even across a crash: before a procedure's first destructive write, the original content of every region
/// it will touch is on disk (fsynced, with its SHA-256), one folder per Core (keyed by its DFU serial, which the rig can
/// check in DFU whatever the Core runs). A finished procedure removes its folder; one left behind is an interrupted
/// Core that <see cref="JournalRecovery"/> puts back. Lives next to the results store, never overwritten by a later run.
/// </summary>
public sealed class RegionJournal(string directory)
{
    private const string ManifestName = "manifest.json";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
    };

    public string Directory { get; } = directory;

    /// <summary>Opens (or continues) the journal of one Core before its first destructive write.</summary>
    public CoreJournal Begin(int slot, string usbPath, string dfuSerial, string? deviceId, string procedure, DateTimeOffset at)
    {
        var folder = Path.Combine(Directory, Safe(dfuSerial));
        // a left-over journal of this Core means an earlier crash was not recovered: never replace its originals
        if (Read(folder) is { } open)
            throw new JournalPendingException($"the journal holds an unrecovered procedure for DFU serial {dfuSerial} (slot {open.Slot}, {open.Procedure} since {open.StartedAt:u}): run `hilrig recover` first");
        System.IO.Directory.CreateDirectory(folder);
        var journal = new CoreJournal(folder, new JournalManifest(slot, usbPath, dfuSerial, deviceId, procedure, at, []));
        journal.WriteManifest();
        SyncDirectory(Directory);
        return journal;
    }

    /// <summary>Every interrupted Core, oldest first.</summary>
    public IReadOnlyList<CoreJournal> Pending()
    {
        if (!System.IO.Directory.Exists(Directory)) return [];
        return
        [
            .. System.IO.Directory.GetDirectories(Directory)
                .Select(folder => Read(folder) is { } m ? new CoreJournal(folder, m) : null)
                .OfType<CoreJournal>()
                .OrderBy(j => j.Manifest.StartedAt),
        ];
    }

    private static JournalManifest? Read(string folder)
    {
        var path = Path.Combine(folder, ManifestName);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<JournalManifest>(File.ReadAllText(path), Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Safe(string name) => string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_'));

    internal static void WriteDurably(string path, ReadOnlySpan<byte> content)
    {
        var temp = path + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(content);
            file.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
        SyncDirectory(Path.GetDirectoryName(path)!);
    }

    /// <summary>fsync of a folder so a rename in it survives a power cut (no-op where folders cannot be opened).</summary>
    internal static void SyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows()) return;
        try
        {
            using var handle = File.OpenHandle(directory, FileMode.Open, FileAccess.Read);
            RandomAccess.FlushToDisk(handle);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // some file systems refuse to open a folder; the file itself was fsynced
        }
    }

    /// <summary>The journal of one Core.</summary>
    public sealed class CoreJournal
    {
        internal CoreJournal(string folder, JournalManifest manifest)
        {
            Folder = folder;
            Manifest = manifest;
        }

        public string Folder { get; }

        public JournalManifest Manifest { get; private set; }

        /// <summary>Saves a region's original content (once: a region already saved keeps its first, original copy).</summary>
        public void Save(string name, int alt, uint start, ReadOnlySpan<byte> original)
        {
            var length = original.Length;
            if (Manifest.Regions.Any(r => r.Alt == alt && r.Start == start && r.Length == length)) return;
            var file = string.Create(CultureInfo.InvariantCulture, $"alt{alt}-0x{start:X8}-{original.Length}.bin");
            WriteDurably(Path.Combine(Folder, file), original);
            Manifest = Manifest with { Regions = [.. Manifest.Regions, new JournalRegion(name, alt, start, original.Length, Hash(original), file)] };
            WriteManifest();
        }

        /// <summary>The saved bytes, checked against their hash; null when the file is missing or does not match.</summary>
        public byte[]? Original(JournalRegion region)
        {
            var path = Path.Combine(Folder, region.File);
            if (!File.Exists(path)) return null;
            var bytes = File.ReadAllBytes(path);
            return bytes.Length == region.Length && Hash(bytes) == region.Sha256 ? bytes : null;
        }

        /// <summary>Records the device id once it is known (a Core that arrived in DFU is identified later).</summary>
        public void SetDeviceId(string deviceId)
        {
            if (Manifest.DeviceId == deviceId) return;
            Manifest = Manifest with { DeviceId = deviceId };
            WriteManifest();
        }

        /// <summary>The procedure ended with every region back (or judged): the journal of this Core goes.</summary>
        public void Complete()
        {
            if (!System.IO.Directory.Exists(Folder)) return;
            // the manifest first: a crash half-way leaves files without a manifest, which is no pending Core
            File.Delete(Path.Combine(Folder, ManifestName));
            System.IO.Directory.Delete(Folder, recursive: true);
            SyncDirectory(Path.GetDirectoryName(Folder)!);
        }

        internal void WriteManifest() => WriteDurably(Path.Combine(Folder, ManifestName), JsonSerializer.SerializeToUtf8Bytes(Manifest, Json));

        public static string Hash(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
    }
}

/// <summary>The journal still holds an interrupted procedure of this Core: its originals must not be replaced.</summary>
public sealed class JournalPendingException(string message) : Exception(message)
{
    public JournalPendingException() : this("the journal holds an unrecovered procedure") { }

    public JournalPendingException(string message, Exception inner) : this(message + ": " + inner.Message) { }
}

/// <summary>
/// Test-only crash points: a procedure names each step before it runs; a handler (installed by the CLI from
/// HILRIG_TEST_CRASH_AT) may end the process there, to show that the journal brings every Core back.
/// </summary>
public static class CrashPoints
{
    public static Action<string>? Handler { get; set; }

    public static void Hit(string point) => Handler?.Invoke(point);
}
