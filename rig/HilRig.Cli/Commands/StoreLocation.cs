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
        if (Directory.Exists(path))
        {
            error.WriteLine($"hilrig: {path}: the results store is a folder; valid: a SQLite file (results.path or --store FILE)");
            return false;
        }
        if (mustExist && !File.Exists(path))
        {
            error.WriteLine($"hilrig: no results store at {path}; run `hilrig screen` or `hilrig sim fleet` first, or pass --store FILE");
            return false;
        }
        if (NotSqlite(path) is { } why)
        {
            error.WriteLine($"hilrig: {path}: not a results store: {why}; valid: a SQLite file written by hilrig");
            return false;
        }
        return true;
    }

    /// <summary>Why an existing file cannot be a SQLite database (its first 16 bytes), or null when it may be one (or is empty or absent).</summary>
    public static string? NotSqlite(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (file.Length == 0) return null;
            var header = new byte[16];
            var read = file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
            return read == 16 && header.AsSpan().SequenceEqual("SQLite format 3\0"u8) ? null : "it has no SQLite header";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"cannot read it: {ex.Message}";
        }
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
