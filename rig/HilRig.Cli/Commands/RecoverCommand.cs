using System.CommandLine;
using HilRig.Core.Procedures;
using HilRig.Core.Results;

namespace HilRig.Cli.Commands;

/// <summary>
/// `hilrig recover`: puts every Core whose destructive procedure was interrupted (crash, power cut, SIGKILL) back from
/// the region journal next to the store, verifies each region against its saved hash and records one row per Core.
/// </summary>
internal static class RecoverCommand
{
    public static Command Build()
    {
        var config = CommonOptions.Config();
        var store = CommonOptions.Store();
        var command = new Command("recover", "put back every Core an interrupted screen or readback left half-written, from the journal next to the results store; verify and record each");
        command.Options.Add(config);
        command.Options.Add(store);
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(config)!, parse.GetValue(store), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, ct));
        return command;
    }

    private static async Task<int> RunAsync(FileInfo configFile, FileInfo? storeFile, TextWriter output, TextWriter err, CancellationToken ct)
    {
        if (!ConfigLoading.TryLoad(configFile, storeFile, err, out var config)) return ExitCodes.BadInput;
        if (RigOpening.RefusesFleetStore(config, "hilrig recover", err)) return ExitCodes.BadInput;
        var journal = JournalSupport.Journal(config);
        var pending = journal.Pending();
        if (pending.Count == 0)
        {
            output.WriteLine($"nothing to recover: no interrupted Core in the journal {journal.Directory}");
            return ExitCodes.Ok;
        }
        var options = RigOpening.PersistentSim(config);
        using var open = RigOpening.Open(config, err, options);
        if (open.Session is not { } session) return open.ExitCode;

        var store = ResultsStore.Open(config.ResolveStorePath());
        var wall = TimeProvider.System;
        using var recorder = ResultRecorder.Start(store, new RunInfo(config.RigId, config.Hash, session.RunFacts.Seed, session.RunFacts.Bootloader, "recover", wall.GetUtcNow()), wall);
        var runId = recorder.RunId;
        var status = RunStatus.Aborted;
        var exit = ExitCodes.Ok;
        try
        {
            foreach (var core in pending)
            {
                var startedAt = wall.GetUtcNow();
                if (JournalRecovery.SlotOf(session.Slots, core.Manifest) is not { } slot)
                {
                    err.WriteLine($"hilrig: journal {core.Folder} names slot {core.Manifest.Slot} ({core.Manifest.UsbPath}), which this rig does not have; valid slots: {string.Join(", ", session.Slots.Select(s => s.Number))}");
                    exit = Math.Max(exit, ExitCodes.RigFault);
                    continue;
                }
                var result = await session.RunAsync(() => new JournalRecovery(session.Usb, session.Time).RunAsync(slot, core, leaveDfu: true, ct));
                await JournalSupport.Record(recorder, result, startedAt, wall.GetUtcNow());
                output.WriteLine($"slot {result.Slot} ({result.DeviceId ?? "device id not known"}, DFU serial {result.DfuSerial}): {result.Verdict.ToName()}{(result.FailureMode is { } m ? $" ({m})" : "")}: {result.Signature}");
                foreach (var line in result.Log) output.WriteLine($"  {line}");
                exit = Math.Max(exit, result.Verdict switch { Verdict.Pass => ExitCodes.Ok, Verdict.Fail => ExitCodes.DutFailed, _ => ExitCodes.RigFault });
            }
            status = exit switch { ExitCodes.Ok => RunStatus.Passed, ExitCodes.DutFailed => RunStatus.Failed, _ => RunStatus.RigFault };
            err.WriteLine($"run {runId} stored in {config.ResolveStorePath()}");
            return exit;
        }
        finally
        {
            recorder.Finish(status, wall.GetUtcNow());
        }
    }
}
