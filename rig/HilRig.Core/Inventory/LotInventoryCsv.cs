using System.Globalization;
using System.Text;

namespace HilRig.Core.Inventory;

/// <summary>
/// The lot inventory file: one row per device, header <c>device_id,lot,date_code,supplier</c>
/// (columns in any order, names exact, no others). Fields may be quoted ("Acme, Inc."), with ""
/// for a quote inside. A file is accepted whole or not at all: every problem is collected and
/// reported together.
/// </summary>
public static class LotInventoryCsv
{
    public const string DeviceIdColumn = "device_id";
    public const string LotColumn = "lot";
    public const string DateCodeColumn = "date_code";
    public const string SupplierColumn = "supplier";

    /// <summary>The columns, in the order <see cref="Write"/> puts them.</summary>
    public static IReadOnlyList<string> Columns { get; } = [DeviceIdColumn, LotColumn, DateCodeColumn, SupplierColumn];

    private const int DeviceIdLength = 24;
    private const int KnownLotsShown = 10;

    /// <summary>Reads and validates an inventory file. Throws <see cref="InventoryFormatException"/> listing every problem.</summary>
    /// <param name="knownLots">When given, every lot must be one of these (the lots the quality team has registered).</param>
    public static IReadOnlyList<DeviceLot> Load(string path, IReadOnlySet<string>? knownLots = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return Parse(reader, Path.GetFileName(path), knownLots);
    }

    /// <summary>Parses and validates inventory text; <paramref name="fileName"/> prefixes every error.</summary>
    public static IReadOnlyList<DeviceLot> Parse(TextReader reader, string fileName, IReadOnlySet<string>? knownLots = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(fileName);
        var errors = new List<string>();
        var rows = CsvRows.Read(reader.ReadToEnd(), fileName, errors);
        if (rows.Count == 0)
        {
            errors.Add($"{fileName}:1: header: '': file is empty; expected the header {string.Join(',', Columns)}");
            throw new InventoryFormatException(errors);
        }

        var header = rows[0];
        var columnIndex = ReadHeader(header, fileName, errors);
        if (columnIndex is null)
        {
            // Without a usable header no row can be read field by field.
            throw new InventoryFormatException(errors);
        }

        var records = new List<DeviceLot>(rows.Count - 1);
        var firstLineOfDevice = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var row in rows.Skip(1))
        {
            var where = $"{fileName}:{row.Line.ToString(CultureInfo.InvariantCulture)}";
            if (row.Fields.Count != header.Fields.Count)
            {
                errors.Add($"{where}: row: '{Shorten(string.Join(',', row.Fields))}': has {row.Fields.Count} fields; the header has {header.Fields.Count} ({string.Join(',', header.Fields)})");
                continue;
            }

            var rowErrors = errors.Count;
            var deviceId = row.Fields[columnIndex[DeviceIdColumn]];
            var lot = row.Fields[columnIndex[LotColumn]];
            var dateCode = row.Fields[columnIndex[DateCodeColumn]];
            var supplier = row.Fields[columnIndex[SupplierColumn]];

            if (!IsDeviceId(deviceId))
            {
                errors.Add($"{where}: {DeviceIdColumn}: '{Shorten(deviceId)}': expected {DeviceIdLength} hex digits (0-9, a-f), e.g. 53ff6c065067544854291187");
            }
            else
            {
                deviceId = deviceId.ToLowerInvariant();
                if (firstLineOfDevice.TryGetValue(deviceId, out var firstLine))
                {
                    errors.Add($"{where}: {DeviceIdColumn}: '{deviceId}': duplicate of line {firstLine.ToString(CultureInfo.InvariantCulture)}; each device appears once");
                }
                else
                {
                    firstLineOfDevice[deviceId] = row.Line;
                }
            }

            if (lot.Length == 0)
            {
                errors.Add($"{where}: {LotColumn}: '': must not be empty; give the chip lot printed on the reel");
            }
            else if (knownLots is not null && !knownLots.Contains(lot))
            {
                var known = knownLots.Order(StringComparer.Ordinal).Take(KnownLotsShown).ToList();
                var more = knownLots.Count > KnownLotsShown ? ", ..." : string.Empty;
                errors.Add($"{where}: {LotColumn}: '{Shorten(lot)}': unknown lot; known lots: {(known.Count == 0 ? "(none)" : string.Join(", ", known) + more)}");
            }

            if (dateCode.Length != 0 && !IsDateCode(dateCode))
            {
                errors.Add($"{where}: {DateCodeColumn}: '{Shorten(dateCode)}': expected YYWW with week 01-53 (e.g. 1402) or empty");
            }

            if (errors.Count == rowErrors)
            {
                records.Add(new DeviceLot(deviceId, lot, NullIfEmpty(dateCode), NullIfEmpty(supplier)));
            }
        }

