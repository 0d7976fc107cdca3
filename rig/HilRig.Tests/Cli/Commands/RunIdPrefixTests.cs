using HilRig.Cli;

namespace HilRig.Tests.Cli;

/// <summary>`soak --baseline` and `screen --resume` take the same short run id prefixes as `hilrig runs show`.</summary>
public partial class RunIdPrefixTests
{
    [System.Text.RegularExpressions.GeneratedRegex("run ([0-9a-f-]{36})")]
    private static partial System.Text.RegularExpressions.Regex RunLine();

    [Test]
    public void Soak_baseline_accepts_a_unique_prefix_and_refuses_an_unknown_one()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores(), seed: 7);
        var baseline = CliHarness.Run("soak", "--cycles", "1", "--slots", "1", "--bootloader", "BL13", "--config", config);
        Assert.That(baseline.Exit, Is.Zero, baseline.Error);
        var runId = RunLine().Match(baseline.Error).Groups[1].Value;

        var candidate = CliHarness.Run("soak", "--cycles", "1", "--slots", "1", "--bootloader", "BL14", "--baseline", runId[..13], "--config", config);
        Assert.That(candidate.Exit, Is.Zero, candidate.Error);
        Assert.That(candidate.Output, Does.Contain("vs baseline BL13"));

        var unknown = CliHarness.Run("soak", "--cycles", "1", "--slots", "1", "--baseline", "0000ffff", "--config", config);
        Assert.That(unknown.Exit, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(unknown.Error, Does.Contain("hilrig: --baseline 0000ffff: no run with that id"));
    }

    [Test]
    public void Screen_resume_refuses_an_unknown_prefix_before_screening_anything()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        var (exit, output, error) = CliHarness.Run("screen", "--config", config, "--resume", "0000ffff");

        Assert.That(exit, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(output, Is.Empty);
        Assert.That(error, Does.Contain("hilrig: --resume 0000ffff: no run with that id"));
    }
}
