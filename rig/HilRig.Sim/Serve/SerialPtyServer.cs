using System.Globalization;
using System.Runtime.InteropServices;
using HilRig.Sim.Device;
using HilRig.Sim.Device.App;
using HilRig.Sim.Rig;

namespace HilRig.Sim.Serve;

/// <summary>
/// Each slot's USB serial (the Core's listening-mode CDC ACM port) served as a pseudo-terminal in raw mode, with a
/// symlink per slot (e.g. /tmp/hilrig-slot3.tty -> /dev/pts/7), so pyserial, minicom or `screen` talk to the Core as
/// to /dev/ttyACM0. The pty stays while the process serves: bytes typed while the Core has no serial port (not in
/// listening mode, unpowered, slot empty) are dropped, as a real port that is not there takes nothing. The server
/// keeps a slave end open itself, so a client may come and go without the master seeing a hang-up.
/// </summary>
public sealed partial class SerialPtyServer : IDisposable
{
    private readonly SimRig _rig;
    private readonly List<SlotPty> _ptys = [];
    private volatile bool _stopping;

    private SerialPtyServer(SimRig rig) => _rig = rig;

    /// <summary>Slot number to the symlink that names its pty.</summary>
    public IReadOnlyDictionary<int, string> Links => _ptys.ToDictionary(p => p.Slot.Number, p => p.Link);

    /// <summary>Slot number to the pty's own path (/dev/pts/N).</summary>
    public IReadOnlyDictionary<int, string> Devices => _ptys.ToDictionary(p => p.Slot.Number, p => p.Device);

    /// <summary>The symlink path for a slot: <paramref name="pattern"/> with {slot} replaced.</summary>
    public static string LinkFor(string pattern, int slot) => pattern.Replace("{slot}", slot.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);

    /// <summary>Opens one pty per slot and links it at <paramref name="linkPattern"/> ({slot} is the slot number). Call off the simulation thread.</summary>
    /// <exception cref="IOException">openpty or the symlink failed.</exception>
    public static SerialPtyServer Start(SimRig rig, string linkPattern)
    {
        ArgumentNullException.ThrowIfNull(rig);
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("serial ptys need Linux (openpty)");
        var server = new SerialPtyServer(rig);
        try
        {
            foreach (var slot in rig.Slots.OrderBy(s => s.Number))
                server._ptys.Add(server.Open(slot, LinkFor(linkPattern, slot.Number)));
            // subscribe on the simulation thread, where Cores open their ports
            rig.Scheduler.Run(() =>
            {
                foreach (var pty in server._ptys) pty.Attach();
                return Task.CompletedTask;
            });
        }
        catch
        {
            server.Dispose();
            throw;
        }
        foreach (var pty in server._ptys) pty.StartReader();
        return server;
    }

