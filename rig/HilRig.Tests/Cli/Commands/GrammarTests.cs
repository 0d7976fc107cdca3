using System.CommandLine;
using System.CommandLine.Completions;
using HilRig.Cli.Commands;

namespace HilRig.Tests.Cli;

/// <summary>
/// The command line's one grammar: the same option for the same thing in every command. Walks the whole command tree
/// (every command in CommandCatalog, whoever added it) and names each option that spells a shared concept its own
/// way, with the rename that fixes it.
/// </summary>
public class GrammarTests
{
    /// <summary>The grammar: the concept, its one spelling, and how a command gets it.</summary>
    private static readonly Dictionary<string, (string Concept, string Use)> Canonical = new(StringComparer.Ordinal)
    {
        ["--slots"] = ("the slots a command drives (3 or 1,2,5-8)", "CommonOptions.Slots(...) or, for one slot, CommonOptions.OneSlot(...)"),
        ["--output"] = ("the file a command writes", "CommonOptions.Output(...) (--output, -o; old spelling --out hidden)"),
        ["--store"] = ("the results store file", "CommonOptions.Store()"),
        ["--format"] = ("the output format (table|json|csv)", "CommonOptions.Format() (extra formats as arguments, e.g. Format(\"html\"))"),
        ["--config"] = ("the rig configuration file", "CommonOptions.Config()"),
    };

    /// <summary>Other spellings people reach for; each must be the canonical name instead (a hidden old alias is allowed).</summary>
    private static readonly Dictionary<string, string> Synonyms = new(StringComparer.Ordinal)
    {
        ["--slot"] = "--slots", ["--slot-list"] = "--slots", ["--slot-number"] = "--slots", ["--slot-numbers"] = "--slots", ["--slot-ids"] = "--slots",
        ["--out"] = "--output", ["--output-file"] = "--output", ["--out-file"] = "--output", ["--outfile"] = "--output", ["--write"] = "--output",
        ["--db"] = "--store", ["--database"] = "--store", ["--results-store"] = "--store", ["--results-db"] = "--store", ["--store-file"] = "--store", ["--sqlite"] = "--store",
        ["--fmt"] = "--format", ["--output-format"] = "--format", ["--as"] = "--format", ["--json"] = "--format", ["--csv"] = "--format", ["--table"] = "--format",
        ["--rig-config"] = "--config", ["--cfg"] = "--config", ["--config-file"] = "--config", ["--rig"] = "--config",
    };

    private static IEnumerable<(string Path, Command Command)> Commands()
    {
        IEnumerable<(string, Command)> Walk(Command c, string path)
        {
            yield return (path, c);
            foreach (var sub in c.Subcommands)
                foreach (var x in Walk(sub, $"{path} {sub.Name}"))
                    yield return x;
        }
        return CommandCatalog.All().SelectMany(c => Walk(c, "hilrig " + c.Name));
    }

    private static string Rename(string path, Option option, string canonical) =>
        $"{path}: option {option.Name} is {Canonical[canonical].Concept}: rename it to {canonical} (use {Canonical[canonical].Use})";

    [Test]
    public void Every_command_spells_slots_output_store_format_and_config_the_same_way()
    {
        var problems = new List<string>();
        foreach (var (path, command) in Commands())
        {
            foreach (var option in command.Options)
            {
                foreach (var name in option.Aliases.Prepend(option.Name))
                {
                    if (!Synonyms.TryGetValue(name, out var canonical)) continue;
                    // an old spelling may stay, hidden, next to the canonical option
                    var paired = option.Hidden && command.Options.Any(o => !o.Hidden && o.Name == canonical);
                    if (!paired) problems.Add(Rename(path, option, canonical));
                }
                var text = (option.Description ?? "").ToLowerInvariant();
                // the description rules find a concept under another name; the canonical names are that concept already
                if (option.Hidden || Canonical.ContainsKey(option.Name)) continue;
                if (option.ValueType == typeof(FileInfo) && text.Contains("results store", StringComparison.Ordinal))
                    problems.Add(Rename(path, option, "--store"));
                if (option.ValueType == typeof(FileInfo) && (text.Contains("rig config", StringComparison.Ordinal) || text.Contains("rig-config", StringComparison.Ordinal)))
                    problems.Add(Rename(path, option, "--config"));
                if (option.ValueType == typeof(FileInfo) && (text.Contains("to write", StringComparison.Ordinal) || text.Contains("write to", StringComparison.Ordinal) || text.Contains("written", StringComparison.Ordinal)))
                    problems.Add(Rename(path, option, "--output"));
            }
        }
        Assert.That(problems, Is.Empty, string.Join("\n", problems));
    }

