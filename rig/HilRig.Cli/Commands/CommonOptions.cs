using System.CommandLine;

namespace HilRig.Cli.Commands;

internal enum OutputFormat
{
    Table,
    Csv,
    Json,
}

/// <summary>Options several commands share; each command gets its own instances.</summary>
internal static class CommonOptions
{
    public const string DefaultConfigFile = "rig-config.yaml";

    public static Option<FileInfo> Config() => new("--config")
    {
        Description = $"rig configuration file (default: {DefaultConfigFile})",
        DefaultValueFactory = _ => new FileInfo(DefaultConfigFile),
    };

    /// <summary>--format table|csv|json; any other value is a parse error, so the command exits 2 before running.</summary>
    public static Option<string> Format()
    {
        var option = new Option<string>("--format")
        {
            Description = "output format: table, csv or json",
            DefaultValueFactory = _ => "table",
        };
        option.AcceptOnlyFromAmong("table", "csv", "json");
        return option;
    }

    public static OutputFormat ParseFormat(string? value) => value switch
    {
        "csv" => OutputFormat.Csv,
        "json" => OutputFormat.Json,
        _ => OutputFormat.Table,
    };
}
