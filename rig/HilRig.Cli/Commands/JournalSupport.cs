using System.Diagnostics;
using System.Globalization;
using HilRig.Composition;
using HilRig.Core.Config;
using HilRig.Core.Procedures;
using HilRig.Core.Results;

namespace HilRig.Cli.Commands;

/// <summary>The region journal next to the store, the store's DFU serial links, and the test-only crash points.</summary>
internal static class JournalSupport
{
    /// <summary>Test-only: the process ends (SIGKILL, as a power cut would) at the N-th crash point of a procedure.</summary>
    public const string CrashAtVariable = "HILRIG_TEST_CRASH_AT";

    /// <summary>Test-only: every crash point passed is written to stderr as "crash point N: name".</summary>
    public const string CrashListVariable = "HILRIG_TEST_CRASH_LIST";

    public static RegionJournal Journal(RigConfig config) =>
        new(Path.Combine(Path.GetDirectoryName(config.ResolveStorePath()) ?? ".", "journal"));

    /// <summary>Backups named by content next to the store: a later run never replaces an earlier original.</summary>
    public static string Backups(RigConfig config) => Path.Combine(Path.GetDirectoryName(config.ResolveStorePath()) ?? ".", "backups");

    /// <summary>One row per Core put back (or not) from the journal, through the run's one recorder.</summary>
    public static Task<StoredResult> Record(ResultRecorder recorder, JournalRecoveryResult result, DateTimeOffset startedAt, DateTimeOffset endedAt) =>
        recorder.Record(new SlotFinding(
            result.Slot, result.DeviceId ?? $"dfu-{result.DfuSerial}", JournalRecoveryResult.TestName, result.Verdict, result.FailureMode, result.Signature,
            startedAt, endedAt, result.DeviceTime,
            new Evidence(DfuSerial: result.DfuSerial, Step: result.Completed ? "restored" : "not restored", Log: result.Log)));

    /// <summary>
    /// Installs the crash points when the test variables ask for them. On a simulated rig the Cores' flash is saved at the
    /// crash point first, as real flash keeps what was written when the power goes.
    /// </summary>
    public static void InstallCrashPoints(RigSession session, RigSessionOptions options, TextWriter err)
    {
        var at = Environment.GetEnvironmentVariable(CrashAtVariable);
        var list = Environment.GetEnvironmentVariable(CrashListVariable) is "1";
        if (at is null && !list) return;
        var k = at is null ? 0 : int.Parse(at, CultureInfo.InvariantCulture);
        var n = 0;
        CrashPoints.Handler = point =>
        {
            var i = Interlocked.Increment(ref n);
            if (list)
            {
                err.WriteLine($"crash point {i}: {point}");
                err.Flush();
            }
            if (i != k) return;
            if (session.Sim is { } sim && options.Simulator.StateDirectory is { } dir) Sim.Rig.SimRigState.Save(sim, dir);
            err.WriteLine($"crash point {i}: {point}: killed");
            err.Flush();
            Process.GetCurrentProcess().Kill();
        };
    }
}

/// <summary>DFU serial links kept in the results store.</summary>
internal sealed class StoreDeviceLinks(ResultsStore store, TimeProvider wall) : IDeviceLinks
{
    public string? DeviceIdFor(string dfuSerial) => store.DeviceIdForDfuSerial(dfuSerial);

    public void Link(string dfuSerial, string deviceId) => store.LinkDfuSerial(dfuSerial, deviceId, wall.GetUtcNow());
}
