using Dapper;

namespace HilRig.Core.Results;

public sealed partial class ResultsStore
{
    /// <summary>Every stored run id, for resolving a typed prefix with <see cref="RunIds"/>.</summary>
    public IReadOnlyList<Guid> StoredRunIds()
    {
        using var db = OpenConnection();
        return db.Query<string>("SELECT id FROM runs").Select(Guid.Parse).ToList();
    }
}
