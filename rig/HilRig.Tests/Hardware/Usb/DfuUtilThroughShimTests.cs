namespace HilRig.Tests.Hardware;

[Category("Integration")] // starts real tools, servers or child processes
public class DfuUtilThroughShimTests
{
    [Test]
    public async Task Dfu_util_lists_both_Spark_Core_memories_with_path_and_serial()
    {
        var dfuUtil = ExternalTool.Require("dfu-util");
        _ = Shim.LibraryPath;
        var core = new FakeSparkDfuDevice();
        await using var served = new ServedBus(new FakeUsbBus(core));

        var run = await ExternalToolRun.ThroughShimAsync(dfuUtil, served.SocketPath, "-l");

        TestContext.Out.WriteLine(run.ToString());
        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        var found = run.StdOut.Split('\n').Where(l => l.StartsWith("Found DFU: ", StringComparison.Ordinal)).ToList();
        Assert.That(found, Is.EquivalentTo(new[]
        {
            $"Found DFU: [1d50:607f] ver=0200, devnum=7, cfg=1, intf=0, path=\"1-1.3\", alt=0, name=\"{FakeSparkDfuDevice.InternalFlashName}\", serial=\"{FakeSparkDfuDevice.Serial}\"",
            $"Found DFU: [1d50:607f] ver=0200, devnum=7, cfg=1, intf=0, path=\"1-1.3\", alt=1, name=\"{FakeSparkDfuDevice.SpiFlashName}\", serial=\"{FakeSparkDfuDevice.Serial}\"",
        }), run.ToString());
        Assert.That(served.Errors, Is.Empty);
    }

    [Test]
    public async Task Dfu_util_at_highest_verbosity_still_lists_and_reports_the_libusb_version()
    {
        var dfuUtil = ExternalTool.Require("dfu-util");
        _ = Shim.LibraryPath;
        await using var served = new ServedBus(new FakeUsbBus(new FakeSparkDfuDevice()));

        var run = await ExternalToolRun.ThroughShimAsync(dfuUtil, served.SocketPath, "-v", "-v", "-v", "-l");

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Assert.That(run.StdOut + run.StdErr, Does.Contain("libusb version 1.0.26"), run.ToString());
        Assert.That(run.StdOut.Split('\n').Count(l => l.StartsWith("Found DFU: [1d50:607f]", StringComparison.Ordinal)), Is.EqualTo(2), run.ToString());
    }

    [Test]
    public async Task Dfu_util_without_a_reachable_socket_fails_naming_the_socket()
    {
        var dfuUtil = ExternalTool.Require("dfu-util");
        _ = Shim.LibraryPath;

        var run = await ExternalToolRun.ThroughShimAsync(dfuUtil, "/tmp/hilrig-no-such.sock", "-l");

        Assert.That(run.ExitCode, Is.Not.Zero);
        Assert.That(run.StdErr, Does.Contain("HILRIG_USB_SOCKET=/tmp/hilrig-no-such.sock"));
    }
}
