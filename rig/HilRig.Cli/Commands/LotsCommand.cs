using System.CommandLine;
using System.Globalization;
using HilRig.Core.Inventory;

namespace HilRig.Cli.Commands;

/// <summary>
/// <c>hilrig lots check FILE.csv [--known-lots LOTS.txt]</c>: validates a lot inventory the way an
/// import will (all problems listed, line by line). The results store owns <c>lots import</c>.
/// </summary>
internal static class LotsCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var file = new Argument<FileInfo>("file") { Description = "inventory CSV with header device_id,lot,date_code,supplier" };
        var knownLots = new Option<FileInfo?>("--known-lots") { Description = "text file with one registered chip lot per line; every lot in the inventory must be one of them" };
        var check = new Command("check", "validate a lot inventory CSV without importing it");
        check.Arguments.Add(file);
        check.Options.Add(knownLots);
        check.SetAction((ParseResult pr, CancellationToken ct) =>
            Task.FromResult(Check(pr.GetValue(file)!, pr.GetValue(knownLots), output, error)));

        var lots = new Command("lots", "chip-lot inventory: which external-flash lot is on which device");
        lots.Subcommands.Add(check);
        return lots;
    }

    private static int Check(FileInfo file, FileInfo? knownLotsFile, TextWriter output, TextWriter error)
    {
        if (!file.Exists)
        {
            error.WriteLine($"hilrig: {file.FullName}: no such file; give the path of an inventory CSV");
            return ExitCodes.BadInput;
        }

        HashSet<string>? known = null;
        if (knownLotsFile is not null)
        {
            if (!knownLotsFile.Exists)
            {
                error.WriteLine($"hilrig: --known-lots: {knownLotsFile.FullName}: no such file; give a text file with one lot per line");
                return ExitCodes.BadInput;
            }

            known = File.ReadLines(knownLotsFile.FullName)
                .Select(l => l.Trim())
                .Where(l => l.Length > 0)
                .ToHashSet(StringComparer.Ordinal);
        }

        try
        {
            var records = LotInventoryCsv.Load(file.FullName, known);
            var perLot = records
                .GroupBy(r => r.Lot, StringComparer.Ordinal)
                .OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => string.Create(CultureInfo.InvariantCulture, $"{g.Key} {g.Count()}"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{file.Name}: {records.Count} devices in {records.Select(r => r.Lot).Distinct(StringComparer.Ordinal).Count()} lots ({string.Join(", ", perLot)}): valid"));
            return ExitCodes.Ok;
        }
        catch (InventoryFormatException ex)
        {
            foreach (var line in ex.Errors)
            {
                error.WriteLine(line);
            }

            error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{file.Name}: {ex.Errors.Count} {(ex.Errors.Count == 1 ? "problem" : "problems")}; nothing would be imported"));
            return ExitCodes.BadInput;
        }
    }
}
