using System.Runtime.InteropServices;

namespace HilRig.Tests;

/// <summary>Signals to child processes as systemd or a shell would send them (Process.Kill only sends SIGKILL).</summary>
internal static partial class PosixSignals
{
    /// <summary>SIGTERM to <paramref name="pid"/>; 0 when sent.</summary>
    public static int Terminate(int pid) => kill(pid, 15);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);
}
