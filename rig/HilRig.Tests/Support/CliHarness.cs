using System.CommandLine;
using HilRig.Cli;
using HilRig.Cli.Commands;

namespace HilRig.Tests.Cli;

/// <summary>Runs `hilrig` in-process with its output captured, exactly as the command line parses and runs it (CliRunner).</summary>
internal static class CliHarness
{
    public static (int Exit, string Output, string Error) Run(params string[] args)
    {
        var root = new RootCommand("hilrig");
        foreach (var command in CommandCatalog.All()) root.Subcommands.Add(command);
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = CliRunner.InvokeAsync(root, args, output, error).GetAwaiter().GetResult();
        return (exit, output.ToString(), error.ToString());
    }
}
