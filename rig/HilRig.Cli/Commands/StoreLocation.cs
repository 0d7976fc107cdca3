using System.CommandLine;
using HilRig.Core.Config;

namespace HilRig.Cli.Commands;

/// <summary>Where the results store is: --store FILE, else results.path of the rig config.</summary>
internal static class StoreLocation
{
    public static Option<FileInfo?> Option() => new("--store")
    {
        Description = "results store file (default: results.path from the rig config)",
    };

    /// <param name="mustExist">Readers refuse a missing store rather than leave an empty one behind for a mistyped path.</param>
    public static bool TryResolve(FileInfo configFile, FileInfo? storeFile, bool mustExist, TextWriter error, out string path)
    {
        path = "";
        if (storeFile is not null)
        {
            path = storeFile.FullName;
        }
        else
        {
            if (!ConfigLoading.TryLoad(configFile, error, out var config))
                return false;
            if (config.Results.Kind != ResultsStoreKind.Sqlite)
            {
                error.WriteLine($"hilrig: {configFile}: results.kind: this command reads sqlite stores only for now; pass --store FILE");
                return false;
            }
            path = config.ResolveStorePath();
        }
        if (mustExist && !File.Exists(path))
        {
            error.WriteLine($"hilrig: no results store at {path}; run `hilrig screen` or `hilrig sim fleet` first, or pass --store FILE");
            return false;
        }
        return true;
    }
}
