using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using HilRig.Core.Spark;

namespace HilRig.Core.Campaigns;

public enum CampaignKind
{
    /// <summary>Bootloader qualification: cycles of OTA and factory reset, candidate against a baseline.</summary>
    Soak,

    /// <summary>Chip-lot qualification: batches of Cores through the screening procedure.</summary>
    Screen,
}

/// <summary>What the candidate arm's Cores run: a simulated build by name, or an image file stored centrally by content hash.</summary>
public abstract record CampaignBootloader
{
    private CampaignBootloader()
    {
    }

    /// <summary>BL13, BL14 or candidate (the simulator's behaviours; on a real rig, the build the Cores already carry).</summary>
    public sealed record Build(string Name) : CampaignBootloader
    {
        public override string ToString() => Name;
    }

    /// <summary>An image flashed before cycle 1; rigs fetch it by <paramref name="Sha256"/> (lower-case hex) and check it.</summary>
    public sealed record Image(string Path, string Sha256, int Length) : CampaignBootloader
    {
        public override string ToString() => $"{System.IO.Path.GetFileName(Path)} (sha256 {Sha256[..12]})";
    }
}

/// <summary>What the candidate is compared with.</summary>
public abstract record CampaignBaseline
{
    private CampaignBaseline()
    {
    }

    /// <summary>
    /// A build soaked by the campaign itself, on the same rigs and Cores as the candidate (a concurrent control): the
    /// decision rule can look after every pair of work items, since both arms' exposure grows together.
    /// </summary>
    public virtual bool Concurrent => false;

    public sealed record Build(string Name) : CampaignBaseline
    {
        public override bool Concurrent => true;

        public override string ToString() => Name;
    }

    /// <summary>
    /// A stored baseline as typed: a soak run id (full or an unambiguous prefix, as `hilrig runs` takes it) or an earlier
    /// campaign's name; which one it is is known only in the fleet store (<see cref="CampaignStore.ResolveBaseline"/>).
    /// </summary>
    public sealed record Stored(string Reference) : CampaignBaseline
    {
        public override string ToString() => Reference;
    }

    /// <summary>A soak run in the fleet store (its counts are fixed when the campaign is created).</summary>
    public sealed record Run(string RunId) : CampaignBaseline
    {
        public override string ToString() => $"run {RunId}";
    }

    /// <summary>An earlier campaign's candidate arm (its counts are fixed when the campaign is created).</summary>
    public sealed record Campaign(string Name) : CampaignBaseline
    {
        public override string ToString() => $"campaign {Name}";
    }
}

/// <summary>
/// A qualification campaign: one question ("is this bootloader build safe to ship?", "is this chip lot good enough?")
/// answered over many rigs. <see cref="Margin"/> is the non-inferiority margin as a relative excess: the candidate's
/// failure rate may be at most (1 + Margin) times the baseline's (0.5: at most 50 % more failures per 1,000 cycles).
/// A ratio rather than a per-1,000 difference because the exact conditional binomial test stays exact only for a
/// ratio (its null distribution depends on the two rates through their ratio alone; a difference would need the
/// unknown baseline rate plugged in), and because one ratio fits every lot whatever its own base rate.
/// </summary>
/// <param name="Cycles">Soak: the candidate's cycles in total (the baseline build runs as many); the campaign's end if no decision comes earlier.</param>
/// <param name="Cores">Screen: Cores to screen.</param>
/// <param name="Lots">Chip lots the campaign runs on (empty: whatever the rigs hold).</param>
/// <param name="Rigs">Rigs allowed to run it (empty: any healthy rig).</param>
public sealed record Campaign(
    string Name,
    CampaignKind Kind,
    CampaignBootloader? Bootloader,
    CampaignBaseline? Baseline,
    long Cycles,
    int Cores,
    IReadOnlyList<string> Lots,
    IReadOnlyList<string> Rigs,
    double Margin,
    double Alpha,
    double Power)
{
    public const double DefaultMargin = 1.0;
    public const double DefaultAlpha = 0.05;
    public const double DefaultPower = 0.8;
    public const long DefaultCycles = 20_000;
    public const long MaxCycles = 100_000_000;
    public const int MaxCores = 1_000_000;
}

/// <summary>A campaign as typed on the command line (`hilrig campaign create NAME --kind ... `): every field a string or absent.</summary>
public sealed record CampaignRequest(string Name)
{
    public string? Kind { get; init; }
    public string? Bootloader { get; init; }
    public string? Baseline { get; init; }
    public string? Cycles { get; init; }
    public string? Cores { get; init; }
    public string? Lots { get; init; }
    public string? Rigs { get; init; }
    public string? Margin { get; init; }
    public string? Alpha { get; init; }
    public string? Power { get; init; }
}

/// <summary>Turns a <see cref="CampaignRequest"/> into a <see cref="Campaign"/>, or one line per problem naming the option, the value and what would be valid.</summary>
public static partial class CampaignValidation
{
    public static readonly string[] Builds = ["BL13", "BL14", "candidate"];

