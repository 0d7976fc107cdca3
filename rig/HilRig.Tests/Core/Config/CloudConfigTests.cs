using HilRig.Core.Config;

namespace HilRig.Tests.Cloud;

/// <summary>The root `cloud:` section and HILRIG_CLOUD_URL / HILRIG_CLOUD_TOKEN: where a Pi rig's cloud is and its token.</summary>
public class CloudConfigTests
{
    private const string Rig = """
        rigId: t
        backend: pi
        results: { kind: sqlite, path: r.db }
        slots:
          - { slot: 1, power: { gpio: 5 }, mode: { gpio: 6 }, reset: { gpio: 13 }, usb: { hub: "1-1", port: 1 }, sensor: { mux: 0x70, channel: 0 } }
        """;

    private static RigConfig Parse(string cloud, params (string Name, string Value)[] environment)
    {
        var env = environment.ToDictionary(e => e.Name, e => e.Value);
        return RigConfigLoader.Parse(Rig + "\n" + cloud + "\n", "t.yaml", name => env.GetValueOrDefault(name));
    }

    private static IEnumerable<string> Errors(string cloud, params (string Name, string Value)[] environment) =>
        Assert.Throws<ConfigException>(() => Parse(cloud, environment))!.Errors.Select(e => e.ToString());

    [Test]
    public void Without_a_cloud_section_or_environment_no_cloud_is_configured()
    {
        Assert.That(Parse("").Cloud, Is.Null);
        Assert.That(Parse("", ("HILRIG_CLOUD_TOKEN", "t")).Cloud, Is.Null, "a token alone names no cloud");
    }

    [Test]
    public void The_section_gives_url_token_and_timeouts_with_defaults()
    {
        Assert.That(Parse("cloud: { url: \"http://127.0.0.1:8080\", token: abc123 }").Cloud,
            Is.EqualTo(new CloudSettings(new Uri("http://127.0.0.1:8080/"), "abc123", TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(120))));
        Assert.That(Parse("cloud: { url: \"https://cloud.example/particle\", token: abc, timeoutSeconds: 5, flashTimeoutSeconds: 100 }").Cloud,
            Is.EqualTo(new CloudSettings(new Uri("https://cloud.example/particle/"), "abc", TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(100))));
    }

    [Test]
    public void A_token_written_as_a_variable_reference_is_read_from_the_environment()
    {
        Assert.That(Parse("cloud: { url: \"http://127.0.0.1:8080\", token: \"${RIG_TOKEN}\" }", ("RIG_TOKEN", "from-env")).Cloud!.Token, Is.EqualTo("from-env"));
    }

    [Test]
    public void The_environment_overrides_url_and_token()
    {
        var cloud = Parse("cloud: { url: \"http://127.0.0.1:8080\", token: in-file, timeoutSeconds: 7 }",
            ("HILRIG_CLOUD_URL", "http://127.0.0.1:39999"), ("HILRIG_CLOUD_TOKEN", "from-env"))!.Cloud!;
        Assert.That(cloud, Is.EqualTo(new CloudSettings(new Uri("http://127.0.0.1:39999/"), "from-env", TimeSpan.FromSeconds(7), TimeSpan.FromSeconds(120))));
        Assert.That(Parse("", ("HILRIG_CLOUD_URL", "http://127.0.0.1:39999/"), ("HILRIG_CLOUD_TOKEN", "t")).Cloud!.Url, Is.EqualTo(new Uri("http://127.0.0.1:39999/")),
            "the environment alone configures the cloud (what `hilrig sim serve --cloud-port` writes)");
    }

    [Test]
    public void The_token_stays_out_of_the_settings_text()
    {
        var text = Parse("cloud: { url: \"http://127.0.0.1:8080\", token: s3cr3t-t0ken }").Cloud!.ToString();
        Assert.That(text, Does.Not.Contain("s3cr3t"));
        Assert.That(text, Does.Contain("http://127.0.0.1:8080/").And.Contain("12 characters"));
    }

    [TestCase("cloud: { url: \"ftp://x\", token: t }", "t.yaml:6:15: cloud.url: 'ftp://x' is not a cloud base URL; valid: http:// or https:// with host and optional port and path, no query, e.g. http://127.0.0.1:8080 (a local spark-server)")]
    [TestCase("cloud: { url: \"http://h/?a=1\", token: t }", "t.yaml:6:15: cloud.url: 'http://h/?a=1' is not a cloud base URL; valid: http:// or https:// with host and optional port and path, no query, e.g. http://127.0.0.1:8080 (a local spark-server)")]
    [TestCase("cloud: { url: \"http://h\", token: t, timeoutSeconds: 0 }", "t.yaml:6:53: cloud.timeoutSeconds: 0 is not a request timeout; valid: seconds, > 0 and <= 600 (default 30)")]
    [TestCase("cloud: { url: \"http://h\", token: t, flashTimeoutSeconds: 1000 }", "t.yaml:6:58: cloud.flashTimeoutSeconds: 1000 is not a flash request timeout; valid: seconds, > 0 and <= 900 (default 120; spark-server answers a silent device after 90 s)")]
    [TestCase("cloud: { url: \"http://h\", token: t, port: 1 }", "t.yaml:6:37: cloud.port: unknown key 'port'; valid: url, token, timeoutSeconds, flashTimeoutSeconds")]
    [TestCase("cloud: { token: t }", "t.yaml:6:8: cloud.url: missing required key 'url' (or set HILRIG_CLOUD_URL), e.g. http://127.0.0.1:8080")]
    [TestCase("cloud: { url: \"http://h\" }", "t.yaml:6:8: cloud.token: the cloud at http://h/ needs an access token: cloud.token (a token or ${NAME} of an environment variable) or HILRIG_CLOUD_TOKEN")]
    [TestCase("cloud: { url: \"http://h\", token: \"${NOT_SET}\" }", "t.yaml:6:34: cloud.token: ${NOT_SET} names environment variable NOT_SET, which is not set; export it or write the token itself")]
    [TestCase("cloud: { url: \"http://h\", token: \"\" }", "t.yaml:6:34: cloud.token: '' is not an access token; expected a non-empty text")]
    [TestCase("cloud: http://h", "t.yaml:6:8: cloud: 'http://h' is not a mapping; expected keys: url, token, timeoutSeconds, flashTimeoutSeconds")]
    public void A_bad_cloud_section_is_one_error_at_its_node(string cloud, string expected)
    {
        Assert.That(Errors(cloud), Is.EqualTo(new[] { expected }));
    }

    [Test]
    public void A_bad_environment_url_names_the_variable()
    {
        Assert.That(Errors("", ("HILRIG_CLOUD_URL", "127.0.0.1:8080"), ("HILRIG_CLOUD_TOKEN", "t")), Is.EqualTo(new[]
        {
            "t.yaml:1:1: cloud.url: HILRIG_CLOUD_URL=127.0.0.1:8080 is not a cloud base URL; valid: http:// or https:// with host and optional port and path, no query, e.g. http://127.0.0.1:8080 (a local spark-server)",
        }));
    }

    [Test]
    public void A_url_without_any_token_is_an_error_naming_both_ways_to_give_one()
    {
        Assert.That(Errors("", ("HILRIG_CLOUD_URL", "http://127.0.0.1:8080")).Single(), Does.Contain("cloud.token").And.Contain("HILRIG_CLOUD_TOKEN"));
    }
}
