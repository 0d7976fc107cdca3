using System.CommandLine;
using System.Text.RegularExpressions;
using HilRig.Cli;
using HilRig.Cli.Commands;

namespace HilRig.Tests.Cli;

/// <summary>
/// Every command of the README's table, as a new user tries it: its --help, and a real run on the simulated rig, each
/// with an exit code the README documents and every line within 80 columns (what a redirected hilrig and an
/// 80-column terminal get). In-process, as the command line runs it.
/// </summary>
public partial class MustShowTests
{
    private static readonly int[] Documented = [ExitCodes.Ok, ExitCodes.DutFailed, ExitCodes.RigFault];

    [GeneratedRegex(@"^\| `hilrig ([^`]*)`", RegexOptions.Multiline)]
    private static partial Regex ReadmeRow();

    /// <summary>The command paths the README's table names: `report lots\|modes` gives report lots and report modes.</summary>
    internal static List<string> ReadmeCommands()
    {
        var root = new RootCommand("hilrig");
        foreach (var c in CommandCatalog.All()) root.Subcommands.Add(c);
        var paths = new SortedSet<string>(StringComparer.Ordinal);
        foreach (Match row in ReadmeRow().Matches(File.ReadAllText(RepoFiles.Path("README.md"))))
            paths.UnionWith(RowPaths(root, row.Groups[1].Value));
        return [.. paths];
    }

    /// <summary>The command paths one row's usage names.</summary>
    private static List<string> RowPaths(Command root, string usage)
    {
        var frontier = new List<(Command Command, string Path)> { (root, "") };
        foreach (var token in usage.Split(' '))
        {
            var next = new List<(Command, string)>();
            foreach (var (command, path) in frontier)
                foreach (var word in token.Split(@"\|"))
                    if (command.Subcommands.FirstOrDefault(s => s.Name == word) is { } sub)
                        next.Add((sub, (path + " " + word).Trim()));
            if (next.Count == 0) break;
            frontier = next;
        }
        return [.. frontier.Where(f => f.Path.Length > 0).Select(f => f.Path)];
    }

    private static void Fits(string what, (int Exit, string Output, string Error) run, string? folder = null)
    {
        foreach (var (stream, text) in new[] { ("stdout", run.Output), ("stderr", run.Error) })
        {
            // a line naming one of the user's paths (here a long temp folder) is as long as the path makes it
            var wide = text.Split('\n').Where(l => l.Length > 80 && (folder is null || !l.Contains(folder, StringComparison.Ordinal))).ToList();
            Assert.That(wide, Is.Empty, $"{what}: {stream} lines over 80 columns:\n{string.Join("\n", wide)}");
            Assert.That(text, Does.Not.Contain("\u001b"), $"{what}: no escape codes when not on a terminal");
            Assert.That(text, Does.Not.Contain("   at "), $"{what}: no stack trace");
        }
    }

    [Test]
    public void The_readme_table_names_each_command_once_and_every_one_exists()
    {
        var rows = ReadmeRow().Matches(File.ReadAllText(RepoFiles.Path("README.md"))).Select(m => m.Groups[1].Value.Split(' ')[0..Math.Min(2, m.Groups[1].Value.Split(' ').Length)]).ToList();
        var commands = ReadmeCommands();
        Assert.That(commands, Has.Count.GreaterThan(30));
        foreach (var top in CommandCatalog.All().Where(c => c.Name != "completion"))
            Assert.That(commands.Any(c => c.Split(' ')[0] == top.Name), $"hilrig {top.Name} has a row in the README's command table");
        var screenRows = rows.Count(r => r[0] == "screen");
        Assert.That(screenRows, Is.EqualTo(1), "screen is listed once");
        var readme = File.ReadAllText(RepoFiles.Path("README.md"));
        var usages = ReadmeRow().Matches(readme).Select(m => m.Groups[1].Value).ToList();
        Assert.That(usages, Is.Unique, "no row repeats another");
        var root = new RootCommand("hilrig");
        foreach (var c in CommandCatalog.All()) root.Subcommands.Add(c);
        foreach (var once in new[] { "screen", "report lots", "report device", "soak", "runs", "runs show", "slots", "dashboard", "recover" })
            Assert.That(usages.Count(u => RowPaths(root, u).Contains(once)), Is.EqualTo(1), $"{once} has one row");
    }

    [Test]
    public void The_readme_points_only_to_documents_in_the_repository()
    {
        var readme = File.ReadAllText(RepoFiles.Path("README.md"));
        var anchors = Regex.Matches(readme, @"^#+ (.+)$", RegexOptions.Multiline).Select(m => Slug(m.Groups[1].Value)).ToHashSet();
        foreach (Match link in Regex.Matches(readme, @"\]\(([^)\s]+)\)"))
        {
            var target = link.Groups[1].Value;
            if (target.StartsWith("http", StringComparison.Ordinal)) continue;
            var (file, anchor) = target.Split('#') is var parts ? (parts[0], parts.Length > 1 ? parts[1] : null) : default;
            if (file.Length > 0)
                Assert.That(File.Exists(RepoFiles.Path(file)), $"{target}: {file} is in the repository");
            if (anchor is null) continue;
            var headings = file.Length == 0 ? anchors
                : Regex.Matches(File.ReadAllText(RepoFiles.Path(file)), @"^#+ (.+)$", RegexOptions.Multiline).Select(m => Slug(m.Groups[1].Value)).ToHashSet();
            Assert.That(headings, Does.Contain(anchor), $"{target}: the heading #{anchor} exists");
        }
        // documents named in backquotes (docs/..., a README.md, a .cs file) are there too
        foreach (Match named in Regex.Matches(readme, @"`([\w./-]+\.(?:md|cs|yaml|sh))`"))
            if (!named.Groups[1].Value.StartsWith('/') && named.Groups[1].Value.Contains('/', StringComparison.Ordinal))
                Assert.That(File.Exists(RepoFiles.Path(named.Groups[1].Value)), $"{named.Groups[1].Value} is in the repository");
    }

