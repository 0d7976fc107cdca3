using System.CommandLine;

namespace HilRig.Cli;

/// <summary>Exit codes shared by every command.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int DutFailed = 1;
    public const int BadInput = 2;
    public const int RigFault = 3;

    /// <summary>The slots (or the rig) are being driven by another hilrig process; nothing was done.</summary>
    public const int Busy = 4;

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
