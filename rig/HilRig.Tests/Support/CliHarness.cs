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

    /// <summary>
    /// Human text with the 80-column wrapping undone (a continuation line is indented two columns), for a test that
    /// looks for a whole sentence, as a reader of the wrapped text reads it.
    /// </summary>
    public static string Unwrapped(string text) => System.Text.RegularExpressions.Regex.Replace(text, @"\n  (?=\S)", " ");
}