    [Test]
    public void The_grammar_options_take_the_same_values_everywhere()
    {
        var problems = new List<string>();
        foreach (var (path, command) in Commands())
        {
            foreach (var option in command.Options.Where(o => !o.Hidden))
            {
                switch (option.Name)
                {
                    case "--slots" when option.ValueType != typeof(string):
                        problems.Add($"{path}: --slots takes {option.ValueType.Name}; it must take a slot list as text (3 or 1,2,5-8): use {Canonical["--slots"].Use}");
                        break;
                    case "--config" or "--store" when option.ValueType != typeof(FileInfo):
                        problems.Add($"{path}: {option.Name} takes {option.ValueType.Name}; it must take a file: use {Canonical[option.Name].Use}");
                        break;
                    case "--output" when option.ValueType != typeof(FileInfo) || !option.Aliases.Contains("-o"):
                        problems.Add($"{path}: --output must take a file and have the short alias -o: use {Canonical["--output"].Use}");
                        break;
                    case "--format":
                        var choices = option.GetCompletions(CompletionContext.Empty).Select(c => c.Label).ToList();
                        var missing = CommonOptions.Formats.Except(choices).ToList();
                        if (missing.Count > 0)
                            problems.Add($"{path}: --format accepts {string.Join(", ", choices)}; add {string.Join(", ", missing)} (use {Canonical["--format"].Use})");
                        break;
                }
            }
        }
        Assert.That(problems, Is.Empty, string.Join("\n", problems));
    }

    [Test]
    public void A_hidden_old_spelling_still_works_and_both_spellings_at_once_are_one_line_and_exit_2()
    {
        var folder = Directory.CreateTempSubdirectory("hilrig-grammar-").FullName;
        try
        {
            var old = Path.Combine(folder, "old.bin");
            var (exit, _, error) = CliHarness.Run("image", "generate", "--out", old);
            Assert.That(exit, Is.Zero, error);
            Assert.That(File.Exists(old), "--out still writes the file");
            var (shortExit, _, shortError) = CliHarness.Run("image", "generate", "-o", Path.Combine(folder, "short.bin"));
            Assert.That(shortExit, Is.Zero, shortError);

            var (both, _, bothError) = CliHarness.Run("image", "generate", "--out", old, "--output", old);
            Assert.That(both, Is.EqualTo(HilRig.Cli.ExitCodes.BadInput));
            Assert.That(bothError.TrimEnd('\n').Split('\n'), Has.Length.EqualTo(1));
            Assert.That(bothError, Does.Contain("--output and --out are the same option"));

            var (help, helpText, _) = CliHarness.Run("led", "record", "--help");
            Assert.That(help, Is.Zero);
            Assert.That(helpText, Does.Contain("--slots").And.Contain("-o, --output"));
            Assert.That(helpText, Does.Not.Contain("--slot ").And.Not.Contain("--out "), "old spellings are hidden");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Test]
    public void A_one_slot_command_refuses_a_slot_list_in_one_line()
    {
        var (exit, _, error) = CliHarness.Run("power", "on", "--slots", "1,2");
        Assert.That(exit, Is.EqualTo(HilRig.Cli.ExitCodes.BadInput));
        Assert.That(error.TrimEnd('\n').Split('\n'), Has.Length.EqualTo(1));
        Assert.That(error, Does.Contain("--slots 1,2: this command drives one slot"));

        var (missing, _, missingError) = CliHarness.Run("power", "on");
        Assert.That(missing, Is.EqualTo(HilRig.Cli.ExitCodes.BadInput));
        Assert.That(missingError, Does.Contain("--slots: required"));
    }
}
