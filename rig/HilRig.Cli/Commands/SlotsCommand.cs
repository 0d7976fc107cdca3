using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using HilRig.Core.Config;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Core.Spark;
using HilRig.Reports.Queries;

namespace HilRig.Cli.Commands;

/// <summary>
/// `hilrig slots`: each slot's health (good, unknown, suspect, quarantined, maintenance) with its rig faults on their own
/// column; `hilrig slots set N maintenance|good` for the operator. Reading changes nothing on the rig or in the store.
/// </summary>
internal static class SlotsCommand
{
    public static Command Create()
    {
        var config = CommonOptions.Config();
        var store = StoreLocation.Option();
        var format = CommonOptions.Format();
        var command = new Command("slots", "each slot's health (good, unknown, suspect, quarantined, maintenance): devices, unconfirmed and confirmed failures, rig faults by kind");
        command.Options.Add(config);
        command.Options.Add(store);
        command.Options.Add(format);
        command.SetAction(pr => Show(pr.GetValue(config)!, pr.GetValue(store), CommonOptions.ParseFormat(pr.GetValue(format)), pr.InvocationConfiguration.Output, pr.InvocationConfiguration.Error));

        var setConfig = CommonOptions.Config();
        var setStore = StoreLocation.Option();
        var slot = new Argument<int>("slot") { Description = "the slot number" };
        var state = new Argument<string>("state") { Description = "maintenance (take the slot out of service) or good (return it)" };
        state.AcceptOnlyFromAmong("maintenance", "good");
        var reason = new Option<string?>("--reason") { Description = "why, as it will be shown (default: set by the operator)" };
        var set = new Command("set", "take a slot out of service (maintenance) or return it (good: strikes before now no longer count)");
        set.Arguments.Add(slot);
        set.Arguments.Add(state);
        set.Options.Add(setConfig);
        set.Options.Add(setStore);
        set.Options.Add(reason);
        set.SetAction(pr => Set(pr.GetValue(setConfig)!, pr.GetValue(setStore), pr.GetValue(slot), pr.GetValue(state)!, pr.GetValue(reason),
            pr.InvocationConfiguration.Output, pr.InvocationConfiguration.Error));
        command.Subcommands.Add(set);
        return command;
    }

