using System.CommandLine;
using HilRig.Cli.Commands;

namespace HilRig.Cli;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var root = new RootCommand("hilrig: hardware-in-the-loop test rig for Spark Cores");
        foreach (var command in CommandCatalog.All())
            root.Subcommands.Add(command);
        return await CliRunner.InvokeAsync(root, args);
    }
}
