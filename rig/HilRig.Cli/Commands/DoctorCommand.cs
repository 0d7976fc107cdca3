using System.CommandLine;
using System.Text.Json;
using Dapper;
using HilRig.Core.Config;
using HilRig.Core.Doctor;
using HilRig.Core.Led;
using Microsoft.Data.Sqlite;

namespace HilRig.Cli.Commands;

/// <summary>`hilrig doctor`: the rig checked against its config, one line per check and a fix for each failure.</summary>
internal static class DoctorCommand
{
    public static Command Create()
    {
        var config = CommonOptions.Config();
        var slots = new Option<string?>("--slots") { Description = "slots to check, e.g. 1,3-5 (default: all); the shared I2C chips are always checked" };
        var format = new Option<string>("--format") { Description = "output format: table or json", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "json");
        var command = new Command("doctor", "check the rig against its config: I2C chips, hub port power, each slot's Core on USB, relays, sensor calibration and darkness");
        command.Options.Add(config);
        command.Options.Add(slots);
        command.Options.Add(format);
        var golden = new Option<string?>("--golden") { Description = "health check with a known-good Core (its device id): a pass returns the slot to good, a failure quarantines it" };
        var slot = new Option<int?>("--slot") { Description = "with --golden: the slot the known-good Core is in (default: every suspect or quarantined slot)" };
        command.Options.Add(golden);
        command.Options.Add(slot);
        command.SetAction((parse, ct) => parse.GetValue(golden) is { } device
            ? GoldenCheck.RunAsync(RigClaim.WholeRig(parse), parse.GetValue(config)!, device, parse.GetValue(slot), parse.GetValue(format) == "json", parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, ct)
            : parse.GetValue(slot) is not null ? NeedsGolden(parse.InvocationConfiguration.Error)
            : RunAsync(RigClaim.WholeRig(parse), parse.GetValue(config)!, parse.GetValue(slots), parse.GetValue(format) == "json", parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, ct));
        return command;
    }

    private static async Task<int> RunAsync(RigClaim claim, FileInfo configFile, string? slotSpec, bool json, TextWriter output, TextWriter err, CancellationToken ct)
    {
        if (!ConfigLoading.TryLoad(configFile, err, out var config)) return ExitCodes.BadInput;
        var calibrations = StoredCalibrations.Load(config, err);
        using var open = RigOpening.Open(config, err, RigOpening.Inspecting(config), claim);
        if (open.Session is not { } session) return open.ExitCode;

        IReadOnlyList<Core.Slots.RigSlot> selected;
        try
        {
            selected = session.Select(slotSpec);
        }
        catch (FormatException ex)
        {
            err.WriteLine($"hilrig: {ex.Message}");
            return ExitCodes.BadInput;
        }
        var doctor = new RigDoctor(config, selected, session.Usb, session.I2c, session.Time, slot => calibrations.GetValueOrDefault(slot));
        var report = await session.RunAsync(() => doctor.RunAsync(ct));

        if (json)
        {
            output.WriteLine(JsonSerializer.Serialize(report.Checks.Select(c => new
            {
                c.Area, c.Subject, Status = StatusName(c.Status).ToLowerInvariant(), c.Detail, c.Fix,
            }), Json.Options));
        }
        else
        {
            output.WriteLine($"rig {config.RigId} (backend {config.Backend.ToString().ToLowerInvariant()}) checked against {configFile}");
            foreach (var c in report.Checks)
            {
                output.WriteLine($"  {StatusName(c.Status),-11} {c.Subject}: {c.Detail}");
                if (c.Fix is { } fix) output.WriteLine($"  {"",-11} fix: {fix}");
            }
            output.WriteLine($"{report.Count(CheckStatus.Ok)} ok, {report.Count(CheckStatus.Failed)} failed, {report.Count(CheckStatus.NotChecked)} not checked");
        }
        return report.AllOk ? ExitCodes.Ok : ExitCodes.RigFault;
    }

    private static Task<int> NeedsGolden(TextWriter err)
    {
        err.WriteLine("hilrig: doctor --slot N: valid only with --golden DEVICE (a health check of that slot); to check some slots' wiring use --slots");
        return Task.FromResult(ExitCodes.BadInput);
    }

    private static string StatusName(CheckStatus status) => status switch
    {
        CheckStatus.Ok => "ok",
        CheckStatus.Failed => "FAILED",
        _ => "not-checked",
    };
}

/// <summary>
/// Sensor calibrations stored per rig and slot in the results store (table sensor_calibrations, one row per rig_id
/// and slot, SlotCalibration's fields in snake_case). Read-only: a doctor run never creates or migrates the store.
/// </summary>
internal static class StoredCalibrations
{
    public static IReadOnlyDictionary<int, SlotCalibration> Load(RigConfig config, TextWriter err)
    {
        var found = new Dictionary<int, SlotCalibration>();
        if (config.Results.Kind != ResultsStoreKind.Sqlite) return found;
        var path = config.ResolveStorePath();
        if (!File.Exists(path)) return found;
        try
        {
            using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly }.ToString());
            db.Open();
            if (db.ExecuteScalar<long>("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sensor_calibrations'") == 0)
                return found;
            foreach (IDictionary<string, object?> row in db.Query("SELECT * FROM sensor_calibrations WHERE rig_id = @rig", new { rig = config.RigId }))
            {
                double Get(string column) => row.TryGetValue(column, out var v) && v is not null ? Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture) : 0;
                var slot = (int)Get("slot");
                found[slot] = new SlotCalibration(slot, Get("dark_r"), Get("dark_g"), Get("dark_b"), Get("dark_c"), Get("dark_noise_c"),
                    Math.Max(1, (int)Get("gain")), Get("integration_ms"), Get("lit_c"));
            }
        }
        catch (SqliteException ex)
        {
            err.WriteLine($"hilrig: cannot read sensor calibrations from {path}: {ex.Message}");
        }
        return found;
    }
}
