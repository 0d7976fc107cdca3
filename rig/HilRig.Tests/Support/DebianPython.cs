using System.Diagnostics;

namespace HilRig.Tests.Hardware;

/// <summary>
/// Debian's /usr/bin/python3 with a packaged module (python3-serial, python3-usb), as a user of the served rig runs
/// it. Missing locally: the test is skipped; missing under CI=true: it fails (scripts/setup.sh installs both).
/// </summary>
internal static class DebianPython
{
    public const string Interpreter = "/usr/bin/python3";

    /// <summary>Skips (or under CI fails) unless <c>import <paramref name="module"/></c> works in Debian's python3.</summary>
    public static void Require(string module, string package)
    {
        var reason = $"{Interpreter} cannot import {module} (apt-get install {package}, or run scripts/setup.sh)";
        var ok = File.Exists(Interpreter) && Run(["-c", $"import {module}"], TimeSpan.FromSeconds(20)).GetAwaiter().GetResult().ExitCode == 0;
        if (ok) return;
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            Assert.Fail($"{reason}; CI=true requires it");
        Assert.Ignore(reason);
    }

    /// <summary>Runs a script given as text with its arguments; a hung script fails the test.</summary>
    public static Task<ExternalToolRun.Result> RunScriptAsync(string script, params string[] args) => RunScriptAsync(script, null, args);

    /// <param name="environment">More environment variables (HILRIG_USB_SOCKET for the shim).</param>
    public static async Task<ExternalToolRun.Result> RunScriptAsync(string script, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var path = Path.Combine(Path.GetTempPath(), $"hilrig-py-{Guid.NewGuid():N}.py");
        await File.WriteAllTextAsync(path, script);
        try
        {
            return await Run([path, .. args], TimeSpan.FromSeconds(60), environment);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static async Task<ExternalToolRun.Result> Run(string[] args, TimeSpan limit, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(Interpreter) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        // Debian's own modules only: no user site-packages, no pyenv
        start.Environment["PYTHONNOUSERSITE"] = "1";
        start.Environment.Remove("PYTHONPATH");
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {Interpreter}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            Assert.Fail($"python3 {string.Join(' ', args)} did not finish within {limit.TotalSeconds:0} s");
        }
        return new ExternalToolRun.Result(process.ExitCode, await stdout, await stderr);
    }
}
