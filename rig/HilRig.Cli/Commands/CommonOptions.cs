using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace HilRig.Cli.Commands;

internal enum OutputFormat
{
    Table,
    Csv,
    Json,
}

/// <summary>
/// The one grammar every command shares: the same option for the same thing (--config, --slots, --store, --format,
/// --output/-o), each command getting its own instances. `GrammarTests` walks the command tree and fails when a
/// command spells one of these differently.
/// </summary>
internal static class CommonOptions
{
    public const string DefaultConfigFile = "rig-config.yaml";

    /// <summary>What every --format offers (report adds html).</summary>
    public static readonly string[] Formats = ["table", "csv", "json"];

    public static Option<FileInfo> Config() => new("--config")
    {
        Description = $"rig configuration file (default: {DefaultConfigFile})",
        DefaultValueFactory = _ => new FileInfo(DefaultConfigFile),
    };

    /// <summary>--format table|json|csv (and <paramref name="extra"/>); any other value is a parse error: exit 2 before running.</summary>
    public static Option<string> Format(params string[] extra)
    {
        string[] choices = [.. Formats, .. extra];
        var option = new Option<string>("--format")
        {
            Description = $"output format: {string.Join(", ", choices)}",
            DefaultValueFactory = _ => "table",
        };
        option.AcceptOnlyFromAmong(choices);
        return option;
    }

    public static OutputFormat ParseFormat(string? value) => value switch
    {
        "csv" => OutputFormat.Csv,
        "json" => OutputFormat.Json,
        _ => OutputFormat.Table,
    };

    /// <summary>--store FILE: the results store (default: results.path of the rig config).</summary>
    public static Option<FileInfo?> Store() => StoreLocation.Option();

    /// <summary>--slots 3 or 1,2,5-8 (default: every slot), with the old --slot kept as a hidden alias.</summary>
    public static SlotsOption Slots(string what) => new(what, one: false);

    /// <summary>--slots N for a command that drives one slot at a time (old spelling --slot hidden); required.</summary>
    public static SlotsOption OneSlot(string what) => new(what, one: true);

    /// <summary>--output/-o FILE, with the old --out kept as a hidden alias.</summary>
    public static OutputOption Output(string what, bool required = false) => new(what, required);
}

/// <summary>An option with a visible name and a hidden old spelling: either may be given, not both.</summary>
internal abstract class AliasedOption<T>
{
    protected AliasedOption(Option<T> visible, Option<T> hidden, bool required)
    {
        Visible = visible;
        Hidden = hidden;
        Hidden.Hidden = true;
        Required = required;
    }

    public Option<T> Visible { get; }

    public Option<T> Hidden { get; }

    public bool Required { get; }

    public string Name => Visible.Name;

    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Options.Add(Visible);
        command.Options.Add(Hidden);
        command.Validators.Add(r =>
        {
            var given = r.GetResult(Visible) is { Implicit: false };
            var old = r.GetResult(Hidden) is { Implicit: false };
            if (given && old)
                r.AddError($"{Visible.Name} and {Hidden.Name} are the same option; give {Visible.Name} once");
            else if (Required && !given && !old)
                r.AddError($"{Visible.Name}: required; {Example}");
        });
    }

    protected abstract string Example { get; }

    protected T? Raw(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        return parse.GetResult(Hidden) is { Implicit: false } ? parse.GetValue(Hidden) : parse.GetValue(Visible);
    }
}

/// <summary>--slots: a slot list such as 3 or 1,2,5-8; resolved against the rig's slots once the config is loaded.</summary>
internal sealed class SlotsOption : AliasedOption<string?>
{
    public SlotsOption(string what, bool one)
        : base(new Option<string?>("--slots") { Description = what + (one ? ", e.g. 3" : ", e.g. 3 or 1,2,5-8 (default: all)") },
               new Option<string?>("--slot") { Description = what }, required: one)
    {
        One = one;
        if (!one) return;
        foreach (var option in new[] { Visible, Hidden })
            option.Validators.Add(r =>
            {
                if (r.GetValueOrDefault<string?>() is { } text && ParseOne(text) is null)
                    r.AddError($"{option.Name} {text}: this command drives one slot; valid: one slot number, e.g. --slots 3");
            });
    }

    public bool One { get; }

    protected override string Example => "e.g. --slots 3";

    /// <summary>The slot list as given (null: every slot).</summary>
    public string? Get(ParseResult parse) => Raw(parse);

    /// <summary>The one slot of a single-slot command (validated at parse time).</summary>
    public int GetOne(ParseResult parse) => Raw(parse) is { } text && ParseOne(text) is { } n ? n : 0;

    private static int? ParseOne(string text) =>
        int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : null;
}

/// <summary>--output/-o FILE (old spelling --out hidden): the file a command writes, written whole or not at all.</summary>
internal sealed class OutputOption : AliasedOption<FileInfo?>
{
    public OutputOption(string what, bool required)
        : base(new Option<FileInfo?>("--output", "-o") { Description = what }, new Option<FileInfo?>("--out") { Description = what }, required)
    {
    }

    protected override string Example => "e.g. --output FILE";

    public FileInfo? Get(ParseResult parse) => Raw(parse);
}
