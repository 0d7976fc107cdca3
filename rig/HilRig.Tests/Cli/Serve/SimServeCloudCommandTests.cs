using System.Net;
using System.Net.Http.Headers;
using HilRig.Core.Config;
using HilRig.Tests.Cli;

namespace HilRig.Tests.Cloud;

/// <summary>`hilrig sim serve --cloud-port`: the simulated cloud's REST API next to the USB and control sockets.</summary>
[NonParallelizable]
[Category("Integration")] // starts real tools, servers or child processes
public class SimServeCloudCommandTests
{
    private static string ShortPath(string name) => Path.Combine(Path.GetTempPath(), $"hilrig-{Environment.ProcessId}-{name}");

    [Test]
    public async Task Serve_with_a_cloud_port_writes_the_cloud_url_and_token_to_an_owner_only_env_file_that_a_rig_config_picks_up()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        var env = Path.Combine(Path.GetDirectoryName(config)!, "sim.env");

        var run = Task.Run(() => CliHarness.Run("sim", "serve", "--config", config, "--socket", ShortPath("cu.sock"), "--control", ShortPath("cc.sock"),
            "--env-file", env, "--speed", "10", "--seconds", "5", "--cloud-port", "0", "--cloud-token", "serve-test-token"));
        var lines = await WaitForFileAsync(env, run);
        var variables = lines.Where(l => l.Contains('=', StringComparison.Ordinal) && !l.StartsWith("export", StringComparison.Ordinal))
            .ToDictionary(l => l[..l.IndexOf('=', StringComparison.Ordinal)], l => l[(l.IndexOf('=', StringComparison.Ordinal) + 1)..]);
        var mode = OperatingSystem.IsWindows() ? default : File.GetUnixFileMode(env);
        string body;
        HttpStatusCode status;
        using (var http = new HttpClient { BaseAddress = new Uri(variables["HILRIG_CLOUD_URL"]) })
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", variables["HILRIG_CLOUD_TOKEN"]);
            using var response = await http.GetAsync(new Uri("v1/devices", UriKind.Relative));
            status = response.StatusCode;
            body = await response.Content.ReadAsStringAsync();
        }
        var cloud = RigConfigLoader.Load(config, name => variables.GetValueOrDefault(name)).Cloud;
        var (exit, output, error) = await run;

        Assert.That(exit, Is.Zero, error);
        Assert.That(variables["HILRIG_CLOUD_URL"], Does.Match(@"^http://127\.0\.0\.1:\d+/$"));
        Assert.That(variables["HILRIG_CLOUD_TOKEN"], Is.EqualTo("serve-test-token"));
        Assert.That(lines, Does.Contain("export HILRIG_CLOUD_URL HILRIG_CLOUD_TOKEN"));
        Assert.That(mode, Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite), "the env file holds the token");
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(body, Is.EqualTo("[]"), "no Core has been on the cloud yet (they start powered off)");
        Assert.That(cloud, Is.EqualTo(new CloudSettings(new Uri(variables["HILRIG_CLOUD_URL"]), "serve-test-token", CloudSettings.DefaultRequestTimeout, CloudSettings.DefaultFlashTimeout)));
        Assert.That(output, Does.Contain($"cloud:          {variables["HILRIG_CLOUD_URL"]}"));
        Assert.That(output, Does.Not.Contain("serve-test-token"), "the token is in the env file only");
    }

    [Test]
    public void Without_a_cloud_port_no_cloud_is_served_and_the_env_file_names_none()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        var env = Path.Combine(Path.GetDirectoryName(config)!, "sim.env");
        var run = Task.Run(() => CliHarness.Run("sim", "serve", "--config", config, "--socket", ShortPath("nu.sock"), "--control", ShortPath("nc.sock"),
            "--env-file", env, "--speed", "10", "--seconds", "2"));
        var lines = WaitForFileAsync(env, run).GetAwaiter().GetResult();
        var (exit, output, _) = run.GetAwaiter().GetResult();
        Assert.That(exit, Is.Zero);
        Assert.That(lines, Has.None.Contains("HILRIG_CLOUD"));
        Assert.That(output, Does.Not.Contain("cloud:"));
    }

    [TestCase(new[] { "--cloud-port", "70000" }, "hilrig: --cloud-port 70000: valid: a TCP port 1-65535, or 0 for any free port")]
    [TestCase(new[] { "--cloud-token", "abc" }, "hilrig: --cloud-token: only with --cloud-port N (the cloud is served only then)")]
    [TestCase(new[] { "--cloud-port", "0", "--cloud-token", "a b" }, "hilrig: --cloud-token: must be a non-empty token without spaces (it goes in an Authorization: Bearer header)")]
    public void Bad_cloud_options_are_one_line_and_exit_2(string[] options, string message)
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());

        var (exit, output, error) = CliHarness.Run(["sim", "serve", "--config", config, "--seconds", "1", .. options]);

        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error.Trim(), Is.EqualTo(message));
        Assert.That(output, Is.Empty);
    }

    private static async Task<string[]> WaitForFileAsync(string path, Task running)
    {
        var start = TimeProvider.System.GetTimestamp();
        while (!File.Exists(path))
        {
            if (running.IsCompleted) Assert.Fail($"the server stopped before writing {path}: {running}");
            if (TimeProvider.System.GetElapsedTime(start) > TimeSpan.FromSeconds(20)) Assert.Fail($"{path} not written within 20 s");
            await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System);
        }
        return await File.ReadAllLinesAsync(path);
    }
}

/// <summary>`hilrig bench cloud`: one OTA over HTTP against the in-process cloud; figures printed, not judged.</summary>
[NonParallelizable]
[Category("Integration")] // starts real tools, servers or child processes
public class BenchCloudCommandTests
{
    [Test]
    public void One_OTA_over_HTTP_prints_its_wall_and_device_times_next_to_the_in_process_clouds()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());

        var (exit, output, error) = CliHarness.Run("bench", "cloud", "--config", config, "--speed", "10", "--size", "4096");

        Assert.That(exit, Is.Zero, error);
        Assert.That(CliHarness.Unwrapped(output), Does.Contain("OTA of 4096 bytes (16 chunks) to the simulated Core in slot 1 (1-1.1) through http://127.0.0.1:"));
        Assert.That(output, Does.Contain("GET /v1/devices/:id round trip: median"));
        Assert.That(output, Does.Match(@"HTTP, wall time \(x10\) +\d+\.\d{3} s +\d+\.\d{3} s +\d+\.\d{3} s"));
        Assert.That(output, Does.Match(@"in-process cloud, device time +\d+\.\d{3} s +\d+\.\d{3} s +\d+\.\d{3} s"));
    }

    [TestCase("--size", "100", "hilrig: --size 100: valid: 1024..")]
    [TestCase("--speed", "-1", "hilrig: --speed -1: must be a positive number (1 = real time)")]
    public void Bad_options_are_one_line_and_exit_2(string option, string value, string message)
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());

        var (exit, _, error) = CliHarness.Run("bench", "cloud", "--config", config, option, value);

        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error.Trim(), Does.StartWith(message));
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1));
    }
}
