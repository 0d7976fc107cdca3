using System.Globalization;

/// <summary>
/// The run's temporary folders (every test's rig config, simulator state and results store) go to a folder of its own
/// on /dev/shm when that is a tmpfs with room to spare. The stores commit with synchronous=FULL: on a disk each commit
/// waits for its fsync, which made SQLite-heavy fixtures a quarter slower in wall time (and 7 % in CPU) than in memory;
/// what the tests check does not depend on the medium. A container's /dev/shm is often 64 MB: then, or when the caller
/// set TMPDIR, the temporaries stay where they were. Everything tests left behind goes with the folder at the end.
/// </summary>
/// <remarks>Outside any namespace: it applies to the whole assembly, before any fixture asks for a temporary path.</remarks>
[SetUpFixture]
public sealed class TemporariesInMemory
{
    private const string SharedMemory = "/dev/shm";

    /// <summary>Room /dev/shm must have left: far more than a unit run's temporaries at their peak.</summary>
    private const long RoomNeeded = 2L << 30;

    private const string Prefix = "hilrig-tests-";

    private string? _folder;

    /// <summary>A run that was killed left its folder in memory: gone once its process is.</summary>
    private static void RemoveLeftByEndedRuns()
    {
        foreach (var folder in Directory.EnumerateDirectories(SharedMemory, Prefix + "*"))
        {
            if (!int.TryParse(Path.GetFileName(folder)[Prefix.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                || Directory.Exists($"/proc/{pid}")) continue;
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // another run's to remove, or not ours to
            }
        }
    }

    [OneTimeSetUp]
    public void UseSharedMemoryForTemporaries()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("TMPDIR") is { Length: > 0 }) return;
        try
        {
            var drive = new DriveInfo(SharedMemory);
            if (drive.DriveFormat != "tmpfs" || drive.AvailableFreeSpace < RoomNeeded) return;
            RemoveLeftByEndedRuns();
            _folder = Directory.CreateDirectory(Path.Combine(SharedMemory, Prefix + Environment.ProcessId.ToString(CultureInfo.InvariantCulture))).FullName;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return; // no usable /dev/shm: the default temporary folder
        }
        // Path.GetTempPath() reads TMPDIR at each call; child processes of Integration tests inherit it
        Environment.SetEnvironmentVariable("TMPDIR", _folder + "/");
    }

    [OneTimeTearDown]
    public void RemoveTheTemporaries()
    {
        if (_folder is null) return;
        Environment.SetEnvironmentVariable("TMPDIR", null);
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TestContext.Progress.WriteLine($"could not remove the run's temporaries {_folder}: {ex.Message}");
        }
    }
}
