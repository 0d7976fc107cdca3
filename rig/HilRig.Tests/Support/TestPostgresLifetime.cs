using HilRig.Tests.Support;

namespace HilRig.Tests;

/// <summary>Stops the shared PostgreSQL after the last test of the run (a SetUpFixture of the root test namespace).</summary>
[SetUpFixture]
public sealed class TestPostgresLifetime
{
    [OneTimeTearDown]
    public void StopServer() => TestPostgres.Stop();
}
