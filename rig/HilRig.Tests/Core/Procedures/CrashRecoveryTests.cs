using System.Diagnostics;
using System.Text.RegularExpressions;
using HilRig.Composition;
using HilRig.Core.Config;
using HilRig.Core.Procedures;
using HilRig.Core.Spark;
using Microsoft.Data.Sqlite;

namespace HilRig.Tests.Procedures;

/// <summary>
/// Issue 14.4, must show: `hilrig screen` SIGKILLed at many points across every step of the readback (a child process on
/// the simulator; the crash point saves the simulated flash first, as real flash keeps what was written), then
/// `hilrig recover`: every Core's factory, backup and OTA regions and keys are byte-identical to before, the store is intact.
/// </summary>
[Category("Integration")]
public partial class CrashRecoveryTests
{
    private static readonly string Hilrig = Path.Combine(TestContext.CurrentContext.TestDirectory, "hilrig.dll");

    private static readonly FlashRegion[] Checked = [.. SparkMemoryMap.ImageRegions, DfuReadback.KeysRegion];

    private const string Slots = "1-2";

    private static (int Exit, string Output, string Error) Run(string config, IDictionary<string, string>? env, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Hilrig);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.ArgumentList.Add("--config");
        start.ArgumentList.Add(config);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) start.Environment[k] = v;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill();
            Assert.Fail($"hilrig {string.Join(' ', args)} did not finish within 3 minutes");
        }
        return (process.ExitCode, output.Result, error.Result);
    }

    /// <summary>Every checked region of slots 1 and 2 as the simulated Cores read them from the saved state.</summary>
    private static Dictionary<string, byte[]> Snapshot(string config)
    {
        var rig = RigConfigLoader.Load(config);
        var state = Path.Combine(Path.GetDirectoryName(rig.ResolveStorePath())!, "sim-state");
        using var session = RigSession.Open(rig, new RigSessionOptions { Simulator = new SimBackendOptions { StateDirectory = state }, CalibrateAtOpen = false, ObserveLeds = false });
        var regions = new Dictionary<string, byte[]>();
        foreach (var slot in new[] { 1, 2 })
        {
            // what the Core reads back (a stuck cell reads its stuck value whatever was programmed under it)
            var chip = session.Sim!.Slot(slot).Core.Chip;
            foreach (var r in Checked)
            {
                var bytes = new byte[r.Length];
                chip.Read(r.Start, bytes);
                regions[$"slot {slot} {r.Name}"] = bytes;
            }
        }
        return regions;
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)), overwrite: true);
        foreach (var dir in Directory.GetDirectories(from)) CopyDirectory(dir, Path.Combine(to, Path.GetFileName(dir)));
    }

    private static string IntegrityCheck(string db)
    {
        using var connection = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA integrity_check";
        return (string)command.ExecuteScalar()!;
    }

    [Test]
    public void Sigkill_at_22_points_across_the_readback_then_recover_leaves_every_region_and_the_keys_byte_identical()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores((2, "{ stuckBits: 12 }")));
        var results = Path.Combine(Path.GetDirectoryName(config)!, "results");

        // a clean screen first: it lists the crash points and leaves the simulated flash saved, as the baseline
        var listed = Run(config, new Dictionary<string, string> { ["HILRIG_TEST_CRASH_LIST"] = "1" }, "screen", "--readback-only", "--slots", Slots);
        Assert.That(listed.Exit, Is.EqualTo(1), listed.Error);
        var points = CrashPoint().Matches(listed.Error).Select(m => m.Groups[2].Value).ToList();
        Assert.That(points, Has.Count.GreaterThanOrEqualTo(40), listed.Error);
        foreach (var step in new[] { "keys read", "journaled", "before erase", "erasing", "erased", "programming zeros", "zeros written", "zeros checked", "restoring", "restored", "keys checked" })
            Assert.That(points, Has.Some.Contains(step), $"a crash point in the step '{step}'");
        var before = Snapshot(config);
        var template = results + ".template";
        CopyDirectory(results, template);

        // 22 points spread evenly over every step of both Cores' readbacks
        var kills = Enumerable.Range(0, 22).Select(i => 1 + (int)Math.Round(i * (points.Count - 1) / 21.0)).Distinct().ToList();
        Assert.That(kills, Has.Count.EqualTo(22));
        var report = new List<string>();
        foreach (var k in kills)
        {
            Directory.Delete(results, recursive: true);
            CopyDirectory(template, results);

            var killed = Run(config, new Dictionary<string, string> { ["HILRIG_TEST_CRASH_AT"] = k.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                "screen", "--readback-only", "--slots", Slots);
            Assert.That(killed.Exit, Is.EqualTo(137), $"point {k} ({points[k - 1]}): SIGKILLed\n{killed.Error}");
            Assert.That(killed.Error, Does.Contain($"crash point {k}: {points[k - 1]}: killed"));
            var pending = Directory.Exists(Path.Combine(results, "journal")) ? Directory.GetDirectories(Path.Combine(results, "journal")).Length : 0;

            var recovered = Run(config, null, "recover");
            Assert.That(recovered.Exit, Is.Zero, $"point {k} ({points[k - 1]}): recover\n{recovered.Output}\n{recovered.Error}");
            report.Add($"kill at {k,2} ({points[k - 1]}): {pending} Core(s) in the journal; recover: {recovered.Output.Split('\n')[0]}");

            var after = Snapshot(config);
            foreach (var (region, bytes) in before)
                Assert.That(after[region].AsSpan().SequenceEqual(bytes), Is.True, $"point {k} ({points[k - 1]}): {region} differs after recover\n{recovered.Output}");
            Assert.That(Directory.Exists(Path.Combine(results, "journal")) ? Directory.GetDirectories(Path.Combine(results, "journal")) : [], Is.Empty,
                "every interrupted Core put back and its journal removed");
            Assert.That(IntegrityCheck(Path.Combine(results, "hilrig.db")), Is.EqualTo("ok"));
            if (pending > 0)
                Assert.That(recovered.Output, Does.Contain("verified against the journal"));
        }
        TestContext.Out.WriteLine(string.Join("\n", report));
    }

    [GeneratedRegex(@"crash point ([0-9]+): (.+)")]
    private static partial Regex CrashPoint();
}
