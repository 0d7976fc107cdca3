using HilRig.Core.Config;
using HilRig.Core.Spark;
using HilRig.Sim.Device;
using HilRig.Sim.Device.Bootloader;
using HilRig.Sim.Device.Firmware;

namespace HilRig.Tests.SimDevice.Bootloader;

/// <summary>
/// The candidate build's configurable defects: an SPI busy timeout in every SPI wait (staging copy, OTA backup copy),
/// the staging factory reset. BL14 on the same chips is the control.
/// </summary>
public class CandidateBootloaderTests
{
    private static readonly TimeSpan FactoryResetHold = TimeSpan.FromSeconds(10.5);
    private static readonly FlashCondition Slow3 = new FlashCondition.Slow(3);

    private static BootloaderBuild Candidate(double timeoutMs = 30, bool stage = true) => BootloaderBuild.Candidate(new SimCandidateConfig(timeoutMs, stage));

    /// <summary>Holds MODE through a factory reset, then boots again: what the Core does afterwards.</summary>
    private static BootOutcome AfterFactoryReset(BootBench bench)
    {
        var reset = bench.Boot(holdMode: FactoryResetHold).Outcome;
        Assert.That(reset.Actions, Does.Contain(BootAction.FactoryReset), reset.ToString());
        return bench.Boot().Outcome;
    }

    [Test]
    public void A_slow_chip_loses_the_first_words_of_every_staged_sector_under_the_candidate_and_ends_in_dfu_but_runs_under_BL14()
    {
        using var candidate = new BootBench(Candidate(), Slow3);
        Assert.That(AfterFactoryReset(candidate), Is.EqualTo(new BootOutcome.EnterDfu(DfuReason.NoValidApp)), "word 0 of the restored app is 0xFFFFFFFF");
        var staged = candidate.Slot(SparkMemoryMap.BackupImageAddress);
        // erase abandoned at 30 ms of 75 ms: the next two words are sent while the chip is busy and ignored
        Assert.That(staged[..8], Is.All.EqualTo(0xFF));
        Assert.That(staged[8..4096], Is.EqualTo(candidate.Tinker[8..4096]));

        using var bl14 = new BootBench(BootloaderBuild.BL14, Slow3);
        Assert.That(AfterFactoryReset(bl14), Is.TypeOf<BootOutcome.RunApp>());
    }

    [Test]
    public void A_healthy_chip_erases_within_the_candidates_timeout_and_its_factory_reset_works()
    {
        using var bench = new BootBench(Candidate());
        var next = AfterFactoryReset(bench) as BootOutcome.RunApp;
        Assert.That(next, Is.Not.Null);
        Assert.That(next!.Plausible, Is.True);
        Assert.That(AppIntegrity.Check(next.Image), Is.EqualTo(AppIntegrityResult.Intact));
    }

    [Test]
    public void A_timeout_longer_than_the_slow_erase_does_not_bite()
    {
        using var bench = new BootBench(Candidate(timeoutMs: 80), Slow3);
        Assert.That(AfterFactoryReset(bench), Is.TypeOf<BootOutcome.RunApp>());
    }

    [Test]
    public void The_timeout_bites_in_the_ota_apply_backup_copy_too_leaving_a_corrupt_backup_behind_a_good_update()
    {
        var update = SparkAppImageGenerator.Generate(77, "user", "2.0", 50000);
        using var candidate = new BootBench(Candidate(stage: false), Slow3);
        using var bl14 = new BootBench(BootloaderBuild.BL14, Slow3);
        foreach (var bench in new[] { candidate, bl14 })
        {
            bench.Chip.ManufactureProgram(SparkMemoryMap.OtaImageAddress, update);
            bench.WriteFlashFlag(SystemFlags.UpdateOtaAvailable);
            Assert.That(bench.Boot().Outcome, Is.TypeOf<BootOutcome.Reset>());
            Assert.That(SparkAppImageGenerator.ReadIdentity(((BootOutcome.RunApp)bench.Boot().Outcome).Image), Is.EqualTo("user 2.0"));
        }
        Assert.That(AppIntegrity.Check(bl14.Slot(SparkMemoryMap.BackupImageAddress)), Is.EqualTo(AppIntegrityResult.Intact), "BL14 backs Tinker up intact");
        Assert.That(AppIntegrity.Check(candidate.Slot(SparkMemoryMap.BackupImageAddress)), Is.EqualTo(AppIntegrityResult.Corrupt),
            "words sent while the chip was still busy with an abandoned erase were lost");
        // without staging the candidate's factory reset reads the factory slot only: no SPI wait, no failure
        Assert.That(AfterFactoryReset(candidate), Is.TypeOf<BootOutcome.RunApp>());
    }
}
