using System.Text.RegularExpressions;
using HilRig.Core.Config;

namespace HilRig.Tests;

/// <summary>Rig configs for tests: the committed default rig with a different sim: section, in a temp folder of its own.</summary>
internal static partial class TestRigs
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string DefaultConfigText => File.ReadAllText(Path.Combine(RepoRoot, "rig-config.yaml"));

    /// <summary>
    /// A temp folder with rig-config.yaml whose sim.cores are <paramref name="coreLines"/> (YAML flow maps, one per line);
    /// <paramref name="simLines"/> are more keys of the sim section, e.g. "bootloaderProtected: false".
    /// </summary>
    public static string WriteConfig(string[] coreLines, int seed = 42, string bootloader = "BL14", params string[] simLines)
    {
        var dir = Path.Combine(Path.GetTempPath(), "hilrig-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var text = SimSection().Replace(DefaultConfigText, "");
        text += $"sim:\n  seed: {seed}\n  bootloader: {bootloader}\n" + string.Concat(simLines.Select(l => $"  {l}\n"))
            + "  cores:\n" + string.Concat(coreLines.Select(l => $"    - {l}\n"));
        var path = Path.Combine(dir, "rig-config.yaml");
        File.WriteAllText(path, text);
        return path;
    }

    public static RigConfig Load(string[] coreLines, int seed = 42, string bootloader = "BL14") =>
        RigConfigLoader.Load(WriteConfig(coreLines, seed, bootloader));

    /// <summary>The default rig's eight healthy Cores from two lots, with per-slot overrides of the flash condition.</summary>
    public static string[] DefaultCores(params (int Slot, string Flash)[] overrides) =>
        [.. Enumerable.Range(1, 8).Select(slot =>
        {
            var lot = slot <= 4 ? "SST25-1348A" : "SST25-1402B";
            var flash = overrides.FirstOrDefault(o => o.Slot == slot).Flash ?? "healthy";
            return $"{{ slot: {slot}, lot: {lot}, flash: {flash} }}";
        })];

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "HilRig.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("HilRig.sln not found above the test binaries");
    }

    [GeneratedRegex(@"^sim:.*", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex SimSection();
}