        if (errors.Count > 0)
        {
            throw new InventoryFormatException(errors);
        }

        return records;
    }

    /// <summary>Writes the header and one row per device; fields with commas, quotes or line breaks are quoted.</summary>
    public static void Write(TextWriter writer, IEnumerable<DeviceLot> records)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(records);
        writer.Write(string.Join(',', Columns));
        writer.Write('\n');
        foreach (var r in records)
        {
            if (!IsDeviceId(r.DeviceId))
            {
                throw new ArgumentException($"device_id '{r.DeviceId}' is not {DeviceIdLength} hex digits", nameof(records));
            }

            if (string.IsNullOrWhiteSpace(r.Lot))
            {
                throw new ArgumentException($"device {r.DeviceId}: lot is empty; every device needs a chip lot", nameof(records));
            }

            if (!string.IsNullOrEmpty(r.DateCode) && !IsDateCode(r.DateCode))
            {
                throw new ArgumentException($"device {r.DeviceId}: date_code '{r.DateCode}' is not YYWW with week 01-53", nameof(records));
            }

            writer.Write(r.DeviceId.ToLowerInvariant());
            writer.Write(',');
            writer.Write(Quote(r.Lot));
            writer.Write(',');
            writer.Write(Quote(r.DateCode ?? string.Empty));
            writer.Write(',');
            writer.Write(Quote(r.Supplier ?? string.Empty));
            writer.Write('\n');
        }
    }

    /// <summary>Writes the inventory to a file (UTF-8, no byte-order mark).</summary>
    public static void Save(string path, IEnumerable<DeviceLot> records)
    {
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        Write(writer, records);
    }

    /// <summary>True for exactly 24 hex digits, either case.</summary>
    public static bool IsDeviceId(string value) =>
        value.Length == DeviceIdLength && value.All(char.IsAsciiHexDigit);

    /// <summary>True for YYWW: four digits, week 01-53.</summary>
    public static bool IsDateCode(string value)
    {
        if (value.Length != 4 || !value.All(char.IsAsciiDigit))
        {
            return false;
        }

        var week = ((value[2] - '0') * 10) + (value[3] - '0');
        return week is >= 1 and <= 53;
    }

    private static Dictionary<string, int>? ReadHeader(CsvRow header, string fileName, List<string> errors)
    {
        var where = $"{fileName}:{header.Line.ToString(CultureInfo.InvariantCulture)}";
        var shown = Shorten(string.Join(',', header.Fields));
        var expected = $"expected the columns {string.Join(',', Columns)} in any order";
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var ok = true;
        for (var i = 0; i < header.Fields.Count; i++)
        {
            var name = header.Fields[i];
            if (!Columns.Contains(name))
            {
                errors.Add($"{where}: header: '{Shorten(name)}': unknown column; {expected}");
                ok = false;
            }
            else if (!index.TryAdd(name, i))
            {
                errors.Add($"{where}: header: '{name}': column appears twice; {expected}");
                ok = false;
            }
        }

        foreach (var column in Columns)
        {
            if (!index.ContainsKey(column))
            {
                errors.Add($"{where}: header: '{shown}': missing column '{column}'; {expected}");
                ok = false;
            }
        }

        return ok ? index : null;
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

    private static string Shorten(string value) => value.Length <= 60 ? value : string.Concat(value.AsSpan(0, 57), "...");

    private static string Quote(string value)
    {
        var needsQuotes = value.AsSpan().IndexOfAny(",\"\r\n") >= 0
            || (value.Length > 0 && (char.IsWhiteSpace(value[0]) || char.IsWhiteSpace(value[^1])));
        return needsQuotes ? $"\"{value.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : value;
    }
}
