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

    /// <summary>
    /// The SQLite store a command works on: --store FILE, else results.path of the rig config. A rig config whose
    /// results are kind: postgres is refused here with one line; readers that also take a fleet database use
    /// <see cref="TryResolveReader"/>.
    /// </summary>
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
            if (config.Results.Kind == ResultsStoreKind.Postgres)
            {
                // Writers on a rig write its SQLite file; `hilrig sync` forwards it to the fleet.
                error.WriteLine($"hilrig: {configFile}: results.kind: this command writes sqlite stores only (a rig forwards to the fleet with `hilrig sync`); pass --store FILE");
                return false;
            }
            path = config.ResolveStorePath();
        }
        return CheckSqlite(path, mustExist, error);
    }

    /// <summary>
    /// The store a reader (report, dashboard, runs) reads: --store FILE, else the rig config's results, a SQLite file
    /// or a kind: postgres database (a fleet). Nothing is opened yet; <see cref="StoreTarget.OpenQueries"/> does.
    /// </summary>
    public static bool TryResolveReader(FileInfo configFile, FileInfo? storeFile, TextWriter error, out StoreTarget store)
    {
        store = null!;
        if (storeFile is not null)
        {
            if (!CheckSqlite(storeFile.FullName, mustExist: true, error))
                return false;
            store = StoreTarget.Sqlite(storeFile.FullName);
            return true;
        }
        if (!ConfigLoading.TryLoad(configFile, error, out var config))
            return false;
        if (config.Results.Kind == ResultsStoreKind.Postgres)
        {
            try
            {
                store = StoreTarget.Postgres(config.Results.ConnectionString!);
                return true;
            }
            catch (ArgumentException e)
            {
                error.WriteLine($"hilrig: {config.SourcePath}: results.connectionString: not a PostgreSQL connection string ({e.Message}); valid: e.g. Host=127.0.0.1;Database=fleet;Username=...;Password=...");
                return false;
            }
        }
        var path = config.ResolveStorePath();
        if (!CheckSqlite(path, mustExist: true, error))
            return false;
        store = StoreTarget.Sqlite(path);
        return true;
    }

    private static bool CheckSqlite(string path, bool mustExist, TextWriter error)
    {
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

    /// <summary>Why an existing file cannot be a SQLite database, or null when it may be one (or is empty or absent).</summary>
    public static string? NotSqlite(string path) => ResultsStore.IsSqliteFile(path);

    /// <summary>The report queries over a SQLite store file.</summary>
    /// <exception cref="ResultsStoreException">No store there, not a store, or newer than this code.</exception>
    public static ResultsQueries Queries(string path) => ResultsQueries.OpenSqlite(path);
}

/// <summary>A results store a reader reads: a SQLite file, or a PostgreSQL database (a fleet); shown without a password.</summary>
internal sealed class StoreTarget
{
    private readonly string? _connectionString;

    private StoreTarget(string description, string? sqlitePath, string? connectionString)
    {
        Description = description;
        SqlitePath = sqlitePath;
        _connectionString = connectionString;
    }

    /// <summary>The file, or postgres://user@host:port/database.</summary>
    public string Description { get; }

    public string? SqlitePath { get; }

    public static StoreTarget Sqlite(string path) => new(path, path, null);

    /// <exception cref="ArgumentException">Not a connection string Npgsql understands.</exception>
    public static StoreTarget Postgres(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        return new StoreTarget(ResultsStore.PostgresDescription(builder), null, builder.ConnectionString);
    }

    /// <summary>Opens the store for reading (a PostgreSQL store is brought to this code's schema first).</summary>
    /// <exception cref="ResultsStoreException">No store there, unreachable, refused, or newer than this code.</exception>
    public ResultsQueries OpenQueries()
    {
        if (_connectionString is null)
            return ResultsQueries.OpenSqlite(SqlitePath!);
        ResultsStore.OpenPostgres(_connectionString);
        var connectionString = _connectionString;
        return ResultsQueries.Over(() => new NpgsqlConnection(connectionString));
    }

    public override string ToString() => Description;
}
