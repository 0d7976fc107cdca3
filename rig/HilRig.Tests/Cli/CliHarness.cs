using System.CommandLine;
using HilRig.Cli;
using HilRig.Cli.Commands;

namespace HilRig.Tests.Cli;

/// <summary>Runs `hilrig` in-process with its output captured, exactly as the command line parses it.</summary>
internal static class CliHarness
{
    public static (int Exit, string Output, string Error) Run(params string[] args)
    {
        var root = new RootCommand("hilrig");
        foreach (var command in CommandCatalog.All()) root.Subcommands.Add(command);
        using var output = new StringWriter();
        using var error = new StringWriter();
        var parse = root.Parse(args);
        int exit;
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors) error.WriteLine(e.Message);
            exit = ExitCodes.BadInput;
        }
        else
        {
            exit = parse.Invoke(new InvocationConfiguration { Output = output, Error = error });
        }
        return (exit, output.ToString(), error.ToString());
    }
}
