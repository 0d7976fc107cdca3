using HilRig.Core.Results;

namespace HilRig.Tests.Results;

/// <summary>How a typed run id or prefix picks one stored run.</summary>
public class RunIdsTests
{
    private static readonly Guid A = Guid.Parse("01a23cc8-07df-7432-aec3-177b3a382516");
    private static readonly Guid B = Guid.Parse("01a23cc8-07df-7999-aec3-177b3a382516");

    [TestCase("01a23cc8-07df-74")]
    [TestCase("01A23CC807DF74")]
    [TestCase("01a23cc8-07df-7432-aec3-177b3a382516")]
    public void A_unique_prefix_in_either_case_with_or_without_hyphens_names_its_run(string text)
    {
        Assert.That(RunIds.TryResolve(text, [A, B], "store.db", out var id, out var problem), Is.True, problem);
        Assert.That(id, Is.EqualTo(A));
    }

    [Test]
    public void A_prefix_of_many_runs_lists_at_most_five_of_them()
    {
        var many = Enumerable.Range(0, 9).Select(i => Guid.Parse($"01a23cc8-07df-7{i}00-aec3-177b3a382516")).ToList();

        Assert.That(RunIds.TryResolve("01a23cc8", many, "store.db", out _, out var problem), Is.False);
        Assert.That(problem, Does.StartWith("01a23cc8: ambiguous run id prefix, it starts more than 5 runs: "));
        Assert.That(problem.Split(", ").Count(p => Guid.TryParse(p.Split(' ').Last(), out _)), Is.LessThanOrEqualTo(5));
        Assert.That(problem, Does.EndWith("give more digits"));
    }

    [TestCase("01a")]
    [TestCase("01a23cc8-07df-7432-aec3-177b3a382516ff")]
    [TestCase("run-1")]
    public void Too_short_too_long_or_not_hex_is_not_a_run_id(string text)
    {
        Assert.That(RunIds.Digits(text), Is.Null);
        Assert.That(RunIds.TryResolve(text, [A], "store.db", out _, out var problem), Is.False);
        Assert.That(problem, Does.Contain("valid: a run id or a unique prefix"));
    }
}