    private static int Show(FileInfo configFile, FileInfo? storeFile, OutputFormat format, TextWriter output, TextWriter err)
    {
        if (!ConfigLoading.TryLoad(configFile, err, out var config)) return ExitCodes.BadInput;
        var numbers = config.Slots.Select(s => s.Number).ToList();
        IReadOnlyList<SlotHealthStatus> health;
        if (!TryOpen(config, configFile, storeFile, mustExist: true, err, out var store, out var nothingYet)) return ExitCodes.BadInput;
        try
        {
            health = store is null
                ? [.. numbers.Select(n => new SlotHealthStatus(n, SlotHealthState.Unknown, nothingYet!, null, 0, 0, 0, 0, new Dictionary<FailureKind, int>()))]
                : store.SlotHealth(config.RigId, numbers, config.Screening.Health);
        }
        catch (ResultsStoreException ex)
        {
            err.WriteLine($"hilrig: {ex.Message}");
            return ExitCodes.BadInput;
        }
        if (format == OutputFormat.Csv)
        {
            output.Write(Csv.Records(health.Select(h => new
            {
                h.Slot, Health = h.State.ToName(), h.Since, h.Devices, h.Strikes, h.Unconfirmed, h.Confirmed, RigFaults = RigFaultText(h), h.Reason,
            })));
            return ExitCodes.Ok;
        }
        if (format == OutputFormat.Json)
        {
            // an object like every export: which rig and store, the rows under "slots"
            output.WriteLine(JsonSerializer.Serialize(new
            {
                rigId = config.RigId,
                store = storeFile?.FullName ?? (config.Results.Kind == ResultsStoreKind.Postgres ? "postgres" : config.ResolveStorePath()),
                slots = health.Select(h => new
                {
                    h.Slot, Health = h.State.ToName(), h.Since, h.Devices, h.Strikes, h.Unconfirmed, h.Confirmed,
                    RigFaults = h.RigFaults.OrderBy(k => k.Key).ToDictionary(k => k.Key.ToName(), k => k.Value), h.Reason,
                }),
            }, Json.Options));
            return ExitCodes.Ok;
        }
        // the shared plain table: the terminal's width, 80 when redirected; colour only on a terminal
        var table = new TextTable()
            .Column("slot", right: true, wrap: false).Column("health", wrap: false).Column("since", wrap: false)
            .Column("devices", right: true, wrap: false).Column("unconfirmed", right: true, wrap: false).Column("confirmed", right: true, wrap: false)
            .Column("rig faults", keepWords: true);
        foreach (var h in health)
        {
            var paint = h.State switch
            {
                SlotHealthState.Good => "32",
                SlotHealthState.Suspect => "33",
                SlotHealthState.Quarantined => "31",
                SlotHealthState.Maintenance => "34",
                _ => null,
            };
            table.Row(
                [
                    h.Slot.ToString(CultureInfo.InvariantCulture), h.State.ToName(),
                    h.Since is { } since && since > DateTimeOffset.UnixEpoch ? since.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) : "-",
                    h.Devices.ToString(CultureInfo.InvariantCulture), h.Unconfirmed.ToString(CultureInfo.InvariantCulture), h.Confirmed.ToString(CultureInfo.InvariantCulture),
                    RigFaultText(h),
                ],
                [null, paint]);
        }
        var width = Terminal.Width(output);
        output.WriteLine(TextWrap.Paragraph($"Slot health of rig {config.RigId}", width));
        output.Write(table.For(output));
        // the reasons are sentences: under the table, one line per reason with its slots (broken at spaces, ids whole)
        foreach (var reason in health.GroupBy(h => h.Reason, StringComparer.Ordinal))
            output.WriteLine($"{(reason.Count() == 1 ? "slot" : "slots")} {SlotRanges(reason.Select(h => h.Slot))}: {reason.Key}");
        output.WriteLine(TextWrap.Paragraph("strikes: distinct devices with a rig fault of the slot's own USB, sensor, relay or buttons, or a DUT failure not confirmed in another slot; cloud and software faults are not the slot's", width));
        return ExitCodes.Ok;
    }

    /// <summary>Slot numbers as --slots takes them: 1-4,6,8.</summary>
    internal static string SlotRanges(IEnumerable<int> slots)
    {
        var parts = new List<string>();
        foreach (var n in slots.Order())
        {
            if (parts.Count > 0 && parts[^1].Split('-')[^1] is var last && int.Parse(last, CultureInfo.InvariantCulture) == n - 1)
                parts[^1] = $"{parts[^1].Split('-')[0]}-{n.ToString(CultureInfo.InvariantCulture)}";
            else
                parts.Add(n.ToString(CultureInfo.InvariantCulture));
        }
        return string.Join(",", parts);
    }

    internal static string RigFaultText(SlotHealthStatus h) =>
        h.RigFaultCount == 0 ? "0" : string.Join(", ", h.RigFaults.OrderBy(k => k.Key).Select(k => $"{k.Key.ToName()} {k.Value}"));

    private static int Set(FileInfo configFile, FileInfo? storeFile, int slot, string stateName, string? reason, TextWriter output, TextWriter err)
    {
        if (!ConfigLoading.TryLoad(configFile, err, out var config)) return ExitCodes.BadInput;
        if (config.Slots.All(s => s.Number != slot))
        {
            err.WriteLine($"hilrig: slot {slot.ToString(CultureInfo.InvariantCulture)} is not on rig {config.RigId}; valid: {string.Join(",", config.Slots.Select(s => s.Number))}");
            return ExitCodes.BadInput;
        }
        if (!TryOpen(config, configFile, storeFile, mustExist: false, err, out var store, out _)) return ExitCodes.BadInput;
        var state = SlotHealthStates.Parse(stateName);
        try
        {
            var ledger = new ScreeningLedger(store!, config.RigId, config.Screening, TimeProvider.System);
            var before = ledger.Health([slot])[0].State;
            ledger.Set(slot, state, string.IsNullOrWhiteSpace(reason) ? $"set {state.ToName()} by the operator" : reason);
            output.WriteLine($"slot {slot.ToString(CultureInfo.InvariantCulture)}: {before.ToName()} -> {state.ToName()}{(state == SlotHealthState.Good ? " (strikes before now no longer count)" : " (screen and soak leave it alone)")}");
            return ExitCodes.Ok;
        }
        catch (ResultsStoreException ex)
        {
            err.WriteLine($"hilrig: {ex.Message}");
            return ExitCodes.BadInput;
        }
    }

    /// <summary>
    /// The rig's store: a reader refuses a file that is not a HilRig store and never creates one (null and a reason
    /// when there is none yet); a writer creates it.
    /// </summary>
    internal static bool TryOpen(RigConfig config, FileInfo configFile, FileInfo? storeFile, bool mustExist, TextWriter err, out ResultsStore? store, out string? nothingYet)
    {
        store = null;
        nothingYet = null;
        try
        {
            if (storeFile is null && config.Results.Kind == ResultsStoreKind.Postgres)
            {
                store = ResultsStore.OpenPostgres(config.Results.ConnectionString!);
                return true;
            }
            if (!StoreLocation.TryResolve(configFile, storeFile, mustExist: false, err, out var path)) return false;
            if (!File.Exists(path))
            {
                if (mustExist)
                {
                    nothingYet = $"no results store at {path} yet";
                    return true;
                }
            }
            // refuses a SQLite file that is not a HilRig store before anything is added to it
            else ResultsQueries.OpenSqlite(path);
            store = ResultsStore.Open(path);
            return true;
        }
        catch (ResultsStoreException ex)
        {
            err.WriteLine($"hilrig: {ex.Message}");
            return false;
        }
    }
}

