using System.Diagnostics;
using System.Xml.Linq;

namespace HilRig.Tests.Suites;

/// <summary>
/// Runs the HIL suites (suites/HilRig.Suites) as a child `dotnet test`, the way a QA engineer does, in a folder of
/// its own: the rig config, results store, Allure results and TRX all land there, so a failing suite run (a
/// bad-flash rig) is asserted on here and never counted in the main run.
/// </summary>
internal sealed class SuiteRun
{
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    private SuiteRun(string folder, int exitCode, string output, IReadOnlyList<CaseResult> cases)
    {
        Folder = folder;
        ExitCode = exitCode;
        Output = output;
        Cases = cases;
    }

    public string Folder { get; }

    public string AllureResults => Path.Combine(Folder, "allure-results");

    public string StorePath => Path.Combine(Folder, "results", "hilrig.db");

    public int ExitCode { get; }

    public string Output { get; }

    public IReadOnlyList<CaseResult> Cases { get; }

    public sealed record CaseResult(string Name, string Outcome, string Message);

    /// <summary>A temp folder holding a copy of <paramref name="configText"/> as rig-config.yaml.</summary>
    public static string NewFolder(string configText)
    {
        var folder = Path.Combine(Path.GetTempPath(), "hilrig-suites", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "rig-config.yaml"), configText);
        return folder;
    }

    /// <param name="environment">Extra environment for the test host (HILRIG_CONFIG defaults to the folder's config).</param>
    /// <param name="runSettings">NUnit test parameters as `name=value` (passed as TestRunParameters).</param>
    public static async Task<SuiteRun> RunAsync(string folder, string filter, IDictionary<string, string>? environment = null, IDictionary<string, string>? runSettings = null)
    {
        var project = Path.Combine(RepoFiles.Root, "suites", "HilRig.Suites", "HilRig.Suites.csproj");
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var trxDir = Path.Combine(folder, "trx");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = folder,
        };
        foreach (var a in new[] { "test", project, "--no-build", "-c", configuration, "--nologo", "--filter", filter, "--logger", "trx;LogFileName=suites.trx", "--results-directory", trxDir })
            start.ArgumentList.Add(a);
        if (runSettings is not null)
        {
            start.ArgumentList.Add("--");
            foreach (var (name, value) in runSettings)
                start.ArgumentList.Add($"TestRunParameters.Parameter(name=\"{name}\", value=\"{value}\")");
        }
        start.Environment["HILRIG_CONFIG"] = Path.Combine(folder, "rig-config.yaml");
        start.Environment["ALLURE_RESULTS_DIR"] = Path.Combine(folder, "allure-results");
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        if (environment is not null)
            foreach (var (name, value) in environment) start.Environment[name] = value;

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet test");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"the suite run ({filter}) did not finish within {Timeout.TotalMinutes} min");
        }
        var output = await stdout + await stderr;
        var trx = Path.Combine(trxDir, "suites.trx");
        if (!File.Exists(trx))
            Assert.Fail($"the suite run ({filter}) wrote no TRX (exit {process.ExitCode}):\n{output}");
        return new SuiteRun(folder, process.ExitCode, output, ReadTrx(trx));
    }

    private static List<CaseResult> ReadTrx(string path)
    {
        var doc = XDocument.Load(path);
        XNamespace ns = "http://microsoft.com/schemas/VisualStudio/TeamTest/2010";
        return [.. doc.Descendants(ns + "UnitTestResult").Select(r => new CaseResult(
            (string?)r.Attribute("testName") ?? "",
            (string?)r.Attribute("outcome") ?? "",
            string.Join("\n", r.Descendants(ns + "Message").Select(m => m.Value).Concat(r.Descendants(ns + "StdOut").Select(m => m.Value)))))];
    }
}
