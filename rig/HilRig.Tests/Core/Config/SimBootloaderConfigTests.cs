using HilRig.Core.Config;

namespace HilRig.Tests.Config;

/// <summary>sim.candidate (the candidate bootloader's defects) and sim/cores bootloaderProtected.</summary>
public class SimBootloaderConfigTests
{
    private const string Head = """
        rigId: t
        backend: sim
        results: { kind: sqlite, path: r.db }
        slots:
          - { slot: 1, power: { gpio: 5 }, mode: { gpio: 6 }, reset: { gpio: 13 }, usb: { hub: "1-1", port: 1 }, sensor: { mux: 0x70, channel: 0 } }
          - { slot: 2, power: { gpio: 19 }, mode: { gpio: 20 }, reset: { gpio: 21 }, usb: { hub: "1-1", port: 2 }, sensor: { mux: 0x70, channel: 1 } }
        sim:
          seed: 7

        """;

    [Test]
    public void Defaults_are_a_30_ms_busy_timeout_with_staging_and_write_protected_Cores()
    {
        var sim = RigConfigLoader.Parse(Head, "t.yaml").Sim;
        Assert.That(sim.Candidate, Is.EqualTo(new SimCandidateConfig(30, true)));
        Assert.That(sim.BootloaderProtected, Is.True);
        Assert.That(sim.IsBootloaderProtected(1) && sim.IsBootloaderProtected(2), Is.True);
    }

    [Test]
    public void Candidate_defects_and_protection_per_rig_and_per_Core_are_read()
    {
        var sim = RigConfigLoader.Parse(Head + """
              bootloader: candidate
              candidate: { spiBusyTimeoutMs: 12.5, stageFactoryReset: false }
              bootloaderProtected: false
              cores:
                - { slot: 2, lot: L, bootloaderProtected: true }

            """, "t.yaml").Sim;
        Assert.That(sim.Bootloader, Is.EqualTo(SimBootloader.Candidate));
        Assert.That(sim.Candidate, Is.EqualTo(new SimCandidateConfig(12.5, false)));
        Assert.That(sim.IsBootloaderProtected(1), Is.False);
        Assert.That(sim.IsBootloaderProtected(2), Is.True, "the Core's own setting wins");
    }

    [TestCase("  candidate: { spiBusyTimeoutMs: 0 }\n", "t.yaml:9:34: sim.candidate.spiBusyTimeoutMs: 0 is not an SPI busy timeout; valid: milliseconds, > 0 and <= 1000")]
    [TestCase("  candidate: { spiBusyTimeoutMs: 5000 }\n", "sim.candidate.spiBusyTimeoutMs: 5000")]
    [TestCase("  candidate: { spiBusyTimeoutMs: fast }\n", "sim.candidate.spiBusyTimeoutMs")]
    [TestCase("  candidate: { stageFactoryReset: maybe }\n", "t.yaml:9:35: sim.candidate.stageFactoryReset: maybe is not a boolean; valid: true, false")]
    [TestCase("  candidate: { busyTimeout: 30 }\n", "sim.candidate.busyTimeout")]
    [TestCase("  bootloaderProtected: yes\n", "sim.bootloaderProtected: yes is not a boolean; valid: true, false")]
    [TestCase("  cores:\n    - { slot: 1, lot: L, bootloaderProtected: 1 }\n", "sim.cores[0].bootloaderProtected: 1 is not a boolean")]
    public void A_bad_value_is_one_line_naming_the_key_and_what_is_valid(string extra, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => RigConfigLoader.Parse(Head + extra, "t.yaml"))!;
        Assert.That(e.Errors, Has.Count.EqualTo(1));
        Assert.That(e.Errors.Select(x => x.ToString()), Has.Some.Contains(expected));
        Assert.That(e.Errors.Select(x => x.ToString()), Has.All.Contains("valid"));
    }
}
