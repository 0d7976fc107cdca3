using System.Data;
using System.Data.Common;
using System.Globalization;
using HilRig.Core.Results;
using HilRig.Reports.Queries;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace HilRig.Tests.Support;

/// <summary>The engines a results store runs on; store and report tests run once per provider.</summary>
public enum StoreProvider
{
    Sqlite,
    Postgres,
}

/// <summary>
/// Fresh, empty stores for one test fixture: a SQLite file in a temporary folder, or a PostgreSQL schema of its own
/// in the fixture's database on the shared test server (a schema per test is much cheaper than a database).
/// </summary>
public sealed class StoreProviders : IDisposable
{
    private readonly StoreProvider _provider;
    private readonly string _purpose;
    private readonly List<string> _folders = [];
    private string? _database;
    private int _schemas;

    public StoreProviders(StoreProvider provider, string purpose)
    {
        _provider = provider;
        _purpose = purpose;
    }

    public TestStore Fresh()
    {
        if (_provider == StoreProvider.Sqlite)
        {
            var folder = Directory.CreateTempSubdirectory($"hilrig-{_purpose}-").FullName;
            _folders.Add(folder);
            return TestStore.Sqlite(Path.Combine(folder, "results", "hilrig.db"));
        }
        _database ??= TestPostgres.NewDatabase(_purpose);
        var schema = $"s{Interlocked.Increment(ref _schemas)}";
        using (var db = new NpgsqlConnection(_database))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = $"CREATE SCHEMA {schema}";
            cmd.ExecuteNonQuery();
        }
        return TestStore.Postgres(new NpgsqlConnectionStringBuilder(_database) { SearchPath = schema }.ToString());
    }

    public void Dispose()
    {
        foreach (var folder in _folders)
            if (Directory.Exists(folder))
                Directory.Delete(folder, recursive: true);
        _folders.Clear();
    }
}

/// <summary>One empty store of a test, on either engine, with raw SQL access for arranging and checking.</summary>
public sealed class TestStore
{
    private TestStore(StoreProvider provider, string location, Func<IDbConnection> connect)
    {
        Provider = provider;
        Location = location;
        Connect = connect;
    }

    public StoreProvider Provider { get; }

    /// <summary>The SQLite file, or the PostgreSQL connection string.</summary>
    public string Location { get; }

    public Func<IDbConnection> Connect { get; }

    public static TestStore Sqlite(string path) =>
        new(StoreProvider.Sqlite, path, () => new SqliteConnection($"Data Source={path};Pooling=False"));

    public static TestStore Postgres(string connectionString) =>
        new(StoreProvider.Postgres, connectionString, () => new NpgsqlConnection(connectionString));

    /// <summary>The store as a command opens it (creating and migrating it).</summary>
    public ResultsStore Open() =>
        Provider == StoreProvider.Sqlite ? ResultsStore.Open(Location) : ResultsStore.OpenPostgres(Location);

    /// <summary>The store brought only up to schema <paramref name="version"/>.</summary>
    internal ResultsStore OpenAt(int version)
    {
        if (Provider == StoreProvider.Sqlite)
            Directory.CreateDirectory(Path.GetDirectoryName(Location)!);
        return ResultsStore.OpenAt(Connect, Location, version);
    }

    /// <summary>How the store names itself in messages.</summary>
    public string Description =>
        Provider == StoreProvider.Sqlite ? Path.GetFullPath(Location) : ResultsStore.PostgresDescription(new NpgsqlConnectionStringBuilder(Location));

    public ResultsQueries Queries() =>
        Provider == StoreProvider.Sqlite ? ResultsQueries.OpenSqlite(Location) : ResultsQueries.Over(() => new NpgsqlConnection(Location));

    public bool Exists => Provider == StoreProvider.Postgres || File.Exists(Location);

    public long Scalar(string sql)
    {
        using var db = Connect();
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    public void Execute(params string[] statements)
    {
        if (Provider == StoreProvider.Sqlite)
            Directory.CreateDirectory(Path.GetDirectoryName(Location)!);
        using var db = Connect();
        db.Open();
        foreach (var sql in statements)
        {
            using var cmd = db.CreateCommand();
            cmd.CommandText = sql;
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>Rows of a query, each as its columns' values.</summary>
    public List<object?[]> Rows(string sql)
    {
        using var db = Connect();
        db.Open();
        using var cmd = (DbCommand)db.CreateCommand();
        cmd.CommandText = sql;
        using var reader = cmd.ExecuteReader();
        var rows = new List<object?[]>();
        while (reader.Read())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
                row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            rows.Add(row);
        }
        return rows;
    }
}
