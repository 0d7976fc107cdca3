using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;

namespace HilRig.Tests.Architecture;

/// <summary>
/// The boundaries of docs/architecture.md, checked on what was built (each assembly's references and the types it
/// uses) and on the project files: Core knows no backend, fixtures and suites never see the simulator, and the two
/// backends never know each other.
/// </summary>
public class LayerTests
{
    private static string Configuration => AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    private static string Built(string project, string assembly) =>
        RepoFiles.Path(Path.Combine(project, "bin", Configuration, "net10.0", assembly + ".dll"));

    private static readonly (string Name, string Project)[] Projects =
    [
        ("HilRig.Core", "rig/HilRig.Core"),
        ("HilRig.Sim", "rig/HilRig.Sim"),
        ("HilRig.Hardware", "rig/HilRig.Hardware"),
        ("HilRig.Fixtures", "fixtures/HilRig.Fixtures"),
        ("HilRig.Suites", "suites/HilRig.Suites"),
    ];

    private static string ProjectDir(string name) => Projects.Single(p => p.Name == name).Project;

    /// <summary>The assemblies an assembly references and the namespaces of the types it uses from them.</summary>
    private static (List<string> Assemblies, List<string> Namespaces) References(string name)
    {
        var path = Built(ProjectDir(name), name);
        Assert.That(File.Exists(path), Is.True, $"{path} is built (the test project builds every layer)");
        using var pe = new PEReader(File.OpenRead(path));
        var md = pe.GetMetadataReader();
        var assemblies = md.AssemblyReferences.Select(h => md.GetString(md.GetAssemblyReference(h).Name)).ToList();
        var namespaces = md.TypeReferences.Select(h => md.GetString(md.GetTypeReference(h).Namespace)).Distinct().ToList();
        return (assemblies, namespaces);
    }

    private static List<string> ProjectReferences(string name)
    {
        var dir = RepoFiles.Path(ProjectDir(name));
        var csproj = Directory.GetFiles(dir, "*.csproj").Single();
        return [.. XDocument.Load(csproj).Descendants("ProjectReference")
            .Select(e => Path.GetFileNameWithoutExtension(((string?)e.Attribute("Include") ?? "").Replace('\\', '/')))];
    }

    [Test]
    public void Core_references_no_other_project()
    {
        Assert.That(ProjectReferences("HilRig.Core"), Is.Empty);
        var (assemblies, namespaces) = References("HilRig.Core");
        Assert.That(assemblies.Where(a => a.StartsWith("HilRig.", StringComparison.Ordinal)), Is.Empty);
        Assert.That(namespaces.Where(n => n.StartsWith("HilRig.", StringComparison.Ordinal) && !n.StartsWith("HilRig.Core", StringComparison.Ordinal)), Is.Empty);
    }

    [TestCase("HilRig.Fixtures")]
    [TestCase("HilRig.Suites")]
    public void Fixtures_and_suites_never_reference_the_simulator(string name)
    {
        Assert.That(ProjectReferences(name), Has.None.EqualTo("HilRig.Sim"));
        var (assemblies, namespaces) = References(name);
        Assert.That(assemblies, Has.None.EqualTo("HilRig.Sim"), "no simulator type is used (any would add this reference)");
        Assert.That(namespaces.Where(n => n.StartsWith("HilRig.Sim", StringComparison.Ordinal)), Is.Empty);
    }

    [TestCase("HilRig.Hardware", "HilRig.Sim")]
    [TestCase("HilRig.Sim", "HilRig.Hardware")]
    public void A_backend_never_references_the_other(string backend, string other)
    {
        Assert.That(ProjectReferences(backend), Has.None.EqualTo(other));
        var (assemblies, namespaces) = References(backend);
        Assert.That(assemblies, Has.None.EqualTo(other));
        Assert.That(namespaces.Where(n => n.StartsWith(other, StringComparison.Ordinal)), Is.Empty);
    }

    [Test]
    public void The_session_does_not_hand_the_simulator_to_fixtures_and_suites()
    {
        var sim = typeof(HilRig.Composition.RigSession).GetProperty("Sim", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic);
        Assert.That(sim, Is.Not.Null);
        Assert.That(sim!.GetMethod!.IsPublic, Is.False, "RigSession.Sim is for the CLI's sim commands and the tests only");
        var publicSurface = typeof(HilRig.Composition.RigSession).GetProperties().Select(p => p.PropertyType)
            .Concat(typeof(HilRig.Composition.RigSessionOptions).GetProperties().Select(p => p.PropertyType));
        Assert.That(publicSurface.Where(t => t.Namespace?.StartsWith("HilRig.Sim", StringComparison.Ordinal) == true), Is.Empty,
            "simulator knobs are SimBackendOptions (Composition), not simulator types");
    }
}

/// <summary>A rule a procedure or the doctor also needs lives in Core, once; the CLI's commands only call it.</summary>
public class OneRuleTests
{
    private static IEnumerable<string> Sources(string folder) =>
        Directory.EnumerateFiles(RepoFiles.Path(folder), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal));

    [Test]
    public void Power_off_verification_is_one_rule_in_Core_used_by_hilrig_power_and_the_doctor()
    {
        var life = File.ReadAllText(RepoFiles.Path("rig/HilRig.Cli/Commands/LifeCommands.cs"));
        var doctor = File.ReadAllText(RepoFiles.Path("rig/HilRig.Core/Doctor/RigDoctor.cs"));
        Assert.That(life, Does.Contain("PowerOffVerification.VerifyAsync("), "hilrig power");
        Assert.That(doctor, Does.Contain("PowerOffVerification.VerifyAsync("), "the doctor's relay check");
        // the rule's parts (the DFU probe on MODE through RESET, the dark wait) exist once, in Core
        var holders = Sources("rig").Concat(Sources("fixtures")).Where(f =>
        {
            var text = File.ReadAllText(f);
            return text.Contains("ProbeHold", StringComparison.Ordinal) || text.Contains("brought up the DFU device", StringComparison.Ordinal);
        }).Select(f => Path.GetRelativePath(RepoFiles.Root, f).Replace('\\', '/')).Where(f => !f.StartsWith("rig/HilRig.Tests/", StringComparison.Ordinal));
        Assert.That(holders, Is.EqualTo(new[] { "rig/HilRig.Core/Slots/PowerOffVerification.cs" }));
    }
}
