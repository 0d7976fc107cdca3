using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Reports.Queries;
using HilRig.Tests.Support;
using Npgsql;

namespace HilRig.Tests.Fleet;

/// <summary>
/// Slot health travels (fleet step 6): what each rig's store decided about its slots reaches the fleet with the sync,
/// the newest change winning, so the fleet's rigs page shows every rig's good, suspect and quarantined slots; a rig can
/// send only its own slots.
/// </summary>
[Category("Integration")]
public class FleetSlotHealthTests() : FleetFixture("fleethealth")
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 14, 8, 0, 0, TimeSpan.Zero);

    private (FleetRig Rig, ResultsStore Local) Rig(string name)
    {
        var rig = AddRig(name);
        var local = ResultsStore.Open(StorePath(name));
        var run = local.StartRun(new RunInfo(rig.RigId, "h", 1, "BL14", "screen", T0));
        local.RecordResult(new ResultRecord(run, "d-" + name, 1, "dfu-readback", Verdict.Pass, T0, T0.AddSeconds(5)));
        return (rig, local);
    }

    private List<string> CentralHealth(string rigId) =>
        [.. Central.Rows($"SELECT slot, state, reason FROM slot_health WHERE rig_id = '{rigId}' ORDER BY slot").Select(r => $"{r[0]} {r[1]} {r[2]}")];

    [Test]
    public void A_rigs_slot_health_reaches_the_fleet_and_a_later_change_replaces_it()
    {
        var (rig, local) = Rig("a");
        local.SetSlotHealth(rig.RigId, 1, SlotHealthState.Good, "golden pass", T0);
        local.SetSlotHealth(rig.RigId, 2, SlotHealthState.Suspect, "one strike", T0);
        local.SetSlotHealth(rig.RigId, 3, SlotHealthState.Quarantined, "three strikes", T0);
        var sync = new FleetSync(local, rig.ConnectionString, rig.RigId);

        Assert.That(sync.Sync().SlotHealth, Is.EqualTo(3));
        Assert.That(CentralHealth(rig.RigId), Is.EqualTo(new[] { "1 good golden pass", "2 suspect one strike", "3 quarantined three strikes" }));
        Assert.That(sync.Sync().SlotHealth, Is.Zero, "nothing changed: nothing written again");

        local.SetSlotHealth(rig.RigId, 3, SlotHealthState.Good, "golden pass", T0.AddHours(1));
        Assert.That(sync.Sync().SlotHealth, Is.EqualTo(1));
        Assert.That(CentralHealth(rig.RigId), Is.EqualTo(new[] { "1 good golden pass", "2 suspect one strike", "3 good golden pass" }));

        var page = Central.Queries().Rigs(ResultFilter.None with { Rig = rig.RigId });
        Assert.That(page.Rigs.Single().SlotHealth, Is.EqualTo(new RigSlotHealth(Good: 2, Suspect: 1, Quarantined: 0, Maintenance: 0, Unknown: 0)));
        Assert.That(page.Rigs.Single().ResultsPerDay, Is.EqualTo(1.0), "one result on one day");
    }

    [Test]
    public void An_older_change_sent_after_a_newer_one_does_not_replace_it()
    {
        var (rig, local) = Rig("a");
        local.SetSlotHealth(rig.RigId, 5, SlotHealthState.Maintenance, "relay replaced", T0.AddHours(2));
        new FleetSync(local, rig.ConnectionString, rig.RigId).Sync();

        // A copy of the store from before that change, synced late (a restored backup) under its own target.
        using (var db = new NpgsqlConnection(rig.ConnectionString))
        {
            db.Open();
            Stage(db, rig.RigId, 5, "good", T0.AddHours(1));
            using var cmd = new NpgsqlCommand("SELECT fleet_ingest_slot_health()", db);
            Assert.That(cmd.ExecuteScalar(), Is.Zero);
        }

        Assert.That(CentralHealth(rig.RigId), Is.EqualTo(new[] { "5 maintenance relay replaced" }));
    }

    [Test]
    public void A_rig_may_not_send_another_rigs_slots_nor_write_the_table()
    {
        var (a, _) = Rig("a");
        var (b, localB) = Rig("b");
        localB.SetSlotHealth(b.RigId, 1, SlotHealthState.Good, "golden pass", T0);
        new FleetSync(localB, b.ConnectionString, b.RigId).Sync();

        using var db = new NpgsqlConnection(a.ConnectionString);
        db.Open();
        Stage(db, b.RigId, 1, "quarantined", T0.AddDays(1));
        var e = Assert.Throws<PostgresException>(() => new NpgsqlCommand("SELECT fleet_ingest_slot_health()", db).ExecuteScalar())!;
        Assert.That(e.SqlState, Is.EqualTo("42501"));
        Assert.That(e.MessageText, Does.Contain($"rig {a.RigId} may not write rows of rig {b.RigId}"));

        var direct = Assert.Throws<PostgresException>(() =>
            new NpgsqlCommand($"UPDATE slot_health SET state = 'quarantined' WHERE rig_id = '{b.RigId}'", db).ExecuteNonQuery())!;
        Assert.That(direct.SqlState, Is.EqualTo("42501"), "no table rights: only the ingest functions");
        Assert.That(CentralHealth(b.RigId), Is.EqualTo(new[] { "1 good golden pass" }));
    }

    private static void Stage(NpgsqlConnection db, string rigId, int slot, string state, DateTimeOffset changedAt)
    {
        using var cmd = new NpgsqlCommand(
            """
            CREATE TEMP TABLE IF NOT EXISTS stage_slot_health (rig_id TEXT, slot INTEGER, state TEXT, reason TEXT, since TEXT, changed_at TEXT);
            TRUNCATE stage_slot_health;
            INSERT INTO stage_slot_health VALUES (@rig, @slot, @state, 'staged by hand', '2026-03-14T08:00:00.0000000Z', @at);
            """, db);
        cmd.Parameters.AddWithValue("rig", rigId);
        cmd.Parameters.AddWithValue("slot", slot);
        cmd.Parameters.AddWithValue("state", state);
        cmd.Parameters.AddWithValue("at", changedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture));
        cmd.ExecuteNonQuery();
    }
}
