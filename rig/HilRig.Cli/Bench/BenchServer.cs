using System.Globalization;
using Dapper;
using HilRig.Core.Results;
using Npgsql;

namespace HilRig.Cli.Bench;

/// <summary>
/// The PostgreSQL a bench works on: the server given (`--connection`, as a superuser), else a throw-away
/// <see cref="LocalPostgres"/>; each bench database is made fresh on it. Dispose drops the databases and the roles the
/// bench registered on a given server (a throw-away server goes whole).
/// </summary>
internal sealed class BenchServer : IDisposable
{
    private readonly LocalPostgres? _local;
    private readonly string _server;
    private readonly List<string> _databases = [];
    private readonly List<string> _roles = [];
    private bool _disposed;

    private BenchServer(LocalPostgres? local, string server, bool durable)
    {
        _local = local;
        _server = server;
        Description = local is null
            ? $"server: {ResultsStore.PostgresDescription(new NpgsqlConnectionStringBuilder(server))}"
            : $"server: throw-away PostgreSQL on 127.0.0.1:{local.Port}{(durable ? " (fsync on)" : " (fsync off)")}";
    }

    /// <summary>The "server: ..." line every bench prints first.</summary>
    public string Description { get; }

    /// <param name="durable">fsync and synchronous commit on (ingest figures); off where only reads are timed.</param>
    /// <exception cref="InvalidOperationException">No PostgreSQL to start (the message says how to install it).</exception>
    public static BenchServer Start(string? connection, bool durable)
    {
        if (connection is not null)
            return new BenchServer(null, connection, durable);
        var local = LocalPostgres.Start(durable);
        return new BenchServer(local, local.ConnectionString(), durable);
    }

    /// <summary>
    /// A fresh database (C collation, as the fleet wants) as the superuser, without a command timeout; or, given
    /// <paramref name="copyOf"/>, a copy of that database (nothing may be connected to it), dropped after as well.
    /// </summary>
    public string CreateDatabase(string prefix = "hilrig_bench_", string? copyOf = null)
    {
        var name = (prefix + Guid.NewGuid().ToString("N"))[..28];
        Execute(_server, copyOf is null
            ? $"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'"
            : $"CREATE DATABASE {name} TEMPLATE {copyOf}");
        _databases.Add(name);
        return new NpgsqlConnectionStringBuilder(_server) { Database = name, CommandTimeout = 0 }.ConnectionString;
    }

    /// <summary>Leave the databases and roles on a given server (to look at their plans after); the connection is printed.</summary>
    public bool Keep { get; set; }

    /// <summary>A role the bench created (a rig's), dropped after on a given server.</summary>
    public void Owns(string role) => _roles.Add(role);

    /// <summary>CPU seconds the throw-away server has used so far (all its processes); null on a given server.</summary>
    public double? CpuSeconds() => _local?.CpuSeconds();

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        NpgsqlConnection.ClearAllPools();
        try
        {
            if (_local is null && !Keep)
            {
                foreach (var name in _databases)
                    Execute(_server, $"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                foreach (var role in _roles)
                    Execute(_server, string.Create(CultureInfo.InvariantCulture, $"DROP ROLE IF EXISTS {role}"));
            }
        }
        finally
        {
            _local?.Dispose();
        }
    }

    private static void Execute(string connection, string sql)
    {
        using var db = new NpgsqlConnection(connection);
        db.Open();
        db.Execute(sql, commandTimeout: 0); // a copy of a 10 M fleet takes minutes
    }
}
