using HilRig.Core.Config;

namespace HilRig.Tests.Fleet;

/// <summary>The fleet keys of rig-config.yaml: the sync target, the line label, ${NAME} in connection strings.</summary>
public class FleetConfigTests
{
    private const string Rig = """
        rigId: t
        backend: sim
        line: line-3
        results: { kind: postgres, connectionString: "Host=127.0.0.1;Database=fleet;Username=reader;Password=${READER_PW}" }
        fleet: { connectionString: "Host=127.0.0.1;Database=fleet;Username=hilrig_t;Password=${FLEET_PW}" }
        slots:
          - { slot: 1, power: { gpio: 5 }, mode: { gpio: 6 }, reset: { gpio: 13 }, usb: { hub: "1-1", port: 1 }, sensor: { mux: 0x70, channel: 0 } }
        """;

    [Test]
    public void Connection_strings_take_their_passwords_from_the_environment_and_the_line_label_is_kept()
    {
        var env = new Dictionary<string, string> { ["READER_PW"] = "r-secret", ["FLEET_PW"] = "f-secret" };

        var config = RigConfigLoader.Parse(Rig, "t.yaml", name => env.GetValueOrDefault(name));

        Assert.That(config.Results.ConnectionString, Is.EqualTo("Host=127.0.0.1;Database=fleet;Username=reader;Password=r-secret"));
        Assert.That(config.Fleet!.ConnectionString, Is.EqualTo("Host=127.0.0.1;Database=fleet;Username=hilrig_t;Password=f-secret"));
        Assert.That(config.Line, Is.EqualTo("line-3"));
        Assert.That(config.Fleet.ToString(), Does.Not.Contain("f-secret"), "passwords stay out of logs");
    }

    [Test]
    public void HILRIG_FLEET_CONNECTION_wins_and_an_unset_variable_is_one_error_naming_it()
    {
        var env = new Dictionary<string, string> { ["READER_PW"] = "r", [FleetSettings.ConnectionVariable] = "Host=elsewhere" };
        Assert.That(RigConfigLoader.Parse(Rig, "t.yaml", name => env.GetValueOrDefault(name)).Fleet!.ConnectionString, Is.EqualTo("Host=elsewhere"));

        var e = Assert.Throws<ConfigException>(() => RigConfigLoader.Parse(Rig, "t.yaml", name => name == "FLEET_PW" ? "f" : null))!;
        Assert.That(e.Errors.Select(x => x.ToString()), Is.EqualTo(new[]
        {
            "t.yaml:4:46: results.connectionString: ${READER_PW} names environment variable READER_PW, which is not set; export it or write the value itself",
        }));
    }
}
