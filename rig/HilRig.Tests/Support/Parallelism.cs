using NUnit.Framework.Interfaces;
using NUnit.Framework.Internal;

// Fixtures run side by side: most of a unit run is single-threaded simulation and SQLite commits, so on two cores
// four workers keep both busy. A fixture that touches process-wide state (environment variables, Console, static
// settings, signals to children) says [NonParallelizable] and then runs alone.
[assembly: Parallelizable(ParallelScope.Fixtures)]
[assembly: LevelOfParallelism(4)]
[assembly: HilRig.Tests.IntegrationRunsAlone]

namespace HilRig.Tests;

/// <summary>
/// Every test or fixture in category Integration runs alone: those start real tools, browsers, servers and child
/// test runs with wall-clock limits, which a busy neighbour would make flaky. One rule here instead of an attribute
/// beside each of them.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly)]
public sealed class IntegrationRunsAloneAttribute : NUnitAttribute, IApplyToTest
{
    public const string Category = "Integration";

    public void ApplyToTest(Test test) => Apply(test);

    private static void Apply(ITest test)
    {
        if (test.Properties[PropertyNames.Category].Contains(Category) && test is Test own)
        {
            own.Properties.Set(PropertyNames.ParallelScope, ParallelScope.None);
            return; // its children run inside it, on its one worker
        }
        foreach (var child in test.Tests) Apply(child);
    }
}
