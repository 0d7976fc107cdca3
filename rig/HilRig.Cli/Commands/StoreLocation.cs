using System.Collections.Concurrent;
using System.CommandLine;
using HilRig.Core.Config;
using HilRig.Core.Results;
using HilRig.Reports.Queries;
using Npgsql;

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
            if (config.Results.Kind == ResultsStoreKind.Postgres && !mustExist)
            {
                // Writers on a rig write its SQLite file; `hilrig sync` forwards it to the fleet.
                error.WriteLine($"hilrig: {configFile}: results.kind: this command writes sqlite stores only (a rig forwards to the fleet with `hilrig sync`); pass --store FILE");
                return false;
            }
            if (config.Results.Kind == ResultsStoreKind.Postgres)
            {
                // A fleet database: the "path" is its description without the password, which Queries maps back.
                var builder = new NpgsqlConnectionStringBuilder(config.Results.ConnectionString);
                path = ResultsStore.PostgresDescription(builder);
                PostgresStores[path] = builder.ConnectionString;
                return true;
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

    private static readonly ConcurrentDictionary<string, string> PostgresStores = new(StringComparer.Ordinal);

    /// <summary>The report queries over what <see cref="TryResolve"/> found: a SQLite file, or a kind: postgres store.</summary>
    /// <exception cref="ResultsStoreException">No store there, unreachable, or newer than this code.</exception>
    public static ResultsQueries Queries(string path)
    {
        if (!PostgresStores.TryGetValue(path, out var connectionString))
            return ResultsQueries.OpenSqlite(path);
        ResultsStore.OpenPostgres(connectionString);
        return ResultsQueries.Over(() => new NpgsqlConnection(connectionString));
    }
}
