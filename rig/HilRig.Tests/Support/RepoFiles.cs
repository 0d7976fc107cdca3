namespace HilRig.Tests;

/// <summary>Files committed at the repository root (rig-config.yaml, examples/).</summary>
internal static class RepoFiles
{
    public static string Root { get; } = FindRoot();

    public static string Path(string relative) => System.IO.Path.Combine(Root, relative);

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "HilRig.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("HilRig.sln not found above the test folder");
    }
}
