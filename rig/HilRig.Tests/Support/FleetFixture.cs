using HilRig.Core.Results;

namespace HilRig.Tests.Support;

/// <summary>
/// A fixture over one fleet PostgreSQL database (its schema laid once, on the shared test server) whose tests each get
/// a temp folder for their rigs' SQLite stores and rig ids of their own: PostgreSQL roles are server-wide, so the
/// same rig name in two tests (or two fixtures) must not meet.
/// </summary>
public abstract class FleetFixture(string purpose)
{
    private string _suffix = "";

    /// <summary>The fleet database's superuser connection string.</summary>
    protected string Admin { get; private set; } = "";

    /// <summary>This test's temp folder.</summary>
    protected string Folder { get; private set; } = "";

    protected TestStore Central => TestStore.Postgres(Admin);

    [OneTimeSetUp]
    public void CreateFleet()
    {
        Admin = TestPostgres.NewDatabase(purpose);
        FleetSchema.Init(Admin);
    }

    [SetUp]
    public void CreateFolder()
    {
        Folder = Directory.CreateTempSubdirectory($"hilrig-{purpose}-").FullName;
        _suffix = Guid.NewGuid().ToString("N")[..8];
    }

    [TearDown]
    public void RemoveFolder() => Directory.Delete(Folder, recursive: true);

    /// <summary><paramref name="name"/> made this test's own (rig ids, and device ids or lots the test must not share).</summary>
    protected string Unique(string name) => $"{name}-{_suffix}";

    protected string RigId(string name) => Unique(name);

    /// <summary>Registers the rig with the fleet: its own role, which may only send its own rows.</summary>
    protected FleetRig AddRig(string name) => FleetSchema.AddRig(Admin, RigId(name));

    /// <summary>A rig's SQLite store file in this test's folder.</summary>
    protected string StorePath(string name) => Path.Combine(Folder, name + ".db");
}
