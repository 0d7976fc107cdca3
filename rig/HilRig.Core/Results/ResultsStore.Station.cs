using Dapper;

namespace HilRig.Core.Results;

public sealed partial class ResultsStore
{
    /// <summary>The chip lot the store knows for a device (its lot inventory); null when it has none.</summary>
    public string? LotOf(string deviceId)
    {
        ArgumentException.ThrowIfNullOrEmpty(deviceId);
        using var db = OpenConnection();
        return db.QuerySingleOrDefault<string?>("SELECT lot FROM devices WHERE device_id = @deviceId", new { deviceId = deviceId.ToLowerInvariant() });
    }

    /// <summary>The latest run of <paramref name="kind"/> on <paramref name="rigId"/>; null when there is none.</summary>
    public StoredRun? LatestRun(string rigId, string kind)
    {
        using var db = OpenConnection();
        var id = db.QuerySingleOrDefault<string?>(
            "SELECT id FROM runs WHERE rig_id = @rigId AND kind = @kind ORDER BY started_at DESC, id DESC LIMIT 1", new { rigId, kind });
        return id is null ? null : GetRun(Guid.Parse(id));
    }
}
