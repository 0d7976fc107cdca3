using HilRig.Core.Config;

namespace HilRig.Tests.Station;

/// <summary>`sim.line`: the simulated line's operator in the rig config, and its one-line errors.</summary>
public class LineConfigTests
{
    private static string Config(string line) => TestRigs.WriteConfig(TestRigs.DefaultCores(), 42, "BL14", line);

    [Test]
    public void The_line_takes_the_population_and_the_operators_pace_with_the_seed_and_lots_defaulted()
    {
        var config = RigConfigLoader.Load(Config("line: { cores: 240, handling: 12.5 }"));

        Assert.That(config.Sim.Line, Is.EqualTo(new SimLineConfig(240, SimLineConfig.DefaultLots, 1, 42, TimeSpan.FromSeconds(12.5))));
        Assert.That(RigConfigLoader.Load(TestRigs.WriteConfig(TestRigs.DefaultCores())).Sim.Line, Is.Null, "no line: the config's Cores stay in their slots");
        Assert.That(RigConfigLoader.Load(Path.Combine(TestRigs.RepoRoot, "examples", "line-rig.yaml")).Sim.Line, Is.EqualTo(new SimLineConfig(240, 6, 2, 7, TimeSpan.FromSeconds(15))));
    }

    [TestCase("line: { lots: 4 }", "sim.line.cores: missing required key 'cores'")]
    [TestCase("line: { cores: 10, lots: 2, badLots: 3 }", "sim.line.badLots: 3 bad lots of 2; valid: 0-2 (at most sim.line.lots)")]
    [TestCase("line: { cores: 10, handling: -1 }", "sim.line.handling")]
    [TestCase("line: { cores: 10, pace: 3 }", "sim.line.pace")]
    public void A_bad_line_is_named_by_file_line_and_field(string line, string expected)
    {
        var path = Config(line);
        var error = Assert.Throws<ConfigException>(() => RigConfigLoader.Load(path))!;
        Assert.That(error.Message, Does.Contain(path).And.Contain(expected));
    }
}
