using System.CommandLine;
using System.Globalization;
using HilRig.Core.Inventory;
using HilRig.Core.Results;

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
            Task.FromResult(Check(pr.GetValue(file)!, pr.GetValue(knownLots), Pick(pr.InvocationConfiguration.Output, output), Pick(pr.InvocationConfiguration.Error, error))));

        var lots = new Command("lots", "chip-lot inventory: which external-flash lot is on which device");
        lots.Subcommands.Add(check);
        lots.Subcommands.Add(Import());
        return lots;
    }

    private static Command Import()
    {
        var file = new Argument<FileInfo>("file") { Description = "inventory CSV with header device_id,lot,date_code,supplier" };
        var knownLots = new Option<FileInfo?>("--known-lots") { Description = "text file with one registered chip lot per line; every lot in the inventory must be one of them (default: any lot)" };
        var config = CommonOptions.Config();
        var store = StoreLocation.Option();
        var import = new Command("import", "validate a lot inventory CSV and record every device's chip lot, date code and supplier in the results store, all or nothing");
        import.Arguments.Add(file);
        import.Options.Add(knownLots);
        import.Options.Add(config);
        import.Options.Add(store);
        import.SetAction((ParseResult pr, CancellationToken ct) =>
        {
            var output = pr.InvocationConfiguration.Output;
            var error = pr.InvocationConfiguration.Error;
            var inventory = pr.GetValue(file)!;
            if (!TryLoad(inventory, pr.GetValue(knownLots), error, out var records))
                return Task.FromResult(ExitCodes.BadInput);
            if (!StoreLocation.TryResolve(pr.GetValue(config)!, pr.GetValue(store), mustExist: false, error, out var path))
                return Task.FromResult(ExitCodes.BadInput);
            try
            {
                var added = ResultsStore.Open(path).ImportDevices(records, TimeProvider.System.GetUtcNow());
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{inventory.Name}: imported {records.Count} devices in {records.Select(r => r.Lot).Distinct(StringComparer.Ordinal).Count()} lots ({added} new, {records.Count - added} updated) into {path}"));
                return Task.FromResult(ExitCodes.Ok);
            }
            catch (ResultsStoreException e)
            {
                error.WriteLine($"hilrig: {e.Message}; nothing imported");
                return Task.FromResult(ExitCodes.BadInput);
            }
        });
        return import;
    }

    /// <summary>Reads and validates an inventory; every problem is one line naming file:line, field and value.</summary>
    /// <summary>The writers `hilrig` runs the command with (captured in-process), else the ones given at creation.</summary>
    private static TextWriter Pick(TextWriter invocation, TextWriter given) =>
        ReferenceEquals(Terminal.Unwrap(invocation), Console.Out) || ReferenceEquals(Terminal.Unwrap(invocation), Console.Error) ? given : invocation;

    private static bool TryLoad(FileInfo file, FileInfo? knownLotsFile, TextWriter error, out IReadOnlyList<DeviceLot> records)
    {
        records = [];
        if (!file.Exists)
        {
            error.WriteLine($"hilrig: {file.FullName}: no such file; give the path of an inventory CSV");
            return false;
        }
        HashSet<string>? known = null;
        if (knownLotsFile is not null)
        {
            if (!knownLotsFile.Exists)
            {
                error.WriteLine($"hilrig: --known-lots: {knownLotsFile.FullName}: no such file; give a text file with one lot per line");
                return false;
            }
            known = File.ReadLines(knownLotsFile.FullName).Select(l => l.Trim()).Where(l => l.Length > 0).ToHashSet(StringComparer.Ordinal);
        }
        try
        {
            records = LotInventoryCsv.Load(file.FullName, known);
            return true;
        }
        catch (InventoryFormatException ex)
        {
            foreach (var line in ex.Errors)
                error.WriteLine(line);
            error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{file.Name}: {ex.Errors.Count} {(ex.Errors.Count == 1 ? "problem" : "problems")}; nothing imported"));
            return false;
        }
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
