namespace HilRig.Tests;

/// <summary>Real programs some tests drive (dfu-util, uhubctl). Missing locally: the test is skipped; missing on CI: it fails.</summary>
public static class ExternalTool
{
    // uhubctl lives in /usr/sbin, which a non-root PATH often lacks.
    private static readonly string[] ExtraDirectories = ["/usr/local/sbin", "/usr/sbin", "/sbin"];

    /// <summary>Full path of <paramref name="name"/>; skips the test (or fails it when env CI=true) if it is not installed.</summary>
    public static string Require(string name)
    {
        var found = Find(name);
        if (found is not null) return found;
        var reason = $"'{name}' is not installed (run scripts/setup.sh or apt-get install {name})";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            Assert.Fail($"{reason}; CI=true requires every external tool");
        Assert.Ignore(reason);
        return "";
    }

    public static string? Find(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries).Concat(ExtraDirectories))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}
