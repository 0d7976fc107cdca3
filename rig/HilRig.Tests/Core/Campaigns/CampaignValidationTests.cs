using System.Security.Cryptography;
using HilRig.Core.Campaigns;

namespace HilRig.Tests.Campaigns;

public class CampaignValidationTests
{
    private static (Campaign? Campaign, IReadOnlyList<string> Errors) Parse(CampaignRequest request, Func<string, byte[]?>? files = null)
    {
        CampaignValidation.TryParse(request, out var campaign, out var errors, files ?? (_ => null));
        return (campaign, errors);
    }

    [Test]
    public void A_soak_campaign_defaults_to_the_candidate_against_BL14_at_alpha_5_percent_power_80_percent_margin_1()
    {
        var (campaign, errors) = Parse(new CampaignRequest("bl15-qual"));
        Assert.That(errors, Is.Empty);
        Assert.That(campaign, Is.EqualTo(campaign! with
        {
            Kind = CampaignKind.Soak,
            Bootloader = new CampaignBootloader.Build("candidate"),
            Baseline = new CampaignBaseline.Build("BL14"),
            Cycles = 20_000,
            Margin = 1.0,
            Alpha = 0.05,
            Power = 0.8,
        }));
        Assert.That(campaign!.Baseline!.Concurrent, Is.True, "a build baseline is soaked by the campaign itself");
    }

    [Test]
    public void Every_bad_option_is_one_line_naming_the_option_the_value_and_what_is_valid()
    {
        var (campaign, errors) = Parse(new CampaignRequest("bad name!")
        {
            Kind = "soak",
            Alpha = "1.2",
            Power = "0.3",
            Margin = "0",
            Cycles = "-5",
            Lots = "L1,L1",
            Rigs = "r1,,r2",
            Bootloader = "missing.bin",
            Baseline = "run/0",
        });
        Assert.That(campaign, Is.Null);
        Assert.That(errors, Is.EqualTo(new[]
        {
            "campaign name 'bad name!': valid: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
            "--bootloader missing.bin: no such file; valid: BL13, BL14, candidate or a bootloader image file",
            "--baseline run/0: valid: BL13, BL14, candidate, a soak run id (or a unique prefix of 4+ hex digits) or a campaign name",
            "--cycles -5: valid: a whole number 1..100000000",
            "--lots L1,L1: 'L1' is listed twice",
            "--rigs r1,,r2: '' is not a name; valid: comma-separated names of letters, digits, '.', '_' or '-'",
            "--margin 0: valid: a relative excess above 0 and at most 10, e.g. 0.5 (the candidate may fail at most 1.5 times as often as the baseline)",
            "--alpha 1.2: valid: a number above 0 and at most 0.5, e.g. 0.05",
            "--power 0.3: valid: a number from 0.5 to below 1, e.g. 0.8",
        }));
        Assert.That(errors, Has.All.Not.Contain("\n"));
        Assert.That(Parse(new CampaignRequest("c") { Kind = "burn-in" }).Errors, Is.EqualTo(new[] { "--kind burn-in: valid: soak or screen" }));
    }

    [Test]
    public void A_bootloader_file_is_kept_by_its_sha256_and_a_too_large_one_is_refused()
    {
        var image = Enumerable.Range(0, 13_720).Select(i => (byte)i).ToArray();
        var (campaign, errors) = Parse(new CampaignRequest("c") { Bootloader = "bl15.bin" }, path => path == "bl15.bin" ? image : null);
        Assert.That(errors, Is.Empty);
        Assert.That(campaign!.Bootloader, Is.EqualTo(new CampaignBootloader.Image("bl15.bin", Convert.ToHexStringLower(SHA256.HashData(image)), 13_720)));

        var (_, tooLarge) = Parse(new CampaignRequest("c") { Bootloader = "big.bin" }, _ => new byte[19 * 1024 + 1]);
        Assert.That(tooLarge, Is.EqualTo(new[] { "--bootloader big.bin: 19457 bytes; a bootloader image is 1..19456 bytes (pages 0-18)" }));
    }

    [Test]
    public void A_baseline_is_a_build_or_a_stored_run_or_campaign_to_be_found_in_the_fleet_store()
    {
        Assert.That(Parse(new CampaignRequest("c") { Baseline = "bl13" }).Campaign!.Baseline, Is.EqualTo(new CampaignBaseline.Build("BL13")));
        // a run id prefix and a campaign name look alike: which one it is, the fleet store says at create
        Assert.That(Parse(new CampaignRequest("c") { Baseline = "01a23cc8-07df" }).Campaign!.Baseline, Is.EqualTo(new CampaignBaseline.Stored("01a23cc8-07df")));
        var earlier = Parse(new CampaignRequest("c") { Baseline = "bl14-2026-11" }).Campaign!.Baseline;
        Assert.That(earlier, Is.EqualTo(new CampaignBaseline.Stored("bl14-2026-11")));
        Assert.That(earlier!.Concurrent, Is.False, "a stored baseline's counts are fixed");
        Assert.That(Parse(new CampaignRequest("c") { Baseline = "run 12/3" }).Errors.Single(), Does.StartWith("--baseline run 12/3: valid: BL13, BL14, candidate, a soak run id"));
    }

    [Test]
    public void A_screen_campaign_counts_Cores_and_refuses_soak_options()
    {
        var (screen, errors) = Parse(new CampaignRequest("lot-1348A") { Kind = "screen", Cores = "64", Lots = "SST25-1348A" });
        Assert.That(errors, Is.Empty);
        Assert.That((screen!.Kind, screen.Cores, screen.Bootloader, screen.Lots.Single()), Is.EqualTo((CampaignKind.Screen, 64, (CampaignBootloader?)null, "SST25-1348A")));

        Assert.That(Parse(new CampaignRequest("s") { Kind = "screen", Bootloader = "BL14", Cycles = "10" }).Errors, Is.EqualTo(new[]
        {
            "--bootloader BL14: only for --kind soak (a screen judges the Cores' flash, not a bootloader)",
            "--cycles 10: only for --kind soak (a screen judges the Cores' flash, not a bootloader)",
            "--cores: a screen campaign needs the number of Cores to screen, e.g. --cores 64",
        }));
    }
}
