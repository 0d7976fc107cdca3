using HilRig.Tests.Cli;

namespace HilRig.Tests.Campaigns;

/// <summary>`hilrig bench campaign-decision` as typed: its figures, and bad options as one line with exit 2.</summary>
public class CampaignDecisionBenchTests
{
    [Test]
    public void The_bench_prints_false_no_go_against_alpha_and_false_go_against_one_minus_power()
    {
        var (exit, output, error) = CliHarness.Run("bench", "campaign-decision", "--campaigns", "200", "--seed", "4", "--margin", "1");
        Assert.That(error, Is.Empty);
        Assert.That(exit, Is.Zero, output);
        output = CliHarness.Unwrapped(output); // the figures' lines as the bench writes them before they fit 80 columns
        Assert.That(output, Does.Contain("campaign decision bench: 200 synthetic campaigns per hypothesis, seed 4"));
        Assert.That(output, Does.Match(@"H0 \(ratio 1\)\s+go 0\.\d{3}  no-go 0\.\d{3}  undecided 0\.\d{3} \| false no-go 0\.\d{3} \(SE 0\.\d{3}\) against alpha 0\.05"));
        Assert.That(output, Does.Match(@"H1 \(ratio 2\)\s+go 0\.\d{3} .* false go 0\.\d{3} \(SE 0\.\d{3}\) against 1 - power 0\.2"));
        Assert.That(output, Does.Contain("within bounds (rate <= configured + 3 simulation SE): yes"));
    }

    [TestCase("--alpha", "0.7", "hilrig: --alpha 0.7: valid: a number above 0 and at most 0.5, e.g. 0.05")]
    [TestCase("--power", "1", "hilrig: --power 1: valid: a number from 0.5 to below 1, e.g. 0.8")]
    [TestCase("--margin", "-1", "hilrig: --margin -1: valid: a relative excess above 0 and at most 10, e.g. 0.5 (the candidate may fail at most 1.5 times as often as the baseline)")]
    [TestCase("--campaigns", "0", "hilrig: --campaigns 0: valid: 1..1000000")]
    public void A_bad_option_is_one_line_and_exit_2(string option, string value, string line)
    {
        var (exit, output, error) = CliHarness.Run("bench", "campaign-decision", option, value);
        Assert.That((exit, output, error.TrimEnd()), Is.EqualTo((2, "", line)));
    }
}
