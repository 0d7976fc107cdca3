using System.Text.RegularExpressions;

namespace HilRig.Tests.Determinism;

/// <summary>
/// A soak replays from its seed only if nothing the Cores or the rig logic do reads the wall clock or an unseeded
/// random source. This guards the source of Core and Sim: each use of such an API must be listed here with why it
/// cannot change a result.
/// </summary>
[TestFixture]
public sealed partial class NoWallClockInSimulationTests
{
    private static readonly string[] Guarded = ["rig/HilRig.Core", "rig/HilRig.Sim"];

    /// <summary>file (relative, '/'-separated) and the API it may use, with the reason it does not reach a result.</summary>
    private static readonly (string File, string Api, string Why)[] Allowed =
    [
        ("rig/HilRig.Sim/Time/VirtualTimeProvider.cs", "Stopwatch", "paces the realtime mode of `sim serve` only; virtual time never reads it"),
        ("rig/HilRig.Sim/Time/SimScheduler.cs", "Stopwatch", "stall detection: a hung simulation is reported, never timed into a result"),
        ("rig/HilRig.Core/Results/ResultsStore.cs", "TimeProvider.System", "when a schema migration was applied: store bookkeeping, not a result"),
        ("rig/HilRig.Core/Results/FleetSync.cs", "TimeProvider.System", "when a sync ran and the rig's clock offset against the server: fleet bookkeeping, never a result"),
        ("rig/HilRig.Core/Results/FleetSchema.cs", "TimeProvider.System", "when the fleet schema was migrated: bookkeeping, not a result"),
        ("rig/HilRig.Core/Results/FleetSchema.cs", "RandomNumberGenerator", "a rig role's login password must be unpredictable, never seeded"),
    ];

    [GeneratedRegex(@"\b(?:DateTime(?:Offset)?\.(?:Now|UtcNow|Today)\b|Environment\.TickCount(?:64)?\b|Stopwatch\b|TimeProvider\.System\b|Random\.Shared\b|new Random\(\s*\)|Guid\.NewGuid\b|RandomNumberGenerator\b)")]
    private static partial Regex WallClockOrUnseeded();

    [Test]
    public void Core_and_simulator_read_no_wall_clock_or_unseeded_random_outside_the_listed_places()
    {
        var found = new List<string>();
        foreach (var dir in Guarded)
        {
            foreach (var path in Directory.EnumerateFiles(Path.Combine(TestRigs.RepoRoot, dir), "*.cs", SearchOption.AllDirectories))
            {
                var rel = Path.GetRelativePath(TestRigs.RepoRoot, path).Replace('\\', '/');
                if (rel.Contains("/obj/", StringComparison.Ordinal) || rel.Contains("/bin/", StringComparison.Ordinal)) continue;
                var lines = File.ReadAllLines(path);
                for (var i = 0; i < lines.Length; i++)
                {
                    var code = StripComment(lines[i]);
                    foreach (Match m in WallClockOrUnseeded().Matches(code))
                    {
                        var api = m.Value.StartsWith("new Random", StringComparison.Ordinal) ? "new Random()" : m.Value;
                        if (Allowed.Any(a => a.File == rel && api.StartsWith(a.Api, StringComparison.Ordinal))) continue;
                        found.Add($"{rel}:{i + 1}: {api}");
                    }
                }
            }
        }
        Assert.That(found, Is.Empty,
            "these read the wall clock or an unseeded random source; take time from the rig's TimeProvider and randomness from the seed, or list the use in Allowed with why it cannot change a result");
    }

    [Test]
    public void The_guard_catches_a_wall_clock_read()
    {
        Assert.Multiple(() =>
        {
            Assert.That(WallClockOrUnseeded().IsMatch("var t = DateTimeOffset.UtcNow;"), Is.True);
            Assert.That(WallClockOrUnseeded().IsMatch("var r = new Random();"), Is.True);
            Assert.That(WallClockOrUnseeded().IsMatch("var r = new Random(seed);"), Is.False);
            Assert.That(WallClockOrUnseeded().IsMatch("var t = time.GetUtcNow();"), Is.False);
        });
    }

    private static string StripComment(string line)
    {
        var i = line.IndexOf("//", StringComparison.Ordinal);
        return i < 0 ? line : line[..i];
    }
}
