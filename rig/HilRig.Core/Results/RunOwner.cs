using System.Diagnostics;

namespace HilRig.Core.Results;

/// <summary>
/// The process that runs a run: its pid, host and the kernel's boot id. A run left <c>running</c> whose owner is gone
/// (another boot, or no such process on this host) was interrupted, and is marked so by the next run that starts.
/// </summary>
public sealed record RunOwner(int Pid, string Host, string? BootId)
{
    private const string BootIdFile = "/proc/sys/kernel/random/boot_id";

    public static RunOwner Current { get; } = new(Environment.ProcessId, Environment.MachineName, ReadBootId());

    private static string? ReadBootId()
    {
        try
        {
            return File.Exists(BootIdFile) ? File.ReadAllText(BootIdFile).Trim() : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>True when <paramref name="other"/> ran on this host, in this boot, and its process still exists.</summary>
    public bool SeesAlive(RunOwner other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (!string.Equals(other.Host, Host, StringComparison.Ordinal)) return true; // another host's runs are its own business
        if (other.BootId is not null && BootId is not null && other.BootId != BootId) return false;
        if (other.Pid == Pid) return true;
        try
        {
            using var process = Process.GetProcessById(other.Pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
