namespace HilRig.Core.Results;

/// <summary>
/// The summary tables behind the lot reports (schema step 3). Counting rule, the same as
/// <c>LotReport.CountByLot</c>: per device and test the latest attempt decides (latest start, then highest attempt
/// number, so a retest in a later run wins); a unit failed if any deciding attempt failed; a unit whose deciding
/// attempts are all rig faults has no verdict and is not counted. Soak cycles (rows with a cycle) judge the
/// bootloader build, not the chip, and are left out of unit verdicts.
/// </summary>
internal static class Summaries
{
    public const string UnknownLot = "(unknown)";

    /// <summary>A failure without a mode or signature, as the reports show it (their Breakdown.Unclassified).</summary>
    public const string Unclassified = "(unclassified)";

    // Declared before Rebuild, which spreads it: static fields initialise in order.
    /// <summary>Per-lot counts from the unit verdicts.</summary>
    public static readonly string[] RecountLots =
    [
        "DELETE FROM lot_counts",
        "INSERT INTO lot_counts (lot, units, failed) SELECT lot, SUM(judged), SUM(failed) FROM units GROUP BY lot",
    ];

    /// <summary>Recomputes every summary from the results and devices tables (after a bulk load or an upgrade).</summary>
    public static readonly string[] Rebuild =
    [
        "DELETE FROM unit_tests",
        "DELETE FROM units",
        "DELETE FROM lot_counts",
        """
        INSERT INTO unit_tests (device_id, test, started_at, attempt, verdict)
        SELECT device_id, test, started_at, attempt, verdict FROM (
            SELECT device_id, test, started_at, attempt, verdict,
                   ROW_NUMBER() OVER (PARTITION BY device_id, test ORDER BY started_at DESC, attempt DESC) AS rn
            FROM results WHERE cycle IS NULL) latest
        WHERE rn = 1
        """,
        $"""
        INSERT INTO units (device_id, lot, judged, failed)
        SELECT u.device_id, COALESCE(MAX(d.lot), '{UnknownLot}'),
               MAX(CASE WHEN u.verdict <> 'rig-fault' THEN 1 ELSE 0 END),
               MAX(CASE WHEN u.verdict = 'fail' THEN 1 ELSE 0 END)
        FROM unit_tests u LEFT JOIN devices d ON d.device_id = u.device_id
        GROUP BY u.device_id
        """,
        .. RecountLots,
    ];

    /// <summary>Units whose device was moved to another lot since their verdict was summarised.</summary>
    public const string RelabelUnits =
        $"""
        UPDATE units SET lot = COALESCE((SELECT d.lot FROM devices d WHERE d.device_id = units.device_id), '{UnknownLot}')
        WHERE lot <> COALESCE((SELECT d.lot FROM devices d WHERE d.device_id = units.device_id), '{UnknownLot}')
        """;

    /// <summary>Makes an attempt the deciding one for its device and test unless a later one already is.</summary>
    public const string UpsertUnitTest =
        """
        INSERT INTO unit_tests (device_id, test, started_at, attempt, verdict)
        VALUES (@deviceId, @test, @startedAt, @attempt, @verdict)
        ON CONFLICT (device_id, test) DO UPDATE SET
            started_at = excluded.started_at, attempt = excluded.attempt, verdict = excluded.verdict
        WHERE excluded.started_at > unit_tests.started_at
           OR (excluded.started_at = unit_tests.started_at AND excluded.attempt >= unit_tests.attempt)
        """;
}
