using System.CommandLine;
using HilRig.Core.Config;
using HilRig.Core.Results;
using Npgsql;

namespace HilRig.Cli.Commands;

/// <summary><c>hilrig fleet init|add-rig</c>: the central PostgreSQL every rig syncs into, run by its administrator.</summary>
internal static class FleetCommand
{
    /// <summary>The administrator's connection when --connection is not given.</summary>
    public const string AdminVariable = "HILRIG_FLEET_ADMIN_CONNECTION";

    public static Command Create()
    {
        var fleet = new Command("fleet", "The central PostgreSQL of many rigs: create or migrate its schema, register rigs");
        fleet.Subcommands.Add(Init());
        fleet.Subcommands.Add(AddRig());
        return fleet;
    }

    private static Option<string?> Connection() => new("--connection")
    {
        Description = $"the fleet database as its owner, e.g. Host=127.0.0.1;Database=fleet;Username=postgres;Password=... (default: {AdminVariable})",
    };

    private static Command Init()
    {
        var connection = Connection();
        var command = new Command("init", "Create the fleet schema in a PostgreSQL database, or bring it up to this hilrig's version (idempotent)");
        command.Options.Add(connection);
        command.SetAction((ParseResult pr) =>
        {
            var (output, error) = (pr.InvocationConfiguration.Output, pr.InvocationConfiguration.Error);
            if (!TryConnection(pr.GetValue(connection), error, out var cs)) return ExitCodes.BadInput;
            return Guard(error, cs, () =>
            {
                var (storeBefore, fleetBefore) = FleetSchema.Init(cs);
                var target = ResultsStore.PostgresDescription(new NpgsqlConnectionStringBuilder(cs));
                output.WriteLine(storeBefore == FleetSchema.StoreLatest && fleetBefore == FleetSchema.Latest
                    ? $"fleet database {target} is up to date (schema {FleetSchema.StoreLatest}.{FleetSchema.Latest})"
                    : $"fleet database {target}: schema {storeBefore}.{fleetBefore} -> {FleetSchema.StoreLatest}.{FleetSchema.Latest}");
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    private static Command AddRig()
    {
        var name = new Argument<string>("NAME") { Description = "the rig id, as rigId in that rig's rig-config.yaml" };
        var connection = Connection();
        var role = new Option<string?>("--role") { Description = "PostgreSQL role name (default: hilrig_ and the rig id)" };
        var command = new Command("add-rig", "Register a rig: create its PostgreSQL role (login, generated password, may only send its own rows) and print its connection string");
        command.Arguments.Add(name);
        command.Options.Add(connection);
        command.Options.Add(role);
        command.SetAction((ParseResult pr) =>
        {
            var (output, error) = (pr.InvocationConfiguration.Output, pr.InvocationConfiguration.Error);
            if (!TryConnection(pr.GetValue(connection), error, out var cs)) return ExitCodes.BadInput;
            return Guard(error, cs, () =>
            {
                var rig = FleetSchema.AddRig(cs, pr.GetValue(name)!, pr.GetValue(role));
                error.WriteLine($"rig {rig.RigId} registered as role {rig.Role}; put this in its rig-config.yaml as fleet.connectionString (or HILRIG_FLEET_CONNECTION):");
                output.WriteLine(rig.ConnectionString);
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    private static bool TryConnection(string? given, TextWriter error, out string connectionString)
    {
        connectionString = given ?? Environment.GetEnvironmentVariable(AdminVariable) ?? "";
        if (connectionString.Length == 0)
        {
            error.WriteLine($"hilrig: --connection: missing; give the fleet database as its owner (or set {AdminVariable}), e.g. Host=127.0.0.1;Database=fleet;Username=postgres;Password=...");
            return false;
        }
        try
        {
            connectionString = new NpgsqlConnectionStringBuilder(connectionString).ConnectionString;
            return true;
        }
        catch (ArgumentException e)
        {
            error.WriteLine($"hilrig: --connection: not a PostgreSQL connection string ({e.Message}); e.g. Host=127.0.0.1;Database=fleet;Username=postgres;Password=...");
            return false;
        }
    }

    /// <summary>Runs an administrator's action; server and schema problems become one line and their exit code.</summary>
    private static int Guard(TextWriter error, string connectionString, Func<int> action)
    {
        var target = ResultsStore.PostgresDescription(new NpgsqlConnectionStringBuilder(connectionString));
        try
        {
            return action();
        }
        catch (ResultsStoreException e) when (e.InnerException is NpgsqlException inner)
        {
            return Report(error, target, inner);
        }
        catch (ResultsStoreException e)
        {
            error.WriteLine($"hilrig: {e.Message}");
            return e.Message.Contains("newer than this hilrig", StringComparison.Ordinal) ? ExitCodes.FleetSchema : ExitCodes.BadInput;
        }
        catch (NpgsqlException e)
        {
            return Report(error, target, e);
        }
    }

    private static int Report(TextWriter error, string target, NpgsqlException e)
    {
        switch (e)
        {
            case PostgresException { SqlState: "28P01" or "28000" } pg:
                error.WriteLine($"hilrig: {target} refused the login: {pg.MessageText}");
                return ExitCodes.FleetLogin;
            case PostgresException { SqlState: "42501" } pg:
                error.WriteLine($"hilrig: {target}: {pg.MessageText} (fleet init and add-rig need the database owner with CREATEROLE, e.g. the postgres superuser)");
                return ExitCodes.FleetPermission;
            case PostgresException pg:
                error.WriteLine($"hilrig: {target}: {pg.SqlState} {pg.MessageText}");
                return ExitCodes.FleetSchema;
            default:
                error.WriteLine($"hilrig: cannot reach the fleet database at {target}: {e.InnerException?.Message ?? e.Message}");
                return ExitCodes.FleetUnreachable;
        }
    }
}
