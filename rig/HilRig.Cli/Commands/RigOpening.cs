using HilRig.Composition;
using HilRig.Core.Config;
using HilRig.Core.Results;

namespace HilRig.Cli.Commands;

/// <summary>Opens the rig a config describes; a rig that cannot open is one clear line and an exit code, never a stack trace.</summary>
internal sealed class RigOpening : IDisposable
{
    private RigOpening(RigSession? session, int exitCode)
    {
        Session = session;
        ExitCode = exitCode;
    }

    public RigSession? Session { get; }

    public int ExitCode { get; }

    public static RigOpening Open(RigConfig config, TextWriter error, RigSessionOptions? options = null)
    {
        try
        {
            var session = RigSession.Open(config, options);
            if (options is not null) JournalSupport.InstallCrashPoints(session, options, error);
            // a crash left Cores half-written: screen puts them back first, `hilrig recover` does it alone
            if (JournalSupport.Journal(config).Pending() is { Count: > 0 } pending)
                error.WriteLine($"hilrig: {pending.Count} interrupted Core(s) in the journal (slot(s) {string.Join(", ", pending.Select(p => p.Manifest.Slot))}): `hilrig screen` puts them back first; `hilrig recover` does it alone");
            return new RigOpening(session, ExitCodes.Ok);
        }
        catch (BackendUnavailableException ex)
        {
            error.WriteLine($"hilrig: {ex.Message}");
            return new RigOpening(null, ExitCodes.BadInput);
        }
        catch (HilRig.Core.Slots.RigDeviceException ex)
        {
            // Already one line naming the device and the fix (a Pi device node, a chip that does not answer).
            error.WriteLine($"hilrig: {ex.Message}");
            return new RigOpening(null, ExitCodes.RigFault);
        }
        catch (IOException ex)
        {
            error.WriteLine($"hilrig: the rig did not answer while opening: {ex.Message}");
            return new RigOpening(null, ExitCodes.RigFault);
        }
    }

    /// <summary>
    /// CLI sessions keep the simulated Cores' flash next to the results store, like real Cores keep theirs, and
    /// colour-sensor calibrations in the results store, per rig and slot.
    /// </summary>
    public static RigSessionOptions PersistentSim(RigConfig config) => new()
    {
        Simulator = new SimBackendOptions { StateDirectory = SimStateDirectory(config) },
        // opened by the session once the rig opened: a rig that cannot open writes nothing
        OpenCalibrationStore = () => ResultsStore.Open(config.ResolveStorePath()),
    };

    /// <summary>For commands that only inspect the rig (doctor): no store is created, nothing is calibrated behind their back.</summary>
    public static RigSessionOptions Inspecting(RigConfig config) => new()
    {
        Simulator = new SimBackendOptions { StateDirectory = SimStateDirectory(config) },
        CalibrateAtOpen = false,
    };

    private static string SimStateDirectory(RigConfig config) => Path.Combine(Path.GetDirectoryName(config.ResolveStorePath()) ?? ".", "sim-state");

    public void Dispose() => Session?.Dispose();
}
