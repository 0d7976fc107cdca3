using HilRig.Core.Campaigns;
using Npgsql;

namespace HilRig.Reports.Queries;

/// <summary>Campaigns live in the fleet's PostgreSQL (fleet step 3); a rig's SQLite store has none.</summary>
public sealed partial class ResultsQueries
{
    /// <summary>True when this store is a fleet database with campaign tables.</summary>
    public bool HasCampaigns
    {
        get
        {
            using var db = _connect();
            if (db is not NpgsqlConnection pg) return false;
            pg.Open();
            using var cmd = pg.CreateCommand();
            cmd.CommandText = "SELECT to_regclass('campaigns') IS NOT NULL";
            return cmd.ExecuteScalar() is true;
        }
    }

    public IReadOnlyList<CampaignRecord> Campaigns()
    {
        using var db = _connect();
        if (db is not NpgsqlConnection pg || !HasCampaigns) return [];
        pg.Open();
        return CampaignStore.ReadList(pg);
    }

    /// <summary>One campaign's snapshot (null: no such campaign, or not a fleet store).</summary>
    public CampaignSnapshot? Campaign(string name)
    {
        using var db = _connect();
        if (db is not NpgsqlConnection pg || !HasCampaigns) return null;
        pg.Open();
        return CampaignStore.ReadSnapshot(pg, name);
    }
}
