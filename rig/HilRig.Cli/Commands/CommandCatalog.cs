using System.CommandLine;

namespace HilRig.Cli.Commands;

/// <summary>Every top-level command; one line per command keeps parallel work from colliding.</summary>
internal static class CommandCatalog
{
    public static IEnumerable<Command> All()
    {
        yield return ScreenCommand.Build();
        yield return DfuCommand.Build();
        yield return ImageCommand.Build();
        yield return LotsCommand.Create(Console.Out, Console.Error);
        yield return ReportCommand.Create();
        yield return LedCommand.Create();
        yield return BenchCommand.Create();
        yield return SimCommand.Create();
        yield return DoctorCommand.Create();
        yield return LifeCommands.Power();
        yield return LifeCommands.Button();
        yield return LifeCommands.FactoryReset();
        yield return LifeCommands.Ota();
        yield return LifeCommands.IdentifyCommand();
        yield return DashboardCommand.Create();
        yield return SoakCommand.Build();
        yield return RecoverCommand.Build();
    }
}