    private SlotPty Open(SimSlot slot, string link)
    {
        if (openpty(out var master, out var slave, 0, 0, 0) != 0) throw Errno("openpty");
        var pty = new SlotPty(this, slot, master, slave, link);
        try
        {
            // raw: no echo, no line editing, no CR/LF mapping, every byte as it comes (what pyserial and screen set too)
            var termios = new byte[256];
            if (tcgetattr(slave, termios) != 0) throw Errno("tcgetattr");
            cfmakeraw(termios);
            if (tcsetattr(slave, 0, termios) != 0) throw Errno("tcsetattr");
            // the master is written from the simulation thread, which must never block on a full pty
            var flags = fcntl(master, FGetFl, 0);
            if (flags < 0 || fcntl(master, FSetFl, flags | ONonBlock) != 0) throw Errno("fcntl");
            var name = new byte[128];
            if (ttyname_r(slave, name, name.Length) != 0) throw new IOException("ttyname_r failed for a new pty");
            pty.Device = System.Text.Encoding.UTF8.GetString(name, 0, Array.IndexOf(name, (byte)0));
            if (File.Exists(link) || new FileInfo(link).LinkTarget is not null) File.Delete(link);
            File.CreateSymbolicLink(link, pty.Device);
            pty.Linked = true;
            return pty;
        }
        catch
        {
            pty.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _stopping = true;
        foreach (var pty in _ptys) pty.Dispose();
        _ptys.Clear();
    }

    private static IOException Errno(string call) => new($"{call} failed: errno {Marshal.GetLastPInvokeError()}");

    private sealed class SlotPty(SerialPtyServer owner, SimSlot slot, int master, int slave, string link) : IDisposable
    {
        private readonly HashSet<VirtualCore> _watched = [];
        private SimSerialPort? _port;
        private Thread? _reader;
        private int _closed;

        public SimSlot Slot { get; } = slot;

        public string Link { get; } = link;

        public string Device { get; set; } = "";

        public bool Linked { get; set; }

        /// <summary>On the simulation thread: follow the Core in the slot now and every one dropped in later.</summary>
        public void Attach()
        {
            Slot.Changed += (_, _) => Watch(Slot.Core);
            Watch(Slot.Core);
        }

        private void Watch(VirtualCore core)
        {
            if (_watched.Add(core)) core.SerialPortOpened += OnPortOpened;
            if (Slot.Occupied && core.SerialPort is { Open: true } port) OnPortOpened(core, port);
        }

        private void OnPortOpened(VirtualCore core, SimSerialPort port)
        {
            if (!Slot.Occupied || Slot.Core != core || _port == port) return;
            _port = port;
            port.OutputReady += () => Flush(port);
            Flush(port);
        }

        /// <summary>On the simulation thread: what the firmware printed goes to the pty master.</summary>
        private void Flush(SimSerialPort port)
        {
            Span<byte> buffer = stackalloc byte[256];
            int n;
            while ((n = port.TakeOutput(buffer)) > 0)
            {
                if (Volatile.Read(ref _closed) != 0) continue;
                // a full pty (nobody reading for kilobytes) drops output, as a real ttyACM nobody reads overflows
                _ = write(master, buffer[..n], n);
            }
        }

        /// <summary>On the simulation thread: bytes the client typed go to the Core's port, if it has one now.</summary>
        private void Deliver(byte[] data)
        {
            if (_port is { Open: true } port && Slot.Occupied && Slot.Core.SerialPort == port) port.Input(data);
        }

        public void StartReader()
        {
            _reader = new Thread(ReadLoop) { IsBackground = true, Name = $"pty slot {Slot.Number}" };
            _reader.Start();
        }

        private void ReadLoop()
        {
            var buffer = new byte[256];
            while (!owner._stopping && Volatile.Read(ref _closed) == 0)
            {
                var ready = poll(master, 200);
                if (ready <= 0) continue;
                var n = read(master, buffer, buffer.Length);
                if (n <= 0) continue; // EAGAIN (non-blocking) or a hang-up: poll again
                var data = buffer.AsSpan(0, (int)n).ToArray();
                try
                {
                    owner._rig.Scheduler.RunAsync(() =>
                    {
                        Deliver(data);
                        return Task.CompletedTask;
                    }).GetAwaiter().GetResult();
                }
                catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException or OperationCanceledException)
                {
                    return; // the simulation is over
                }
            }
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _closed, 1) != 0) return;
            _reader?.Join(TimeSpan.FromSeconds(2));
            if (Linked)
            {
                try
                {
                    File.Delete(Link);
                }
                catch (IOException)
                {
                    // a link left behind names a pty that no longer exists; harmless
                }
            }
            _ = close(slave);
            _ = close(master);
        }
    }

    private const int FGetFl = 3;
    private const int FSetFl = 4;
    private const int ONonBlock = 0x800;

    private static int poll(int fd, int timeoutMs)
    {
        var fds = new PollFd { Fd = fd, Events = 1 /* POLLIN */ };
        return poll(ref fds, 1, timeoutMs);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int openpty(out int master, out int slave, nint name, nint termp, nint winp);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int tcgetattr(int fd, [Out] byte[] termios);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int tcsetattr(int fd, int optionalActions, byte[] termios);

    [LibraryImport("libc")]
    private static partial void cfmakeraw([In, Out] byte[] termios);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fcntl(int fd, int cmd, int arg);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int ttyname_r(int fd, [Out] byte[] buffer, nint length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int poll(ref PollFd fds, nuint count, int timeoutMs);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint read(int fd, [Out] byte[] buffer, nint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint write(int fd, ReadOnlySpan<byte> buffer, nint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
