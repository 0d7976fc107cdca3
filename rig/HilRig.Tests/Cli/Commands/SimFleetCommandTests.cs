using System.Text.RegularExpressions;
using HilRig.Cli;
using HilRig.Core.Config;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Reports.Queries;
using HilRig.Sim.Fleet;

namespace HilRig.Tests.Cli;

/// <summary>`hilrig sim fleet`: the real procedures for small fleets, the fast path for large ones, the same kinds of rows.</summary>
public partial class SimFleetCommandTests
{
    private string _folder = "";

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("hilrig-fleet-").FullName;

    [TearDown]
    public void RemoveFolder() => Directory.Delete(_folder, recursive: true);

    private string Config() => TestRigs.WriteConfig(TestRigs.DefaultCores());

    [Test]
    public void The_same_seed_gives_the_same_fleet_and_another_seed_another()
    {
        var a = FleetPlan.Create(new FleetOptions(500, 8, 42, 2)).Devices().ToList();
        var b = FleetPlan.Create(new FleetOptions(500, 8, 42, 2)).Devices().ToList();
        var c = FleetPlan.Create(new FleetOptions(500, 8, 43, 2)).Devices().ToList();

        Assert.That(b, Is.EqualTo(a));
        Assert.That(c.Select(d => d.DeviceId), Is.Not.EqualTo(a.Select(d => d.DeviceId)));
        Assert.That(a.Select(d => d.DeviceId).Distinct().Count(), Is.EqualTo(500));
        Assert.That(a.Select(d => d.DeviceId), Has.All.Match("^5[45]ff[0-9a-f]{20}$"));
    }

    [Test]
    public void Bad_lots_draw_far_more_defective_chips_than_good_ones()
    {
        var plan = FleetPlan.Create(new FleetOptions(20000, 8, 7, 2));
        var defective = plan.Devices().GroupBy(d => d.Lot.Bad)
            .ToDictionary(g => g.Key, g => (double)g.Count(d => d.Flash is not FlashCondition.HealthyFlash) / g.Count());

        Assert.That(plan.Lots.Count(l => l.Bad), Is.EqualTo(2));
        Assert.That(defective[true], Is.GreaterThan(0.15));
        Assert.That(defective[false], Is.LessThan(0.03));
    }

    [Test]
    public void A_small_fleet_goes_through_the_real_screening_and_each_chip_gets_the_verdict_its_flash_earns()
    {
        var store = Path.Combine(_folder, "real.db");
        var (exit, output, error) = CliHarness.Run("sim", "fleet", "--config", Config(), "--store", store, "--cores", "16", "--lots", "2", "--bad-lots", "1", "--seed", "11");

        Assert.That(exit, Is.EqualTo(ExitCodes.Ok), error);
        Assert.That(output, Does.Contain("sim fleet (real procedures): 16 Cores from 2 lots"));
        var plan = FleetPlan.Create(new FleetOptions(16, 2, 11, 1)).Devices().ToDictionary(d => d.DeviceId);
        var results = ResultsStore.Open(store).GetResults();
        Assert.That(results, Has.Count.EqualTo(16));
        foreach (var r in results)
        {
            // A slow chip still reads back clean; every other defect fails the readback.
            var bad = plan[r.DeviceId].Flash is not (FlashCondition.HealthyFlash or FlashCondition.Slow);
            Assert.That(r.Verdict, Is.EqualTo(bad ? Verdict.Fail : Verdict.Pass), $"{r.DeviceId}: {plan[r.DeviceId].Flash} -> {r.Signature}");
        }
        var lots = ResultsQueries.OpenSqlite(store).LotCounts();
        Assert.That(lots.Sum(l => l.Units), Is.EqualTo(16));
        Assert.That(lots.Sum(l => l.Failed), Is.EqualTo(plan.Values.Count(d => d.Flash is not (FlashCondition.HealthyFlash or FlashCondition.Slow))));
    }

    [Test]
    public void The_fast_path_writes_the_failure_modes_and_signature_format_of_the_real_readback()
    {
        // Real rows: the simulated readback of chips with stuck cells and bad sectors.
        var realStore = Path.Combine(_folder, "real.db");
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores((2, "{ stuckBits: 12 }"), (3, "{ badSectors: 2 }")));
        Assert.That(CliHarness.Run("screen", "--config", config, "--readback-only").Exit, Is.EqualTo(ExitCodes.DutFailed));
        var real = ResultsStore.Open(RigConfigLoader.Load(config).ResolveStorePath()).GetResults().Where(r => r.Verdict == Verdict.Fail).ToList();

        var fastStore = Path.Combine(_folder, "fast.db");
        var (exit, _, error) = CliHarness.Run("sim", "fleet", "--config", Config(), "--store", fastStore, "--cores", "3000", "--lots", "4", "--path", "fast");
        Assert.That(exit, Is.EqualTo(ExitCodes.Ok), error);
        var fast = ResultsStore.Open(fastStore).GetResults().Where(r => r.Verdict == Verdict.Fail).ToList();

        Assert.That(real.Select(r => r.FailureMode).Concat(fast.Select(r => r.FailureMode)).Distinct(), Is.EqualTo(new[] { FailureModes.BadExternalFlash }));
        foreach (var kind in new[] { DefectKinds.StuckBits, DefectKinds.EraseFailure })
        {
            var realOne = real.First(r => DefectKinds.Of(r.FailureMode, r.Signature) == kind).Signature!;
            var fastOne = fast.First(r => DefectKinds.Of(r.FailureMode, r.Signature) == kind).Signature!;
            Assert.That(Shape(fastOne), Is.EqualTo(Shape(realOne)), $"{kind}: fast '{fastOne}' vs real '{realOne}'");
        }
        Assert.That(fast.Select(r => DefectKinds.Of(r.FailureMode, r.Signature)), Has.None.EqualTo(DefectKinds.Other));
    }

    /// <summary>A signature with its numbers and addresses blanked: what must match between the two paths.</summary>
    private static string Shape(string signature) =>
        Lists().Replace(Numbers().Replace(Regions().Replace(signature, "[R]"), "#"), "#");

    [GeneratedRegex(@"0x[0-9A-F]+|\d+")]
    private static partial Regex Numbers();

    [GeneratedRegex(@"#(, #)+")]
    private static partial Regex Lists();

    [GeneratedRegex(@"\[.*\]")]
    private static partial Regex Regions();

    [Test]
    public void Bad_options_are_one_line_naming_the_option_and_exit_2()
    {
        var (exit, _, error) = CliHarness.Run("sim", "fleet", "--config", Config(), "--store", Path.Combine(_folder, "x.db"), "--lots", "3", "--bad-lots", "5");
        Assert.That(exit, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(error.Trim(), Is.EqualTo("hilrig: --bad-lots: 5: must be between 0 and --lots (3)"));
        Assert.That(File.Exists(Path.Combine(_folder, "x.db")), Is.False);
    }
}
