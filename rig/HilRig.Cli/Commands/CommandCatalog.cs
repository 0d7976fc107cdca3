using System.CommandLine;

namespace HilRig.Cli.Commands;

/// <summary>Every top-level command; one line per command keeps parallel work from colliding.</summary>
internal static class CommandCatalog
{
    public static IEnumerable<Command> All()
    {
        yield return LedCommand.Create();
        yield return BenchCommand.Create();
    }
}
