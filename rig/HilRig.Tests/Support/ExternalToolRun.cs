using System.Diagnostics;

namespace HilRig.Tests.Hardware;

/// <summary>Runs a real tool (dfu-util, uhubctl) against a served bus through the libusb shim.</summary>
internal static class ExternalToolRun
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{StdOut}--- stderr\n{StdErr}";
    }

    public static async Task<Result> ThroughShimAsync(string tool, string socketPath, params string[] args)
    {
        var start = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["LD_LIBRARY_PATH"] = Shim.Directory;
        start.Environment["HILRIG_USB_SOCKET"] = socketPath;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {tool}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        // a hung tool must fail the test, not the whole run
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            Assert.Fail($"{tool} {string.Join(' ', args)} did not finish within 30 s");
        }
        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
