using HilRig.Cli.Bench;

namespace HilRig.Tests.Support;

/// <summary>
/// One real PostgreSQL server for the whole test run, started on first use and removed when the run ends; each
/// test class takes a database of its own. Not installed or not starting: the test is skipped by hand and FAILS
/// under CI=true.
/// </summary>
public static class TestPostgres
{
    private static readonly Lock Gate = new();
    private static LocalPostgres? _server;
    private static string? _failure;
    private static int _databases;

    internal static LocalPostgres Server
    {
        get
        {
            lock (Gate)
            {
                if (_server is null && _failure is null)
                {
                    try
                    {
                        _server = LocalPostgres.Start();
                    }
                    catch (InvalidOperationException e)
                    {
                        _failure = e.Message;
                    }
                }
                if (_server is not null)
                    return _server;
            }
            var reason = $"PostgreSQL could not be started: {_failure}";
            if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
                Assert.Fail($"{reason}; CI=true requires a real PostgreSQL");
            Assert.Ignore(reason);
            return null!;
        }
    }

    /// <summary>A fresh database on the shared server; its superuser connection string.</summary>
    public static string NewDatabase(string purpose)
    {
        var server = Server;
        var name = $"{purpose.ToLowerInvariant()}_{Interlocked.Increment(ref _databases)}_{Guid.NewGuid():N}"[..40];
        return server.CreateDatabase(name);
    }

    internal static void Stop()
    {
        lock (Gate)
        {
            _server?.Dispose();
            _server = null;
        }
    }
}
