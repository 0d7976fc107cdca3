using System.Diagnostics;
using HilRig.Core.Results;
using HilRig.Sim.Fleet;
using HilRig.Tests.Cli;
using HilRig.Tests.Support;

namespace HilRig.Tests.Fleet;

/// <summary>
/// Eight rigs, each its own process, SQLite store and rig id, syncing into one PostgreSQL at the same time; one of
/// them is SIGKILLed in the middle of its sync and run again. The central rows must be exactly the union of the rigs'
/// rows, by id, and the rollups must equal a direct count.
/// </summary>
[Category("Integration")]
public class EightRigsSyncTests
{
    private string _folder = "";

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("hilrig-eight-").FullName;

    [TearDown]
    public void RemoveFolder() => Directory.Delete(_folder, recursive: true);

    [Test]
    public void Eight_rig_processes_sync_at_once_one_killed_mid_sync_and_rerun_and_the_center_holds_each_row_once()
    {
        var admin = TestPostgres.NewDatabase("eight");
        FleetSchema.Init(admin);
        var suffix = Guid.NewGuid().ToString("N")[..6];
        var rigs = new List<(string RigId, string Config, string Store)>();
        var template = File.ReadAllText(RepoFiles.Path("rig-config.yaml"));
        for (var i = 1; i <= 8; i++)
        {
            var rigId = $"line-rig-{i}-{suffix}";
            var registered = FleetSchema.AddRig(admin, rigId);
            var folder = Directory.CreateDirectory(Path.Combine(_folder, $"rig{i}")).FullName;
            var config = Path.Combine(folder, "rig-config.yaml");
            File.WriteAllText(config,
                template.Replace("rigId: sim-rig-01", $"rigId: {rigId}", StringComparison.Ordinal)
                + $"\nline: line-{1 + (i % 2)}\nfleet:\n  connectionString: \"{registered.ConnectionString}\"\n");
            rigs.Add((rigId, config, Path.Combine(folder, "results", "hilrig.db")));
        }

        // Each rig screens its Cores and soaks them briefly on its simulator; rig 1 also carries a long production
        // history, so that its sync is still running when it is killed.
        foreach (var (rigId, config, store) in rigs)
        {
            var screen = CliHarness.Run("screen", "--config", config);
            Assert.That(screen.Exit, Is.AnyOf(0, 1), screen.Error);
            var soak = CliHarness.Run("soak", "--cycles", "1", "--slots", "1-2", "--config", config);
            Assert.That(soak.Exit, Is.AnyOf(0, 1), soak.Error);
        }
        new FleetFastPath(FleetPlan.Create(new FleetOptions(8000, 4, 21, 1, 2)), 8).WriteTo(ResultsStore.Open(rigs[0].Store), rigs[0].RigId);
        var local = rigs.ToDictionary(r => r.RigId, r => ResultsStore.Open(r.Store).GetResults().Select(x => x.Id.ToString("D")).Order(StringComparer.Ordinal).ToList());
        Assert.That(local.Values.Skip(1).Select(ids => ids.Count), Is.All.GreaterThan(8), "screen and soak rows on every rig");

        var central = TestStore.Postgres(admin);
        var victim = Start(rigs[0].Config, batch: 200);
        var others = rigs.Skip(1).Select(r => Start(r.Config, batch: 200)).ToList();
        var clock = Stopwatch.StartNew();
        while (central.Scalar($"SELECT results_synced FROM fleet_rigs WHERE rig_id = '{rigs[0].RigId}'") < 1000 && clock.Elapsed < TimeSpan.FromSeconds(120))
            Thread.Sleep(20);
        Assert.That(victim.HasExited, Is.False, "the victim is still syncing when it is killed");
        victim.Kill();
        victim.WaitForExit();
        var atKill = central.Scalar($"SELECT results_synced FROM fleet_rigs WHERE rig_id = '{rigs[0].RigId}'");
        Assert.That(atKill, Is.LessThan(local[rigs[0].RigId].Count), "killed in the middle");

        var rerun = Start(rigs[0].Config, batch: 2000);
        foreach (var p in others.Append(rerun))
        {
            Assert.That(p.WaitForExit(TimeSpan.FromMinutes(5)), "sync finished");
            Assert.That(p.ExitCode, Is.Zero, p.StandardError.ReadToEnd());
        }

        foreach (var (rigId, _, _) in rigs)
        {
            var ids = central.Rows($"SELECT r.id FROM results r JOIN runs ru ON ru.id = r.run_id WHERE ru.rig_id = '{rigId}'")
                .Select(r => (string)r[0]!).Order(StringComparer.Ordinal).ToList();
            Assert.That(ids, Is.EqualTo(local[rigId]), rigId);
        }
        Assert.That(central.Scalar("SELECT COUNT(*) FROM results"), Is.EqualTo(local.Values.Sum(ids => ids.Count)), "nothing else, nothing twice");
        Assert.That(central.Scalar("SELECT SUM(results_synced) FROM fleet_rigs"), Is.EqualTo(local.Values.Sum(ids => ids.Count)));
        FleetSyncTests.AssertRollupsEqualDirectCounts(central);
        foreach (var p in others.Append(rerun).Append(victim))
            p.Dispose();
    }

    private static Process Start(string config, int batch)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(TestContext.CurrentContext.TestDirectory, "hilrig.dll"), "sync", "--config", config, "--batch", batch.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            start.ArgumentList.Add(a);
        return Process.Start(start)!;
    }
}
