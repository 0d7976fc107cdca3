using System.CommandLine;

namespace HilRig.Cli.Commands;

/// <summary>Every top-level command; one line per command keeps parallel work from colliding.</summary>
internal static class CommandCatalog
{
    public static IEnumerable<Command> All()
    {
        yield return RigClaim.Leased(ScreenCommand.Build());
        yield return RigClaim.Leased(DfuCommand.Build());
        yield return ImageCommand.Build();
        yield return LotsCommand.Create(Console.Out, Console.Error);
        yield return ReportCommand.Create();
        yield return LedCommand.Create();
        yield return BenchCommand.Create();
        yield return SimCommand.Create();
        yield return RigClaim.Leased(DoctorCommand.Create());
        yield return RigClaim.Leased(LifeCommands.Power());
        yield return RigClaim.Leased(LifeCommands.Button());
        yield return RigClaim.Leased(LifeCommands.FactoryReset());
        yield return RigClaim.Leased(LifeCommands.Ota());
        yield return RigClaim.Leased(LifeCommands.IdentifyCommand());
        yield return DashboardCommand.Create();
        yield return RigClaim.Leased(SoakCommand.Build());
        yield return FleetCommand.Create();
        yield return SyncCommand.Create();
        yield return RecoverCommand.Build();
        yield return RunsCommand.Create();
        yield return ConfigCommand.Create();
        yield return RigClaim.Leased(StationCommand.Build());
        yield return SlotsCommand.Create();
        yield return CampaignCommand.Create();
        yield return AgentCommand.Create();
        yield return CompletionCommand.Create();
    }
}
