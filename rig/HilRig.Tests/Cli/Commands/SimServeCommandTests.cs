using System.Diagnostics;
using HilRig.Tests.Hardware;

namespace HilRig.Tests.Cli;

[NonParallelizable]
[Category("Integration")] // starts real tools, servers or child processes
public partial class SimServeCommandTests
{
    private static string ShortPath(string name) => Path.Combine(Path.GetTempPath(), $"hilrig-{Environment.ProcessId}-{name}");

    [Test]
    public async Task Serve_prints_its_sockets_writes_a_sourceable_env_file_and_stops_after_the_given_seconds()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        var usb = ShortPath("u.sock");
        var control = ShortPath("c.sock");
        var env = Path.Combine(Path.GetDirectoryName(config)!, "sim.env");

        var run = Task.Run(() => CliHarness.Run("sim", "serve", "--config", config, "--socket", usb, "--control", control, "--env-file", env, "--speed", "10", "--seconds", "6"));
        var lines = await WaitForFileAsync(env, run);
        string? reply;
        using (var client = await ControlClient.ConnectAsync(control))
            reply = await client.SendAsync("dfu 1");
        var (exit, output, error) = await run;

        Assert.That(exit, Is.Zero, error);
        Assert.That(lines, Does.Contain($"HILRIG_USB_SOCKET={usb}"));
        Assert.That(lines, Does.Contain($"HILRIG_CONTROL_SOCKET={control}"));
        var libraryPath = lines.Single(l => l.StartsWith("LD_LIBRARY_PATH=", StringComparison.Ordinal))["LD_LIBRARY_PATH=".Length..];
        Assert.That(File.Exists(Path.Combine(libraryPath, "libusb-1.0.so.0")), Is.True, $"the env file's LD_LIBRARY_PATH {libraryPath} holds the shim");
        Assert.That(reply, Is.EqualTo("ok slot 1 in DFU at 1-1.1"));
        Assert.That(output, Does.Contain($"usb socket:     {usb}").And.Contain($"control socket: {control}").And.Contain("hilrig sim serve: stopped"));
        Assert.That(File.Exists(usb) || File.Exists(control) || File.Exists(env), Is.False, "sockets and env file are removed on the way out");
    }

    [TestCase("--speed", "0", "--speed 0: must be a positive number")]
    [TestCase("--seconds", "-1", "--seconds -1: must be a positive number of seconds")]
    [TestCase("--socket", "/no/such/folder/u.sock", "--socket /no/such/folder/u.sock: folder /no/such/folder does not exist")]
    public void Bad_options_are_one_line_and_exit_2(string option, string value, string message)
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());

        string[] limit = option == "--seconds" ? [] : ["--seconds", "1"];

        var (exit, _, error) = CliHarness.Run(["sim", "serve", "--config", config, option, value, .. limit]);

        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error.Trim(), Does.Contain(message));
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1));
    }

    [Test]
    public async Task Sigterm_stops_the_served_rig_cleanly()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        var usb = ShortPath("tu.sock");
        var control = ShortPath("tc.sock");
        var env = Path.Combine(Path.GetDirectoryName(config)!, "sim.env");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(TestContext.CurrentContext.TestDirectory, "hilrig.dll"), "sim", "serve", "--config", config, "--socket", usb, "--control", control, "--env-file", env })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();

        await WaitForFileAsync(env, stdout);
        Assert.That(PosixSignals.Terminate(process.Id), Is.Zero, "SIGTERM sent");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await process.WaitForExitAsync(timeout.Token);

        Assert.That(process.ExitCode, Is.Zero, await stderr);
        Assert.That(await stdout, Does.Contain("hilrig sim serve: stopped"));
        Assert.That(File.Exists(usb) || File.Exists(control) || File.Exists(env), Is.False, "sockets and env file are removed on the way out");
        Assert.That(Directory.Exists(Path.Combine(Path.GetDirectoryName(config)!, "results", "sim-state")), Is.True, "the Cores' flash is saved for the next run");
    }

    private static async Task<string[]> WaitForFileAsync(string path, Task running)
    {
        var start = TimeProvider.System.GetTimestamp();
        while (!File.Exists(path))
        {
            if (running.IsCompleted) Assert.Fail($"the server stopped before writing {path}");
            if (TimeProvider.System.GetElapsedTime(start) > TimeSpan.FromSeconds(20)) Assert.Fail($"{path} not written within 20 s");
            await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System);
        }
        return await File.ReadAllLinesAsync(path);
    }
}

[Category("Integration")] // starts real tools, servers or child processes
public class BenchDfuUtilCommandTests
{
    [Test]
    public void A_missing_dfu_util_is_a_rig_fault_named_in_one_line()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());

        var (exit, output, error) = CliHarness.Run("bench", "dfu-util", "--config", config, "--dfu-util", "/no/such/dfu-util");

        Assert.That(exit, Is.EqualTo(3));
        Assert.That(error.Trim(), Is.EqualTo("hilrig: dfu-util not found at /no/such/dfu-util (run scripts/setup.sh or apt-get install dfu-util)"));
        Assert.That(output, Is.Empty, "nothing measured, nothing printed");
    }
}