    /// <param name="readFile">Reads a bootloader image (null: the file system), so callers can validate without touching disk.</param>
    public static bool TryParse(CampaignRequest request, out Campaign? campaign, out IReadOnlyList<string> errors, Func<string, byte[]?>? readFile = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        readFile ??= ReadIfExists;
        var problems = new List<string>();
        campaign = null;

        if (!NamePattern().IsMatch(request.Name))
            problems.Add($"campaign name '{request.Name}': valid: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");

        var kind = CampaignKind.Soak;
        if (request.Kind is not null)
        {
            switch (request.Kind)
            {
                case "soak": kind = CampaignKind.Soak; break;
                case "screen": kind = CampaignKind.Screen; break;
                default: problems.Add($"--kind {request.Kind}: valid: soak or screen"); break;
            }
        }

        CampaignBootloader? bootloader = null;
        CampaignBaseline? baseline = null;
        long cycles = 0;
        var cores = 0;
        if (kind == CampaignKind.Soak)
        {
            bootloader = ParseBootloader(request.Bootloader ?? "candidate", readFile, problems);
            baseline = ParseBaseline(request.Baseline ?? "BL14", problems);
            cycles = request.Cycles is null ? Campaign.DefaultCycles : ParseLong("--cycles", request.Cycles, 1, Campaign.MaxCycles, problems);
            if (request.Cores is not null) problems.Add($"--cores {request.Cores}: only for --kind screen (a soak's size is --cycles)");
        }
        else
        {
            foreach (var (option, value) in new[] { ("--bootloader", request.Bootloader), ("--baseline", request.Baseline), ("--cycles", request.Cycles) })
            {
                if (value is not null) problems.Add($"{option} {value}: only for --kind soak (a screen judges the Cores' flash, not a bootloader)");
            }
            cores = request.Cores is null ? 0 : (int)ParseLong("--cores", request.Cores, 1, Campaign.MaxCores, problems);
            if (request.Cores is null) problems.Add("--cores: a screen campaign needs the number of Cores to screen, e.g. --cores 64");
        }

        var lots = ParseList("--lots", request.Lots, problems);
        var rigs = ParseList("--rigs", request.Rigs, problems);
        var margin = request.Margin is null ? Campaign.DefaultMargin : ParseDouble("--margin", request.Margin, problems, m => m > 0 && m <= 10, "a relative excess above 0 and at most 10, e.g. 0.5 (the candidate may fail at most 1.5 times as often as the baseline)");
        var alpha = request.Alpha is null ? Campaign.DefaultAlpha : ParseDouble("--alpha", request.Alpha, problems, a => a > 0 && a <= 0.5, "a number above 0 and at most 0.5, e.g. 0.05");
        var power = request.Power is null ? Campaign.DefaultPower : ParseDouble("--power", request.Power, problems, p => p >= 0.5 && p < 1, "a number from 0.5 to below 1, e.g. 0.8");

        errors = problems;
        if (problems.Count > 0) return false;
        campaign = new Campaign(request.Name, kind, bootloader, baseline, cycles, cores, lots, rigs, margin, alpha, power);
        return true;
    }

    private static CampaignBootloader? ParseBootloader(string value, Func<string, byte[]?> readFile, List<string> problems)
    {
        var build = Builds.FirstOrDefault(b => b.Equals(value, StringComparison.OrdinalIgnoreCase));
        if (build is not null) return new CampaignBootloader.Build(build);
        var bytes = readFile(value);
        if (bytes is null)
        {
            problems.Add($"--bootloader {value}: no such file; valid: BL13, BL14, candidate or a bootloader image file");
            return null;
        }
        if (bytes.Length == 0 || bytes.Length > SparkMemoryMap.BootloaderMaxSize)
        {
            problems.Add($"--bootloader {value}: {bytes.Length} bytes; a bootloader image is 1..{SparkMemoryMap.BootloaderMaxSize} bytes (pages 0-18)");
            return null;
        }
        return new CampaignBootloader.Image(value, Convert.ToHexStringLower(SHA256.HashData(bytes)), bytes.Length);
    }

    private static CampaignBaseline? ParseBaseline(string value, List<string> problems)
    {
        var build = Builds.FirstOrDefault(b => b.Equals(value, StringComparison.OrdinalIgnoreCase));
        if (build is not null) return new CampaignBaseline.Build(build);
        if (NamePattern().IsMatch(value) || HilRig.Core.Results.RunIds.Digits(value) is not null) return new CampaignBaseline.Stored(value);
        problems.Add($"--baseline {value}: valid: BL13, BL14, candidate, a soak run id (or a unique prefix of {HilRig.Core.Results.RunIds.MinPrefix}+ hex digits) or a campaign name");
        return null;
    }

    private static long ParseLong(string option, string value, long min, long max, List<string> problems)
    {
        if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max) return n;
        problems.Add(string.Create(CultureInfo.InvariantCulture, $"{option} {value}: valid: a whole number {min}..{max}"));
        return 0;
    }

    private static double ParseDouble(string option, string value, List<string> problems, Func<double, bool> valid, string what)
    {
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && double.IsFinite(x) && valid(x)) return x;
        problems.Add($"{option} {value}: valid: {what}");
        return 0;
    }

    private static IReadOnlyList<string> ParseList(string option, string? value, List<string> problems)
    {
        if (value is null) return [];
        var items = value.Split(',').Select(s => s.Trim()).ToList();
        var bad = items.FirstOrDefault(i => !NamePattern().IsMatch(i));
        if (bad is not null)
        {
            problems.Add($"{option} {value}: '{bad}' is not a name; valid: comma-separated names of letters, digits, '.', '_' or '-'");
            return [];
        }
        var twice = items.GroupBy(i => i, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null)
        {
            problems.Add($"{option} {value}: '{twice.Key}' is listed twice");
            return [];
        }
        return items;
    }

    private static byte[]? ReadIfExists(string path) => File.Exists(path) ? File.ReadAllBytes(path) : null;

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex NamePattern();
}
