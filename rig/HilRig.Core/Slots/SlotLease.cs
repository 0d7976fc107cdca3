using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace HilRig.Core.Slots;

/// <summary>Who holds a slot (or the whole rig): the holding process, its command line, since when.</summary>
public sealed record LeaseHolder(int Pid, string Command, DateTimeOffset Since)
{
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"pid {Pid} ({Command}) since {Since.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC");

    internal string Serialize() => string.Create(CultureInfo.InvariantCulture, $"{Pid}\n{Since.UtcDateTime:O}\n{Command.ReplaceLineEndings(" ")}\n");

    internal static LeaseHolder? Parse(string text)
    {
        var lines = text.Split('\n');
        if (lines.Length < 3 || !int.TryParse(lines[0], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            || !DateTimeOffset.TryParse(lines[1], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var since))
            return null;
        return new LeaseHolder(pid, lines[2], since);
    }
}

/// <summary>A slot, or the rig, is driven by another process; <see cref="Holders"/> says by whom.</summary>
public sealed class SlotBusyException : Exception
{
    public SlotBusyException(string message, IReadOnlyList<LeaseHolder> holders) : base(message) => Holders = holders;

    public SlotBusyException() : this("slot busy", []) { }

    public SlotBusyException(string message) : this(message, []) { }

    public SlotBusyException(string message, Exception inner) : base(message, inner) => Holders = [];

    public IReadOnlyList<LeaseHolder> Holders { get; }
}

