using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Npgsql;

namespace HilRig.Cli.Bench;

/// <summary>
/// A throw-away PostgreSQL server: <c>initdb</c> in a temporary folder, <c>pg_ctl</c> listening on 127.0.0.1 at a free
/// port with its Unix socket in that folder, stopped and removed by <see cref="Dispose"/>. The superuser logs in with a
/// generated password over TCP (scram-sha-256), so password checks are real. Used by the tests and by
/// <c>hilrig bench sync</c> when no server is given.
/// </summary>
internal sealed class LocalPostgres : IDisposable
{
    private readonly string _bin;
    private readonly string _folder;
    private bool _stopped;

    private LocalPostgres(string bin, string folder, int port, string password)
    {
        _bin = bin;
        _folder = folder;
        Port = port;
        Password = password;
    }

    public int Port { get; }

    public string Password { get; }

    public const string Superuser = "postgres";

    /// <summary>The folder of initdb, pg_ctl and postgres, or null when PostgreSQL is not installed.</summary>
    public static string? FindBinaries()
    {
        const string root = "/usr/lib/postgresql";
        if (Directory.Exists(root))
        {
            var newest = Directory.GetDirectories(root)
                .Select(d => (Dir: d, Version: int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
                .Where(d => File.Exists(Path.Combine(d.Dir, "bin", "initdb")))
                .OrderByDescending(d => d.Version)
                .FirstOrDefault();
            if (newest.Dir is not null)
                return Path.Combine(newest.Dir, "bin");
        }
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            if (File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl")))
                return dir;
        return null;
    }

    /// <param name="durable">False for tests: no fsync, no synchronous commit (a crash loses the server anyway).</param>
    /// <exception cref="InvalidOperationException">PostgreSQL is missing or did not start; the message says why.</exception>
    public static LocalPostgres Start(bool durable = false)
    {
        var bin = FindBinaries() ?? throw new InvalidOperationException("PostgreSQL is not installed (initdb, pg_ctl); run scripts/setup.sh or apt-get install postgresql");
        var folder = Directory.CreateTempSubdirectory("hilrig-pg-").FullName;
        try
        {
            var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
            var pwfile = Path.Combine(folder, "pwfile");
            File.WriteAllText(pwfile, password + "\n");
            // initdb refuses to run as root: the cluster belongs to the postgres OS user then.
            if (Environment.UserName == "root")
                Run("chown", ["-R", "postgres:postgres", folder]);
            RunAsOwner(Path.Combine(bin, "initdb"),
                ["-D", Path.Combine(folder, "data"), "-U", Superuser, "--pwfile", pwfile, "--auth-local=trust", "--auth-host=scram-sha-256",
                 "-E", "UTF8", "--locale=C", "--no-sync"]);
            File.Delete(pwfile);
            Exception? last = null;
            for (var attempt = 0; attempt < 3; attempt++)
            {
                var port = FreePort();
                var options = $"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c max_connections=200 -c shared_buffers=256MB"
                    + (durable ? "" : " -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
                try
                {
                    RunAsOwner(Path.Combine(bin, "pg_ctl"), ["-D", Path.Combine(folder, "data"), "-o", options, "-l", Path.Combine(folder, "server.log"), "-w", "-t", "60", "start"]);
                    return new LocalPostgres(bin, folder, port, password);
                }
                catch (InvalidOperationException e)
                {
                    last = e; // the port was taken between the probe and the bind: try another
                }
            }
            throw last!;
        }
        catch
        {
            TryDelete(folder);
            throw;
        }
    }

    /// <summary>Connection string of <paramref name="database"/> as the superuser.</summary>
    public string ConnectionString(string database = "postgres") => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1", Port = Port, Username = Superuser, Password = Password, Database = database,
    }.ToString();

    /// <summary>Creates a fresh database (C collation, so text sorts as on SQLite) and returns its connection string.</summary>
    public string CreateDatabase(string name)
    {
        using (var db = new NpgsqlConnection(ConnectionString()))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = $"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'";
            cmd.ExecuteNonQuery();
        }
        return ConnectionString(name);
    }

    /// <summary>
    /// CPU seconds (user + system) of the server so far: the postmaster, its live processes, and the backends that ended
    /// (reaped by the postmaster, so in its children's times). Linux /proc only; null elsewhere.
    /// </summary>
    public double? CpuSeconds()
    {
        try
        {
            var pid = int.Parse(File.ReadLines(Path.Combine(_folder, "data", "postmaster.pid")).First(), CultureInfo.InvariantCulture);
            var ticks = Ticks(pid, withChildren: true);
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (int.TryParse(Path.GetFileName(dir), out var child) && child != pid && Stat(child) is { } stat && stat.Parent == pid)
                    ticks += stat.Ticks;
            }
            return ticks / 100.0; // USER_HZ
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or InvalidOperationException)
        {
            return null;
        }
    }

    private static long Ticks(int pid, bool withChildren) =>
        Stat(pid) is { } s ? s.Ticks + (withChildren ? s.ChildTicks : 0) : 0;

    /// <summary>Fields of /proc/PID/stat after the command name: ppid (4th), utime, stime, cutime, cstime (14th-17th).</summary>
    private static (int Parent, long Ticks, long ChildTicks)? Stat(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return null; // gone between the listing and the read
        }
        var f = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        long L(int i) => long.Parse(f[i], CultureInfo.InvariantCulture);
        return (int.Parse(f[1], CultureInfo.InvariantCulture), L(11) + L(12), L(13) + L(14));
    }

    /// <summary>Stops the server at once (nothing to keep) and removes its folder.</summary>
    public void Dispose()
    {
        if (_stopped)
            return;
        _stopped = true;
        NpgsqlConnection.ClearAllPools();
        try
        {
            RunAsOwner(Path.Combine(_bin, "pg_ctl"), ["-D", Path.Combine(_folder, "data"), "-m", "immediate", "-w", "stop"]);
        }
        catch (InvalidOperationException)
        {
            // already gone: removing the folder is all that is left
        }
        TryDelete(_folder);
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static void RunAsOwner(string program, string[] args)
    {
        if (Environment.UserName == "root")
            Run("runuser", ["-u", "postgres", "--", program, .. args]);
        else
            Run(program, args);
    }

    private static void Run(string program, string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
            info.ArgumentList.Add(a);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {program}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{Path.GetFileName(program)} {string.Join(' ', args)} exited {process.ExitCode}: {stderr.Result.Trim()} {stdout.Result.Trim()}".Trim());
    }

    private static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
