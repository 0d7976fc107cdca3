using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using HilRig.Core.Procedures;
using HilRig.Reports.Queries;
using HilRig.Reports.Statistics;

namespace HilRig.Reports.Html;

/// <summary>How a column's values are written: CSV keeps full precision, pages and terminals round.</summary>
public enum CellKind
{
    Text,
    Count,

    /// <summary>A proportion 0-1; shown as a percentage.</summary>
    Rate,

    /// <summary>Any other number, e.g. failures per 1,000 cycles or a p-value.</summary>
    Number,
    Flag,
}

public sealed record Column(string Name, CellKind Kind, string Header);

/// <summary>One table of a report, the single source of its CSV, terminal table and HTML table.</summary>
public sealed record ReportTable(string Title, IReadOnlyList<Column> Columns, IReadOnlyList<object?[]> Rows)
{
    public string ToCsv()
    {
        var sb = new StringBuilder();
        sb.Append(string.Join(',', Columns.Select(c => c.Name))).Append('\n');
        foreach (var row in Rows)
            sb.Append(string.Join(',', row.Select((v, i) => CsvField(Raw(Columns[i].Kind, v), Columns[i].Kind == CellKind.Text)))).Append('\n');
        return sb.ToString();
    }

    /// <summary>The value as CSV and JSON consumers want it: invariant, full precision, empty for none.</summary>
    public static string Raw(CellKind kind, object? value) => value switch
    {
        null => "",
        double d when double.IsNaN(d) => "",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>The value as a person reads it: rates as percentages, numbers rounded.</summary>
    public static string Display(CellKind kind, object? value) => (kind, value) switch
    {
        (_, null) => "",
        (_, double d) when double.IsNaN(d) => "-",
        (CellKind.Rate, double d) => (d * 100).ToString(d is > 0 and < 0.001 ? "0.000" : "0.00", CultureInfo.InvariantCulture) + " %",
        (CellKind.Number, double d) => d.ToString(Math.Abs(d) < 0.01 && d != 0 ? "0.0000" : "0.00", CultureInfo.InvariantCulture),
        (CellKind.Flag, bool b) => b ? "FLAGGED" : "",
        (_, bool b) => b ? "yes" : "no",
        _ => Raw(kind, value),
    };

    private static string CsvField(string value, bool text)
    {
        if (text) value = DefuseFormula(value);
        return value.AsSpan().IndexOfAny(",\"\r\n") < 0 ? value : "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }

    /// <summary>
    /// A text cell a spreadsheet would run as a formula (= + - @, or a tab or CR before one) gets a leading quote, as
    /// OWASP advises for CSV exports: a lot named =HYPERLINK(...) in an inventory stays text when the CSV is opened.
    /// </summary>
    public static string DefuseFormula(string value) =>
        value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r' ? "'" + value : value;
}

/// <summary>The tables of each report, and their JSON forms.</summary>
public static class ReportTables
{
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    private static Column C(string name, CellKind kind, string header) => new(name, kind, header);

    /// <summary>A camelCase field name as a column header in words: "failureMode" is "Failure mode".</summary>
    public static string Words(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var sb = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (i > 0 && char.IsUpper(c) && !char.IsUpper(name[i - 1])) sb.Append(' ');
            sb.Append(i == 0 ? char.ToUpperInvariant(c) : char.IsUpper(c) && (i + 1 >= name.Length || !char.IsUpper(name[i + 1])) ? char.ToLowerInvariant(c) : c);
        }
        return sb.ToString();
    }

    /// <summary>One row per lot: counts, Wilson (display) and Clopper-Pearson (claims) intervals, rule of three, p-chart.</summary>
    public static ReportTable Lots(IEnumerable<LotFailureRate> lots) => new(
        "Failure rate by chip lot",
        [
            C("lot", CellKind.Text, "Lot"), C("units", CellKind.Count, "Units"), C("failed", CellKind.Count, "Failed"),
            C("failureRate", CellKind.Rate, "Failure rate"), C("lower", CellKind.Rate, "Wilson 95 % low"), C("upper", CellKind.Rate, "Wilson 95 % high"),
            C("clopperPearsonLower", CellKind.Rate, "Exact low"), C("clopperPearsonUpper", CellKind.Rate, "Exact high"),
            C("ruleOfThreeUpper", CellKind.Rate, "Rule of 3"), C("pChartUpperLimit", CellKind.Rate, "p-chart UCL"), C("flagged", CellKind.Flag, "Flag"),
            C("additionalUnitsNeeded", CellKind.Count, "Units to target"),
        ],
        [.. lots.Select(l => new object?[]
        {
            l.Lot, l.Units, l.Failed, l.Wilson.Point, l.Wilson.Lower, l.Wilson.Upper, l.ClopperPearson.Lower, l.ClopperPearson.Upper,
            l.RuleOfThreeUpper, l.PChart.UpperLimit, l.Flagged, l.AdditionalUnitsNeeded,
        })]);

    /// <summary>report lots --format json: one object per lot with the fields named in <see cref="Lots(IEnumerable{LotFailureRate})"/>, plus p-chart details.</summary>
    public static string LotsJson(IEnumerable<LotFailureRate> lots) => JsonSerializer.Serialize(
        lots.Select(l => new
        {
            lot = l.Lot,
            units = l.Units,
            failed = l.Failed,
            failureRate = l.Wilson.Point,
            lower = l.Wilson.Lower,
            upper = l.Wilson.Upper,
            clopperPearson = new { lower = l.ClopperPearson.Lower, upper = l.ClopperPearson.Upper },
            ruleOfThreeUpper = l.RuleOfThreeUpper,
            pChart = new { centre = l.PChart.Centre, lowerLimit = l.PChart.LowerLimit, upperLimit = l.PChart.UpperLimit, signal = l.PChart.Signal },
            flagged = l.Flagged,
            additionalUnitsNeeded = l.AdditionalUnitsNeeded,
        }), Json);

    public static ReportTable Categories(string title, string what, IEnumerable<CategoryCount> counts) => new(
        title,
        [C(what, CellKind.Text, Words(what)), C("failures", CellKind.Count, "Failed attempts"), C("devices", CellKind.Count, "Devices")],
        [.. counts.Select(c => new object?[] { c.Name, c.Failures, c.Devices })]);

    /// <summary>report modes: lot, failure mode, failed attempts, devices (and the same per signature kind).</summary>
    public static ReportTable Modes(IEnumerable<LotFailureBreakdown> lots) => new(
        "Failure modes by lot",
        [C("lot", CellKind.Text, "Lot"), C("failureMode", CellKind.Text, "Failure mode"), C("defectKind", CellKind.Text, "Defect kind"), C("failures", CellKind.Count, "Failed attempts"), C("devices", CellKind.Count, "Devices")],
        [.. lots.SelectMany(l =>
            l.Signatures
                .GroupBy(s => DefectKinds.Of(null, s.Name), StringComparer.Ordinal)
                .Select(g => new object?[] { l.Lot, l.FailureModes.Count == 1 ? l.FailureModes[0].Name : string.Join(" / ", l.FailureModes.Select(m => m.Name)), g.Key, g.Sum(s => s.Failures), g.Sum(s => s.Devices) })
                .OrderByDescending(r => (int)r[3]!))]);

    public static ReportTable LotDevices(LotDetail lot) => new(
        $"Devices (failed first; {lot.DevicesShown.Count} of {lot.DevicesInLot})",
        [C("deviceId", CellKind.Text, "Device"), C("failed", CellKind.Flag, "Failed"), C("judged", CellKind.Text, "Judged"), C("dateCode", CellKind.Text, "Date code"), C("supplier", CellKind.Text, "Supplier"), C("lastSignature", CellKind.Text, "Last signature")],
        [.. lot.DevicesShown.Select(d => new object?[] { d.DeviceId, d.Failed, d.Judged, d.DateCode, d.Supplier, d.LastSignature })]);

    public static ReportTable Slots(IEnumerable<SlotHealth> slots) => new(
        "Slot health",
        [C("slot", CellKind.Count, "Slot"), C("devices", CellKind.Count, "Devices"), C("failedDevices", CellKind.Count, "Failed or rig-fault devices"), C("rate", CellKind.Rate, "Rate"), C("upperLimit", CellKind.Rate, "p-chart UCL"), C("suspect", CellKind.Flag, "Suspect")],
        [.. slots.Select(s => new object?[] { s.Slot, s.Devices, s.FailedDevices, s.Rate, s.UpperLimit, s.Suspect })]);

    public static ReportTable Soak(SoakView soak) => new(
        "Soak by bootloader build",
        [C("bootloader", CellKind.Text, "Bootloader"), C("cycles", CellKind.Count, "Cycles"), C("failures", CellKind.Count, "Failures"), C("perThousandCycles", CellKind.Number, "Per 1,000 cycles"), C("lower", CellKind.Number, "95 % low"), C("upper", CellKind.Number, "95 % high")],
        [.. soak.Builds.Select(b => new object?[] { b.Bootloader, b.Cycles, b.Failures, b.PerThousandCycles.Point, b.PerThousandCycles.Lower, b.PerThousandCycles.Upper })]);

    public static ReportTable Device(DeviceView device) => new(
        $"Device {device.DeviceId} (lot {device.Lot})",
        [C("recordedAt", CellKind.Text, "Recorded"), C("run", CellKind.Text, "Run"), C("kind", CellKind.Text, "Kind"), C("test", CellKind.Text, "Test"), C("cycle", CellKind.Count, "Cycle"), C("attempt", CellKind.Count, "Attempt"), C("slot", CellKind.Count, "Slot"), C("verdict", CellKind.Text, "Verdict"), C("failureMode", CellKind.Text, "Failure mode"), C("deviceTimeMs", CellKind.Count, "Device time (ms)"), C("signature", CellKind.Text, "Signature"), C("bootloader", CellKind.Text, "Build")],
        // the full run id: time-ordered ids share their first digits, so a cut one names several runs
        [.. device.Attempts.Select(a => new object?[]
        {
            a.Row.RecordedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), a.RunId.ToString("D"), a.RunKind, a.Row.Test, a.Row.Cycle, a.Row.Attempt,
            a.Row.Slot, a.Row.Verdict.ToName(), a.Row.FailureMode, a.DeviceTimeMs, a.Row.Signature, a.Row.Bootloader,
        })]);
}