/// <summary>
/// `hilrig doctor --golden DEVICE [--slot N]`: a health check with a known-good Core. The Core in each slot checked must be
/// DEVICE; it is screened like `hilrig screen` (stored as run kind health-check). A pass returns the slot to good (strikes
/// before it no longer count); a failure quarantines it. Without --slot: every suspect or quarantined slot.
/// </summary>
internal static class GoldenCheck
{
    public static async Task<int> RunAsync(RigClaim claim, FileInfo configFile, string golden, int? slotNumber, bool json, TextWriter output, TextWriter err, CancellationToken ct)
    {
        if (!ConfigLoading.TryLoad(configFile, err, out var config)) return ExitCodes.BadInput;
        var device = golden.Trim().ToLowerInvariant();
        if (device.Length != 24 || !device.All(char.IsAsciiHexDigit))
        {
            err.WriteLine($"hilrig: --golden {golden}: valid: the device id (24 hex digits) of a known-good Core, e.g. 55ff6c065075555332071787");
            return ExitCodes.BadInput;
        }
        if (slotNumber is { } n && config.Slots.All(s => s.Number != n))
        {
            err.WriteLine($"hilrig: --slot {n.ToString(CultureInfo.InvariantCulture)}: slot {n.ToString(CultureInfo.InvariantCulture)} is not on this rig; valid: {string.Join(",", config.Slots.Select(s => s.Number))}");
            return ExitCodes.BadInput;
        }
        using var open = RigOpening.Open(config, err, RigOpening.PersistentSim(config), claim);
        if (open.Session is not { } session) return open.ExitCode;
        ResultsStore store;
        try
        {
            store = ResultsStore.Open(config.ResolveStorePath());
        }
        catch (ResultsStoreException ex)
        {
            err.WriteLine($"hilrig: {ex.Message}");
            return ExitCodes.BadInput;
        }
        var wall = TimeProvider.System;
        var ledger = new ScreeningLedger(store, config.RigId, config.Screening, wall);
        var targets = slotNumber is { } one ? [one]
            : ledger.Health(config.Slots.Select(s => s.Number)).Where(h => h.State is SlotHealthState.Suspect or SlotHealthState.Quarantined).Select(h => h.Slot).ToList();
        if (targets.Count == 0)
        {
            output.WriteLine("no slot is suspect or quarantined: nothing to check (give --slot N to check one anyway)");
            return ExitCodes.Ok;
        }
        var before = ledger.Health(targets).ToDictionary(h => h.Slot, h => h.State);
        var slots = session.Select(string.Join(",", targets));
        using var recorder = ResultRecorder.Start(store, new RunInfo(config.RigId, config.Hash, session.RunFacts.Seed, session.RunFacts.Bootloader, "health-check", wall.GetUtcNow()), wall,
            new RecorderOptions { RigClockIsWall = config.Backend != RigBackend.Sim });
        var loops = session.Cloud is not null;
        var screening = new Screening(session.Usb, session.Time, ScreenCommand.Options(config, session, store, recorder, loops, null, wall));
        screening.JournalRestored += restored => JournalSupport.Record(recorder, restored, wall.GetUtcNow(), wall.GetUtcNow());
        var outcomes = await session.RunAsync(() => screening.RunAsync(slots, null, null, ct));
        foreach (var outcome in outcomes) _ = recorder.Record(ScreenCommand.Finding(outcome));
        var exit = ExitCodes.Ok;
        var lines = new List<(int Slot, string Before, string After, string Detail)>();
        var wrong = false;
        foreach (var outcome in outcomes.OrderBy(o => o.Slot))
        {
            var seen = outcome.DeviceId ?? (outcome.Evidence.DfuSerial is { } s ? store.DeviceIdForDfuSerial(s) : null);
            var was = before[outcome.Slot];
            if (seen != device)
            {
                // not the golden Core: nothing is said about the slot
                wrong = true;
                lines.Add((outcome.Slot, was.ToName(), was.ToName(),
                    $"holds {(seen ?? outcome.Evidence.DfuSerial ?? "no Core that answered")}, not the golden Core {device}: put it in the slot and check again; health unchanged"));
                continue;
            }
            if (outcome.Verdict == Verdict.Pass)
            {
                ledger.Set(outcome.Slot, SlotHealthState.Good, $"golden Core {device} passed a health check (run {recorder.RunId})");
                lines.Add((outcome.Slot, was.ToName(), "good", $"golden Core {device} passed"));
            }
            else
            {
                ledger.Set(outcome.Slot, SlotHealthState.Quarantined, $"golden Core {device} failed its health check: {outcome.Verdict.ToName()} {outcome.FailureMode} (run {recorder.RunId})");
                lines.Add((outcome.Slot, was.ToName(), "quarantined", $"golden Core {device} {outcome.Verdict.ToName()}{(outcome.FailureMode is { } m ? $" ({m})" : "")}: {outcome.Signature}"));
                exit = ExitCodes.RigFault;
            }
        }
        recorder.Finish(exit == ExitCodes.Ok && !wrong ? RunStatus.Passed : RunStatus.RigFault);
        if (json)
            output.WriteLine(JsonSerializer.Serialize(new { rigId = config.RigId, runId = recorder.RunId, device, slots = lines.Select(l => new { l.Slot, l.Before, l.After, l.Detail }) }, Json.Options));
        else
            foreach (var (slot, was, now, detail) in lines)
                output.WriteLine($"slot {slot.ToString(CultureInfo.InvariantCulture)}: {was} -> {now}: {detail}");
        return wrong && exit == ExitCodes.Ok ? ExitCodes.BadInput : exit;
    }
}
