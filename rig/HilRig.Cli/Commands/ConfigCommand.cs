using System.CommandLine;
using HilRig.Core.Config;

namespace HilRig.Cli.Commands;

/// <summary><c>hilrig config check</c>: loads a rig config as every command does, without opening the rig or writing anything.</summary>
internal static class ConfigCommand
{
    public static Command Create()
    {
        var config = new Command("config", "Rig configuration: `config check` validates one without touching hardware");
        var file = CommonOptions.Config();
        var check = new Command("check", "Validate a rig config (no hardware opened, nothing written): one line per problem, exit 2; else a summary");
        check.Options.Add(file);
        check.SetAction(pr =>
        {
            var output = pr.InvocationConfiguration.Output;
            var error = pr.InvocationConfiguration.Error;
            var path = pr.GetValue(file)!;
            if (!ConfigLoading.TryLoad(path, error, out var rig)) return ExitCodes.BadInput;
            var store = rig.Results.Kind == ResultsStoreKind.Postgres
                ? "postgres (" + Core.Results.ResultsStore.PostgresDescription(new Npgsql.NpgsqlConnectionStringBuilder(rig.Results.ConnectionString)) + ")"
                : "sqlite " + rig.ResolveStorePath();
            output.WriteLine($"{path}: ok");
            output.WriteLine($"rig      {rig.RigId}");
            output.WriteLine($"backend  {rig.Backend.ToString().ToLowerInvariant()}");
            output.WriteLine($"slots    {rig.Slots.Count} ({string.Join(",", rig.Slots.Select(s => s.Number))})");
            output.WriteLine($"store    {store}");
            var policy = rig.Screening;
            output.WriteLine($"screening confirm {policy.Confirm.Attempts} failing attempt(s){(policy.Confirm.ChangeSlot ? " in different slots" : "")}; slot suspect after {policy.Health.SuspectAfter}, quarantined after {policy.Health.QuarantineAfter} device(s) with strikes");
            return ExitCodes.Ok;
        });
        config.Subcommands.Add(check);
        return config;
    }
}