/// <summary>
/// One process drives a slot at a time: an exclusive lease per slot, and per rig for whole-rig work, as flock(2)
/// locks on one file per slot in a runtime folder (next to the results store). The kernel drops a lock when its
/// process ends however it ends (exit, crash, SIGKILL), so a dead holder never blocks the rig.
/// Slot work holds rig.lock shared plus slot-N.lock exclusive; whole-rig work holds rig.lock exclusive and every
/// slot's lock, so it excludes and is excluded by any slot work. Each lock file names its holder (pid, command,
/// since) for the message a refused command prints.
/// </summary>
/// <remarks>
/// flock is called directly rather than through FileShare.None: .NET's own advisory lock can be turned off by an
/// environment variable (DOTNET_SYSTEM_IO_DISABLEFILELOCKING), which must not silently let two processes share a relay.
/// </remarks>
public sealed class SlotLease : IDisposable
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);

    private readonly List<SafeFileHandle> _locks;

    private SlotLease(string directory, IReadOnlyList<int>? slots, List<SafeFileHandle> locks)
    {
        Directory = directory;
        Slots = slots;
        _locks = locks;
    }

    public string Directory { get; }

    /// <summary>The slots held; null: the whole rig.</summary>
    public IReadOnlyList<int>? Slots { get; }

    /// <summary>
    /// Takes the lease on <paramref name="slots"/> (null: the whole rig, <paramref name="rigSlots"/> all of them),
    /// waiting up to <paramref name="wait"/> (zero: refuse at once) for another process to let go. All or nothing:
    /// a partial set is never held while waiting, so two waiters cannot deadlock.
    /// </summary>
    /// <exception cref="SlotBusyException">Still held by another process when the wait ends; names the holders.</exception>
    /// <exception cref="IOException">The lock folder cannot be created or a lock file opened.</exception>
    public static async Task<SlotLease> AcquireAsync(
        string directory, IReadOnlyCollection<int>? slots, IReadOnlyCollection<int> rigSlots, string command, TimeSpan wait,
        TimeProvider time, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(rigSlots);
        ArgumentNullException.ThrowIfNull(time);
        System.IO.Directory.CreateDirectory(directory);
        var wanted = (slots ?? rigSlots).Distinct().Order().ToList();
        var whole = slots is null;
        var started = time.GetTimestamp();
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var taken = TryTakeAll(directory, wanted, whole, out var busyFile);
            if (taken is not null)
            {
                var holder = new LeaseHolder(Environment.ProcessId, command, time.GetUtcNow());
                foreach (var (handle, exclusive) in taken)
                    if (exclusive) WriteHolder(handle, holder); // the shared rig lock names nobody
                return new SlotLease(directory, whole ? null : wanted, [.. taken.Select(t => t.Handle)]);
            }
            if (time.GetElapsedTime(started) >= wait)
                throw Busy(directory, wanted, whole, busyFile!, wait);
            await Task.Delay(Poll, time, ct);
        }
    }

    /// <summary>Who holds a lock file now (null: nobody, or a holder that has not written its name yet).</summary>
    public static LeaseHolder? HolderOf(string lockFile)
    {
        if (!File.Exists(lockFile)) return null;
        using var handle = OpenLockFile(lockFile, write: false);
        if (TryLock(handle, exclusive: false)) return null; // nobody holds it exclusively
        using var stream = new FileStream(handle, FileAccess.Read, 1);
        stream.Seek(0, SeekOrigin.Begin);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return LeaseHolder.Parse(reader.ReadToEnd());
    }

    public static string SlotFile(string directory, int slot) => Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"slot-{slot}.lock"));

    public static string RigFile(string directory) => Path.Combine(directory, "rig.lock");

    public void Dispose()
    {
        // Closing the descriptor releases the flock; the files stay, as the next holder rewrites them.
        foreach (var handle in _locks) handle.Dispose();
        _locks.Clear();
    }

    /// <summary>Every lock or none; the handles that take a holder's name (the exclusive ones) come back flagged.</summary>
    private static List<(SafeFileHandle Handle, bool Exclusive)>? TryTakeAll(string directory, IReadOnlyList<int> slots, bool whole, out string? busyFile)
    {
        var taken = new List<(SafeFileHandle, bool)>();
        var files = new List<(string Path, bool Exclusive)> { (RigFile(directory), whole) };
        files.AddRange(slots.Select(s => (SlotFile(directory, s), true)));
        foreach (var (path, exclusive) in files)
        {
            var handle = OpenLockFile(path, write: true);
            if (!TryLock(handle, exclusive))
            {
                handle.Dispose();
                foreach (var (h, _) in taken) h.Dispose();
                busyFile = path;
                return null;
            }
            taken.Add((handle, exclusive));
        }
        busyFile = null;
        return taken;
    }

    private static SlotBusyException Busy(string directory, IReadOnlyList<int> slots, bool whole, string busyFile, TimeSpan wait)
    {
        var holders = new List<LeaseHolder>();
        var what = new List<string>();
        if (busyFile == RigFile(directory) && HolderOf(busyFile) is { } rigHolder)
        {
            holders.Add(rigHolder);
            what.Add($"the whole rig is held by {rigHolder}");
        }
        else
        {
            // whole-rig work refused by slot work (which holds the rig lock shared): name every slot's holder
            foreach (var slot in slots)
            {
                if (HolderOf(SlotFile(directory, slot)) is not { } h) continue;
                holders.Add(h);
                what.Add(string.Create(CultureInfo.InvariantCulture, $"slot {slot} is held by {h}"));
            }
        }
        var waited = wait > TimeSpan.Zero ? string.Create(CultureInfo.InvariantCulture, $"still after waiting {wait.TotalSeconds:0.#} s") : "give --wait SECONDS to wait for it";
        var who = what.Count > 0 ? string.Join("; ", what) : (whole ? "the rig is in use by another hilrig process" : "a slot is in use by another hilrig process");
        return new SlotBusyException($"{who}; {waited}", holders);
    }

    private static void WriteHolder(SafeFileHandle handle, LeaseHolder holder)
    {
        var bytes = Encoding.UTF8.GetBytes(holder.Serialize());
        RandomAccess.SetLength(handle, 0);
        RandomAccess.Write(handle, bytes, 0);
    }

    private static SafeFileHandle OpenLockFile(string path, bool write)
    {
        var fd = Native.open(path, (write ? Native.O_RDWR | Native.O_CREAT : Native.O_RDONLY) | Native.O_CLOEXEC, 0x1B6 /* 0666, less the umask */);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"{path}: cannot open the slot lock file: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
        return new SafeFileHandle(fd, ownsHandle: true);
    }

    private static bool TryLock(SafeFileHandle handle, bool exclusive)
    {
        while (true)
        {
            if (Native.flock(handle, (exclusive ? Native.LOCK_EX : Native.LOCK_SH) | Native.LOCK_NB) == 0) return true;
            var errno = Marshal.GetLastPInvokeError();
            if (errno == Native.EINTR) continue;
            if (errno == Native.EWOULDBLOCK) return false;
            throw new IOException($"flock: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
    }

    private static class Native
    {
        // Linux values (x86-64 and arm64 share them).
        public const int O_RDONLY = 0;
        public const int O_RDWR = 2;
        public const int O_CREAT = 0x40;
        public const int O_CLOEXEC = 0x80000;
        public const int LOCK_SH = 1;
        public const int LOCK_EX = 2;
        public const int LOCK_NB = 4;
        public const int EINTR = 4;
        public const int EWOULDBLOCK = 11;

        [DllImport("libc", SetLastError = true)]
        public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, int mode);

        [DllImport("libc", SetLastError = true)]
        public static extern int flock(SafeFileHandle fd, int operation);
    }
}
