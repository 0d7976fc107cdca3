using System.CommandLine;

namespace HilRig.Cli;

/// <summary>Exit codes shared by every command.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int DutFailed = 1;
    public const int BadInput = 2;
    public const int RigFault = 3;

    /// <summary>`hilrig sync`/`fleet`: the fleet server could not be reached, or went away mid-batch (try again later).</summary>
    public const int FleetUnreachable = 4;

    /// <summary>`hilrig sync`/`fleet`: the fleet server refused the login (wrong password, no such role).</summary>
    public const int FleetLogin = 5;

    /// <summary>`hilrig sync`: the rig's role may not do that (another rig's rows, not a registered rig).</summary>
    public const int FleetPermission = 6;

    /// <summary>`hilrig sync`/`fleet`: the fleet database's schema is newer or older than this hilrig, or not a fleet.</summary>
    public const int FleetSchema = 7;

    /// <summary>Stopped by SIGINT or SIGTERM before the end (the shell's 128 + SIGINT).</summary>
    public const int Stopped = 130;
}

internal static class CliRunner
{
    public static async Task<int> InvokeAsync(RootCommand root, string[] args)
    {
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
                Console.Error.WriteLine($"hilrig: {error.Message}");
            return ExitCodes.BadInput;
        }
        return await parse.InvokeAsync();
    }
}
