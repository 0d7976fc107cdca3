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
        var slots = CommonOptions.Slots("slots to check (the shared I2C chips are always checked)");
        var store = CommonOptions.Store();
        var format = CommonOptions.Format();
        var command = new Command("doctor", "check the rig against its config: I2C chips, hub port power, each slot's Core on USB, relays, sensor calibration and darkness");
        command.Options.Add(config);
        slots.AddTo(command);
        command.Options.Add(store);
        command.Options.Add(format);
        var golden = new Option<string?>("--golden") { Description = "health check with a known-good Core (its device id) in the slot given by --slots N (default: every suspect or quarantined slot): a pass returns the slot to good, a failure quarantines it" };
        command.Options.Add(golden);
        command.SetAction((parse, ct) => parse.GetValue(golden) is { } device
            ? GoldenAsync(parse, parse.GetValue(config), device, slots.Get(parse), CommonOptions.ParseFormat(parse.GetValue(format)), ct)
            : RunAsync(RigClaim.WholeRig(parse), parse.GetValue(config)!, parse.GetValue(store), slots.Get(parse), CommonOptions.ParseFormat(parse.GetValue(format)), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, ct));
        return command;
    }

    private static async Task<int> RunAsync(RigClaim claim, FileInfo configFile, FileInfo? storeFile, string? slotSpec, OutputFormat format, TextWriter output, TextWriter err, CancellationToken ct)
    {
        if (!ConfigLoading.TryLoad(configFile, storeFile, err, out var config)) return ExitCodes.BadInput;
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

        var checks = report.Checks.Select(c => new CheckRow(c.Area.ToString(), c.Subject, StatusName(c.Status).ToLowerInvariant(), c.Detail, c.Fix)).ToList();
        switch (format)
        {
            case OutputFormat.Json:
                output.WriteLine(JsonSerializer.Serialize(new { rigId = config.RigId, backend = config.Backend.ToString().ToLowerInvariant(), config = configFile.ToString(), checks }, Json.Options));
                break;
            case OutputFormat.Csv:
                output.Write(Csv.Records(checks));
                break;
            default:
                var width = Terminal.Width(output);
                output.WriteLine(TextWrap.Paragraph($"rig {config.RigId} (backend {config.Backend.ToString().ToLowerInvariant()}) checked against {configFile}", width));
                foreach (var c in report.Checks)
                {
                    var status = StatusName(c.Status);
                    var text = TextWrap.Paragraph($"  {status,-11} {c.Subject}: {c.Detail}", width, new string(' ', 14));
                    // colour goes on after wrapping: escape codes take no columns
                    if (Terminal.Colour(output)) text = $"  \u001b[{(c.Status == CheckStatus.Ok ? "32" : c.Status == CheckStatus.Failed ? "31" : "33")}m{status}\u001b[0m" + text[(2 + status.Length)..];
                    output.WriteLine(text);
                    if (c.Fix is { } fix) output.WriteLine(TextWrap.Paragraph($"  {"",-11} fix: {fix}", width, new string(' ', 19)));
                }
                output.WriteLine($"{report.Count(CheckStatus.Ok)} ok, {report.Count(CheckStatus.Failed)} failed, {report.Count(CheckStatus.NotChecked)} not checked");
                break;
        }
        return report.AllOk ? ExitCodes.Ok : ExitCodes.RigFault;
    }

    // The golden check judges one slot at a time: --slots takes one number here, or none for every unhealthy slot.
    private static Task<int> GoldenAsync(ParseResult parse, FileInfo? configOption, string device, string? slotSpec, OutputFormat format, CancellationToken ct)
    {
        var err = parse.InvocationConfiguration.Error;
        int? slot = null;
        if (slotSpec is not null)
        {
            if (!int.TryParse(slotSpec.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) || n < 1)
            {
                err.WriteLine($"hilrig: doctor --golden: --slots {slotSpec}: the golden check takes one slot; valid: one slot number, e.g. --slots 3");
                return Task.FromResult(ExitCodes.BadInput);
            }
            slot = n;
        }
        if (format == OutputFormat.Csv)
        {
            err.WriteLine("hilrig: doctor --golden: --format csv: valid: table or json");
            return Task.FromResult(ExitCodes.BadInput);
        }
        return GoldenCheck.RunAsync(RigClaim.WholeRig(parse), configOption!, device, slot, format == OutputFormat.Json, parse.InvocationConfiguration.Output, err, ct);
    }

    private sealed record CheckRow(string Area, string Subject, string Status, string Detail, string? Fix);

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
            using var db = new SqliteConnection(HilRig.Core.Results.ResultsStore.SqliteConnectionString(path, readOnly: true));
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
