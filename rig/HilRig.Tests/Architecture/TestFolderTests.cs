namespace HilRig.Tests.Architecture;

/// <summary>
/// The test tree mirrors the source tree, so the tests of a source folder are found where the folder's name says:
/// rig/HilRig.Tests/&lt;Project&gt;/&lt;Folder&gt; holds the tests of &lt;Folder&gt; in that project (Tests/Core/Led tests
/// rig/HilRig.Core/Led). Helpers live in Support/, rules about the whole code base in Architecture/.
/// </summary>
public class TestFolderTests
{
    /// <summary>The first folder under the tests names the project.</summary>
    private static readonly Dictionary<string, string> Projects = new(StringComparer.Ordinal)
    {
        ["Core"] = "rig/HilRig.Core",
        ["Sim"] = "rig/HilRig.Sim",
        ["Hardware"] = "rig/HilRig.Hardware",
        ["Composition"] = "rig/HilRig.Composition",
        ["Cli"] = "rig/HilRig.Cli",
        ["Reports"] = "reports/HilRig.Reports",
        ["Dashboard"] = "reports/HilRig.Dashboard",
        ["Fixtures"] = "fixtures/HilRig.Fixtures",
        ["Suites"] = "suites/HilRig.Suites",
    };

    private static readonly string[] NotMirrors = ["Support", "Architecture", "bin", "obj", "TestResults"];

    private static string TestsRoot => RepoFiles.Path("rig/HilRig.Tests");

    [Test]
    public void Every_test_folder_mirrors_a_source_folder()
    {
        var strays = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories(TestsRoot, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(TestsRoot, dir).Replace(Path.DirectorySeparatorChar, '/');
            var parts = relative.Split('/');
            if (NotMirrors.Contains(parts[0], StringComparer.Ordinal)) continue;
            if (!Projects.TryGetValue(parts[0], out var project))
            {
                strays.Add($"{relative}: no project is called {parts[0]} (valid: {string.Join(", ", Projects.Keys)}, or Support/Architecture)");
                continue;
            }
            var source = Path.Combine(project, string.Join('/', parts.Skip(1)));
            if (!Directory.Exists(RepoFiles.Path(source)))
                strays.Add($"{relative}: {source} does not exist; move the tests to the folder of the code they test");
        }
        Assert.That(strays, Is.Empty);
    }

    [Test]
    public void No_test_file_sits_at_the_root_of_the_tests()
    {
        var loose = Directory.EnumerateFiles(TestsRoot, "*.cs").Select(Path.GetFileName).ToList();
        Assert.That(loose, Is.Empty, "helpers go to Support/, tests to the folder mirroring their code");
    }
}
