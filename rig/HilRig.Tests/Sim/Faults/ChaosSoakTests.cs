using HilRig.Composition;
using HilRig.Core.Config;
using HilRig.Core.Procedures;
using HilRig.Core.Spark;

namespace HilRig.Tests.Chaos;

/// <summary>
/// Faults on purpose at every boundary of the simulator (issue 14, items 6 and 7): each injected fault ends as a retry
/// that recovered or a rig fault, never as a verdict on a healthy Core; the bad-flash Cores still fail, every cycle they
/// are read back. A smaller seeded mix than `hilrig bench chaos` (8 slots x 200 cycles), with higher rates.
/// </summary>
public class ChaosSoakTests
{
    private static readonly RigSessionOptions NoLeds = new() { ObserveLeds = false, CalibrateAtOpen = false };

    internal static RigConfig ChaosConfig(double scale = 1)
    {
        var config = RigConfigLoader.Load(Path.Combine(TestContext.CurrentContext.TestDirectory, "..", "..", "..", "..", "..", "examples", "chaos-rig.yaml"));
        var f = config.Sim.Faults;
        return config with
        {
            Sim = config.Sim with
            {
                // the cloud's per-chunk faults stay as they are: a 267-chunk OTA would otherwise rarely get through
                Faults = new SimFaultSettings(f.UsbStall * scale, f.UsbTimeout * scale, f.UsbDisconnect * scale, f.I2cNack * scale, f.ButtonDead * scale,
                    Math.Min(0.5, f.Cloud5xx * scale), f.CloudDrop, f.CloudSlow),
            },
        };
    }

    internal static SoakPlan Plan(int cycles, int seed, int readbackEvery)
    {
        var recovery = SparkAppImageGenerator.Generate(seed, "recovery", "1.0.0");
        return new SoakPlan(cycles,
            (slot, cycle) =>
            {
                var image = SparkAppImageGenerator.Generate(seed * 100 + slot * 10 + cycle, "soak", $"1.0.{cycle}");
                return new SoakImage(image, SparkAppImageGenerator.ReadIdentity(image));
            },
            new RecoveryImages(recovery, "recovery 1.0.0", SparkAppImageGenerator.Tinker(seed)))
        {
            ReadbackEvery = readbackEvery,
        };
    }

    [Test]
    public void Every_injected_fault_ends_as_a_recovered_retry_or_a_rig_fault_and_only_the_bad_flash_Cores_fail()
    {
        var config = ChaosConfig(scale: 4);
        using var session = RigSession.Open(config, NoLeds);
        var result = session.RunAsync(() => new SoakRunner(session.Life, Plan(8, config.Sim.Seed, readbackEvery: 2)).RunAsync(session.Select(null)))
            .GetAwaiter().GetResult();
        var ledger = session.Sim!.Faults.Ledger;
        var bad = new[] { 3, 6 };

        TestContext.Out.WriteLine($"{ledger.Count} faults injected: {string.Join(", ", ledger.GroupBy(f => f.Name).Select(g => $"{g.Key} {g.Count()}"))}");
        foreach (var row in result.Rows.Where(r => r.Verdict != Verdict.Pass))
            TestContext.Out.WriteLine($"slot {row.Slot} cycle {row.Cycle} {row.Test}: {row.Verdict.ToName()} {row.FailureMode}: {row.Signature}");

        // every kind of fault was injected at least once
        Assert.That(ledger.Select(f => f.Kind).Distinct().Order(), Is.EqualTo(Enum.GetValues<HilRig.Sim.Faults.FaultKind>()));

        // no healthy Core is failed
        var healthyFails = result.Rows.Where(r => !bad.Contains(r.Slot) && r.Verdict == Verdict.Fail).ToList();
        Assert.That(healthyFails.Select(r => $"slot {r.Slot} cycle {r.Cycle} {r.Test}: {r.FailureMode}: {r.Signature}"), Is.Empty);

        // the bad-flash Cores are confirmed: their failure comes back cycle after cycle, and every readback of them
        // that was judged finds the bad flash
        foreach (var slot in bad)
        {
            var fails = result.Rows.Where(r => r.Slot == slot && r.Verdict == Verdict.Fail).ToList();
            Assert.That(fails.Select(r => r.Cycle).Distinct().Count(), Is.GreaterThanOrEqualTo(2), $"slot {slot} failed cycles");
            Assert.That(fails.Where(r => r.Test == SoakRunner.ReadbackTest).Select(r => r.FailureMode), Is.All.EqualTo(FailureModes.BadExternalFlash), $"slot {slot}");
        }

        // every injected fault is accounted for: per kind the rig recorded as many retries (recovered, or given up
        // on in a rig-fault row) as the simulator injected
        // Known gap: a button line retried after a slot's last stored row has no row to carry its record, so
        // button-dead is checked as "recorded, never more than injected" until the soak stores a closing row.
        var recorded = result.Rows.SelectMany(r => r.Retries).ToList();
        var byKind = recorded.GroupBy(r => r.Kind).ToDictionary(g => g.Key, g => g.Count());
        var injected = ledger.GroupBy(f => f.RigKind).ToDictionary(g => g.Key, g => g.Count());
        Assert.That(byKind.Where(k => k.Key != "button-dead"), Is.EquivalentTo(injected.Where(k => k.Key != "button-dead")));
        Assert.That(byKind.GetValueOrDefault("button-dead"), Is.GreaterThan(0).And.LessThanOrEqualTo(injected["button-dead"]));
        foreach (var row in result.Rows.Where(r => r.Retries.Any(x => x.GaveUp)))
            Assert.That(row.Verdict, Is.EqualTo(Verdict.RigFault), $"slot {row.Slot} cycle {row.Cycle} {row.Test} gave up on a retry");
    }
}
