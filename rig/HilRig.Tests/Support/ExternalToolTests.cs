namespace HilRig.Tests.Hardware;

[Category("Integration")] // starts real tools, servers or child processes
public class ExternalToolTests
{
    [Test]
    public void Finds_installed_programs_by_full_path_and_reports_missing_ones_as_absent()
    {
        Assert.That(ExternalTool.Find("sh"), Does.StartWith("/").And.EndWith("/sh"));
        Assert.That(ExternalTool.Find("hilrig-no-such-tool"), Is.Null);
    }

    [Test]
    public void Finds_sbin_tools_even_when_PATH_lacks_sbin()
    {
        if (!File.Exists("/usr/sbin/uhubctl")) Assert.Ignore("needs /usr/sbin/uhubctl to check the sbin fallback");
        var path = Environment.GetEnvironmentVariable("PATH");
        try
        {
            Environment.SetEnvironmentVariable("PATH", "/usr/bin:/bin");
            Assert.That(ExternalTool.Find("uhubctl"), Is.EqualTo("/usr/sbin/uhubctl"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("PATH", path);
        }
    }
}