    /// <summary>A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces as dashes.</summary>
    private static string Slug(string heading) =>
        Regex.Replace(heading.Trim().ToLowerInvariant(), @"[^\w\- ]", "").Replace(' ', '-');

    [Test]
    public void Every_readme_command_help_fits_80_columns()
    {
        foreach (var path in ReadmeCommands())
        {
            var run = CliHarness.Run([.. path.Split(' '), "--help"]);
            Assert.That(run.Exit, Is.Zero, $"{path} --help: {run.Error}");
            Assert.That(run.Output, Does.Contain("Usage:"), path);
            Fits($"{path} --help", run);
        }
    }

    [Test]
    [Category("Integration")] // about a minute: every command on the simulated rig, a fleet of 300 Cores
    public void Every_readme_command_runs_on_the_simulator_within_80_columns_and_a_documented_exit_code()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores((2, "{ stuckBits: 12 }")));
        var folder = Path.GetDirectoryName(config)!;
        string F(string name) => Path.Combine(folder, name);
        var c = new[] { "--config", config };

        (int Exit, string Output, string Error) Run(params string[] args)
        {
            var run = CliHarness.Run(args);
            var what = string.Join(' ', args).Replace(folder, "<tmp>", StringComparison.Ordinal);
            Assert.That(Documented, Does.Contain(run.Exit), $"{what}: exit {run.Exit}\n{run.Error}");
            Fits(what, run, folder);
            return run;
        }

        Run(["config", "check", .. c]);
        Run(["doctor", .. c]);
        Run(["led", "calibrate", .. c]);
        Run(["screen", .. c, "--slots", "1-3"]);
        Run(["screen", .. c, "--slots", "4", "--readback-only"]);
        Run(["identify", .. c, "--slots", "1,2"]);
        Run(["power", "off", .. c, "--slots", "5"]);
        Run(["power", "on", .. c, "--slots", "5"]);
        Run(["power", "cycle", .. c, "--slots", "5"]);
        Run(["button", "reset", .. c, "--slots", "5"]);
        Run(["button", "mode", .. c, "--slots", "5"]);
        Run(["factory-reset", .. c, "--slots", "6"]);
        Run(["image", "generate", "-o", F("app.bin")]);
        Run(["image", "generate", "--bootloader", "candidate", "-o", F("bl.bin")]);
        Run(["ota", .. c, "--slots", "7", F("app.bin")]);
        Run(["dfu", "list", .. c, "--slots", "8"]);
        Run(["dfu", "upload", .. c, "--slots", "8", "--address", "0x20000", "--length", "4096", F("up.bin")]);
        Run(["dfu", "download", .. c, "--slots", "8", "--address", "0x60000", F("app.bin")]);
        Run(["led", "record", .. c, "--slots", "3", "--seconds", "3", "--power-on", "-o", F("trace.csv")]);
        Run(["led", "classify", F("trace.csv")]);
        Run(["led", "watch", .. c, "--slots", "3", "--seconds", "0.5"]);
        Run(["soak", .. c, "--cycles", "2", "--slots", "1-4"]);
        Run(["recover", .. c]);
        var runs = Run(["runs", .. c]);
        // the shortest prefix that names one run: time-ordered ids of runs a few seconds apart share their first digits
        var ids = Regex.Matches(runs.Output, "^[0-9a-f]{8}-[0-9a-f-]{27}", RegexOptions.Multiline).Select(m => m.Value).ToList();
        Assert.That(ids, Is.Not.Empty, "runs lists full ids");
        var id = ids[0];
        var unique = Enumerable.Range(8, id.Length - 7).Select(n => id[..n]).First(p => ids.Count(i => i.StartsWith(p, StringComparison.Ordinal)) == 1);
        Run(["runs", "show", unique, .. c]);
        Run(["sim", "export-lots", .. c, "-o", F("lots.csv")]);
        Run(["lots", "check", F("lots.csv")]);
        Run(["lots", "import", F("lots.csv"), .. c]);
        Run(["sim", "fleet", "--store", F("fleet.db"), "--cores", "300", "--lots", "6", "--path", "fast", "--soak-cycles", "20", .. c]);
        foreach (var report in new[] { "lots", "modes", "slots", "soak" })
            Run(["report", report, "--store", F("fleet.db")]);
        Run(["slots", .. c]);
        Run(["slots", "set", "5", "maintenance", "--reason", "pogo pins worn", .. c]);
        Run(["slots", .. c]);
        Run(["slots", "set", "5", "good", .. c]);
        var device = Regex.Match(CliHarness.Run("screen", "--config", config, "--slots", "2", "--format", "json").Output, "\"deviceId\": \"([0-9a-f]{24})\"").Groups[1].Value;
        Run(["report", "device", device, .. c]);
    }
}
