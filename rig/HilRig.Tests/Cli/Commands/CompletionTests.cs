using System.Diagnostics;

namespace HilRig.Tests.Cli;

/// <summary>`hilrig completion bash|zsh|fish`: the bash script, run in bash with COMP_WORDS set as readline would.</summary>
[Category("Integration")]
public class CompletionTests
{
    private string _script = "";

    [OneTimeSetUp]
    public void Generate()
    {
        var (exit, output, error) = CliHarness.Run("completion", "bash");
        Assert.That(exit, Is.Zero, error);
        _script = Path.Combine(Path.GetTempPath(), $"hilrig-completion-{Environment.ProcessId}.bash");
        File.WriteAllText(_script, output);
    }

    [OneTimeTearDown]
    public void Remove() => File.Delete(_script);

    /// <summary>What bash offers after <paramref name="line"/> (a trailing space: completing a new, empty word).</summary>
    private string Complete(string line)
    {
        var bash = ExternalTool.Require("bash");
        var words = line.Split(' ').ToList();
        var script = $"source '{_script}'; COMP_WORDS=({string.Join(' ', words.Select(w => $"'{w}'"))}); COMP_CWORD={words.Count - 1}; _hilrig; printf '%s\\n' \"${{COMPREPLY[@]}}\"";
        var start = new ProcessStartInfo(bash) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath() };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.That(process.ExitCode, Is.Zero, error);
        Assert.That(error, Is.Empty, "the script runs without complaint");
        return string.Join(' ', output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
    }

    [TestCase("hilrig rep", "report")]
    [TestCase("hilrig r", "recover report runs")]
    [TestCase("hilrig report l", "lots")]
    [TestCase("hilrig runs ", "show")]
    [TestCase("hilrig screen --fo", "--format")]
    [TestCase("hilrig screen --format ", "csv json table")]
    [TestCase("hilrig report lots --format ", "csv html json table")]
    [TestCase("hilrig led record --slot 3 --o", "--output")]
    [TestCase("hilrig soak --slots 1-4 --s", "--slots --store")]
    [TestCase("hilrig completion ", "bash fish zsh")]
    public void Bash_offers_the_commands_options_and_formats_of_the_tree(string line, string expected)
    {
        Assert.That(Complete(line), Is.EqualTo(expected));
    }

    [Test]
    public void A_value_is_not_taken_for_a_command_and_hidden_spellings_are_not_offered()
    {
        // "3" after --slot is its value, so the path stays `led record`
        Assert.That(Complete("hilrig led record --slot 3 --"), Does.Contain("--slots").And.Contain("--output").And.Not.Contain("--out ").And.Not.Contain("--slot "));
    }

    [Test]
    public void Zsh_and_fish_scripts_are_generated_from_the_same_tree()
    {
        var (zshExit, zsh, _) = CliHarness.Run("completion", "zsh");
        Assert.That(zshExit, Is.Zero);
        Assert.That(zsh, Does.Contain("bashcompinit").And.Contain("complete -o default -F _hilrig hilrig"));
        var (fishExit, fish, _) = CliHarness.Run("completion", "fish");
        Assert.That(fishExit, Is.Zero);
        Assert.That(fish, Does.Contain("complete -c hilrig -n \"__hilrig_at 'report lots'\" -l format -x -a 'csv html json table'"));
        var (badExit, _, badError) = CliHarness.Run("completion", "tcsh");
        Assert.That(badExit, Is.EqualTo(HilRig.Cli.ExitCodes.BadInput));
        Assert.That(badError, Does.Contain("tcsh"));
    }
}
