using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Dapper;
using Npgsql;

namespace HilRig.Core.Results;

/// <summary>A rig registered with the fleet: its PostgreSQL role and the connection string it syncs with.</summary>
public sealed record FleetRig(string RigId, string Role, string ConnectionString);

/// <summary>
/// The central PostgreSQL database every rig syncs into: the results store's own schema (the same numbered steps as
/// a rig's SQLite, so reports and the dashboard read it unchanged) plus the fleet's steps, versioned apart in
/// fleet_schema_version: registered rigs, rollups kept exact on ingest, and the ingest functions. Rigs never write a
/// table: each rig's role may only call the SECURITY DEFINER ingest functions, which take the rows the rig staged in
/// temporary tables of its session and refuse any row that is not the calling rig's (keyed by session_user).
/// </summary>
public static partial class FleetSchema
{
    /// <summary>Held while one session migrates, so two `fleet init`s or a rig opening the store never interleave.</summary>
    private const long MigrationLock = 7274400003;

    /// <summary>Held by every ingest while it updates the rollups: rigs insert rows in parallel, rollups one at a time.</summary>
    internal const long RollupLock = 7274400002;

    // Declared before Steps, which spreads them: static fields initialise in order.
    /// <summary>
    /// Each failure's start and run in lot_failures, each unit's span of screening hours (the UTC hours, yyyy-MM-ddTHH, of
    /// its first and its last screening attempt, from unit_tests) and the units and failed units per lot and span (fleet
    /// step 13; after a bulk load that recounted lot_failures and the yields): units (judged), failed units, devices and their
    /// first-pass and final yields. A range filter of whole hours counts every unit whose span lies inside it from these rows.
    /// </summary>
    public static readonly string[] CountLotHours =
    [
        // each failure's start and run beside it (a lot's page over a range, a rig or a line reads the lot's failures only)
        "UPDATE lot_failures f SET started_at = r.started_at, run_id = r.run_id FROM results r WHERE r.id = f.result_id",
        """
        UPDATE units u SET first_hour = x.first_hour, last_hour = x.last_hour
        FROM (SELECT device_id, MIN(left(COALESCE(first_started_at, started_at), 13)) AS first_hour, MAX(left(started_at, 13)) AS last_hour
              FROM unit_tests GROUP BY device_id) x
        WHERE u.device_id = x.device_id
        """,
        "DELETE FROM rollup_lot_hours",
        """
        INSERT INTO rollup_lot_hours (lot, first_hour, last_hour, units, failed, devices, first_passed, final_passed)
        SELECT lot, first_hour, last_hour, SUM(judged), SUM(failed), COUNT(*), SUM(first_passed), SUM(final_passed) FROM units
        WHERE first_hour IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        """,
    ];

    /// <summary>
    /// Each unit's screening rig and line (fleet step 14; after a bulk load, after <see cref="CountLotHours"/>): the rig and
    /// the line (runs.line, '' for none) of all its screening attempts' runs, or ' ' where they are several (a filter value
    /// is trimmed, so ' ' never matches one), and the units per rig, line, lot and span of screening hours.
    /// </summary>
    public static readonly string[] CountUnitRigs =
    [
        """
        UPDATE units u SET rig_id = x.rig_id, line = x.line
        FROM (SELECT r.device_id, CASE WHEN MIN(ru.rig_id) = MAX(ru.rig_id) THEN MIN(ru.rig_id) ELSE ' ' END AS rig_id,
                     CASE WHEN MIN(COALESCE(ru.line, '')) = MAX(COALESCE(ru.line, '')) THEN MIN(COALESCE(ru.line, '')) ELSE ' ' END AS line
              FROM results r JOIN runs ru ON ru.id = r.run_id WHERE r.cycle IS NULL GROUP BY r.device_id) x
        WHERE u.device_id = x.device_id
        """,
        "DELETE FROM rollup_lot_rig_hours",
        """
        INSERT INTO rollup_lot_rig_hours (rig_id, line, lot, first_hour, last_hour, units, failed, devices, first_passed, final_passed)
        SELECT rig_id, line, lot, first_hour, last_hour, SUM(judged), SUM(failed), COUNT(*), SUM(first_passed), SUM(final_passed) FROM units
        WHERE first_hour IS NOT NULL AND rig_id IS NOT NULL GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
        """,
    ];

    /// <summary>
    /// Each unit's first and last screening attempt's start (fleet step 15; after a bulk load, after <see cref="CountLotHours"/>),
    /// from unit_tests: a range's part hour counts the units whose attempts all lie inside the range from units alone.
    /// </summary>
    public static readonly string[] CountUnitTimes =
    [
        """
        UPDATE units u SET first_at = x.first_at, last_at = x.last_at
        FROM (SELECT device_id, MIN(COALESCE(first_started_at, started_at)) AS first_at, MAX(started_at) AS last_at
              FROM unit_tests GROUP BY device_id) x
        WHERE u.device_id = x.device_id
        """,
    ];

    /// <summary>
    /// Results, rig faults and the newest result per UTC minute (yyyy-MM-ddTHH:mm) and rig counted from the results (fleet
    /// step 16, and after a bulk load): the rigs page over any range reads whole minutes here and only the results of the
    /// part minutes at its ends.
    /// </summary>
    public static readonly string[] CountRigMinutes =
    [
        "DELETE FROM rollup_rig_minutes",
        """
        INSERT INTO rollup_rig_minutes (minute, rig_id, results, rig_faults, last_result_at)
        SELECT left(r.started_at, 16), ru.rig_id, COUNT(*), SUM(CASE WHEN r.verdict = 'rig-fault' THEN 1 ELSE 0 END), MAX(r.started_at)
        FROM results r JOIN runs ru ON ru.id = r.run_id GROUP BY 1, 2 ORDER BY 1, 2
        """,
    ];

    /// <summary>
    /// Recounts each device's first attempt per test (kept beside its last in unit_tests from fleet step 11), its first-pass
    /// and final verdicts and each lot's yields from the results and unit verdicts (after a bulk load that rebuilt the
    /// summaries).
    /// </summary>
    public static readonly string[] RecountYields =
    [
        """
        UPDATE unit_tests t SET first_started_at = f.started_at, first_attempt = f.attempt, first_verdict = f.verdict
        FROM (SELECT DISTINCT ON (device_id, test) device_id, test, started_at, attempt, verdict
              FROM results WHERE cycle IS NULL ORDER BY device_id, test, started_at, attempt) f
        WHERE t.device_id = f.device_id AND t.test = f.test
        """,
        """
        UPDATE units u SET final_passed = x.final_passed, first_passed = x.first_passed
        FROM (SELECT device_id, MIN(CASE WHEN verdict = 'pass' THEN 1 ELSE 0 END) AS final_passed,
                     MIN(CASE WHEN first_verdict = 'pass' THEN 1 ELSE 0 END) AS first_passed
              FROM unit_tests GROUP BY device_id) x
        WHERE u.device_id = x.device_id
        """,
        """
        UPDATE lot_counts c SET devices = x.devices, first_passed = x.first_passed, final_passed = x.final_passed
        FROM (SELECT lot, COUNT(*) AS devices, SUM(first_passed) AS first_passed, SUM(final_passed) AS final_passed FROM units GROUP BY lot) x
        WHERE c.lot = x.lot
        """,
    ];

    /// <summary>Fleet step 4's recount, into unit_first (the table fleet step 11 folded into unit_tests).</summary>
    internal static readonly string[] RecountYieldsIntoUnitFirst =
    [
        "DELETE FROM unit_first",
        """
        INSERT INTO unit_first (device_id, test, started_at, attempt, verdict)
        SELECT DISTINCT ON (device_id, test) device_id, test, started_at, attempt, verdict
        FROM results WHERE cycle IS NULL ORDER BY device_id, test, started_at, attempt
        """,
        """
        UPDATE units u SET final_passed = x.final_passed, first_passed = COALESCE(f.first_passed, 0)
        FROM (SELECT device_id, MIN(CASE WHEN verdict = 'pass' THEN 1 ELSE 0 END) AS final_passed FROM unit_tests GROUP BY device_id) x
        LEFT JOIN (SELECT device_id, MIN(CASE WHEN verdict = 'pass' THEN 1 ELSE 0 END) AS first_passed FROM unit_first GROUP BY device_id) f
               ON f.device_id = x.device_id
        WHERE u.device_id = x.device_id
        """,
        """
        UPDATE lot_counts c SET devices = x.devices, first_passed = x.first_passed, final_passed = x.final_passed
        FROM (SELECT lot, COUNT(*) AS devices, SUM(first_passed) AS first_passed, SUM(final_passed) AS final_passed FROM units GROUP BY lot) x
        WHERE c.lot = x.lot
        """,
    ];

    /// <summary>Results per rig and slot, per rig and day and per lot and day counted from the results (after a bulk load).</summary>
    public static readonly string[] CountResultRollups =
    [
        """
        INSERT INTO rollup_rig_slot (rig_id, slot, results, failed, rig_faults, last_result_at)
        SELECT ru.rig_id, r.slot, COUNT(*), SUM(CASE WHEN r.verdict = 'fail' THEN 1 ELSE 0 END), SUM(CASE WHEN r.verdict = 'rig-fault' THEN 1 ELSE 0 END), MAX(r.started_at)
        FROM results r JOIN runs ru ON ru.id = r.run_id GROUP BY 1, 2
        """,
        """
        INSERT INTO rollup_rig_day (rig_id, day, results, failed, rig_faults)
        SELECT ru.rig_id, substr(r.started_at, 1, 10), COUNT(*), SUM(CASE WHEN r.verdict = 'fail' THEN 1 ELSE 0 END), SUM(CASE WHEN r.verdict = 'rig-fault' THEN 1 ELSE 0 END)
        FROM results r JOIN runs ru ON ru.id = r.run_id GROUP BY 1, 2
        """,
        """
        INSERT INTO rollup_lot_day (lot, day, results, failed, rig_faults)
        SELECT COALESCE(d.lot, '(unknown)'), substr(r.started_at, 1, 10), COUNT(*), SUM(CASE WHEN r.verdict = 'fail' THEN 1 ELSE 0 END), SUM(CASE WHEN r.verdict = 'rig-fault' THEN 1 ELSE 0 END)
        FROM results r LEFT JOIN devices d ON d.device_id = r.device_id GROUP BY 1, 2
        """,
    ];

    /// <summary>The failing results per lot counted from the results (fleet step 6, and after a bulk load).</summary>
    public static readonly string[] CountLotFailures =
    [
        "DELETE FROM lot_failures",
        """
        INSERT INTO lot_failures (lot, result_id, device_id)
        SELECT COALESCE(d.lot, '(unknown)'), r.id, r.device_id FROM results r LEFT JOIN devices d ON d.device_id = r.device_id
        WHERE r.verdict = 'fail'
        """,
    ];

    /// <summary>
    /// The failing results per lot counted from the results with what one lot's page reads of them (fleet step 8, and after
    /// a bulk load): failure mode, signature and the readback's bit-error totals, so the page aggregates there.
    /// </summary>
    public static readonly string[] RecountLotFailures =
    [
        "DELETE FROM lot_failures",
        """
        INSERT INTO lot_failures (lot, result_id, device_id, failure_mode, signature, bit_errors, screened)
        SELECT COALESCE(d.lot, '(unknown)'), r.id, r.device_id, r.failure_mode, r.signature, fleet_bit_errors(r.evidence_json),
               EXISTS (SELECT 1 FROM units u WHERE u.device_id = r.device_id)
        FROM results r LEFT JOIN devices d ON d.device_id = r.device_id
        WHERE r.verdict = 'fail'
        """,
    ];

    /// <summary>Runs, devices and calibrations staged in pg_temp.stage_runs/stage_devices/stage_calibrations (fleet steps 1 and 5).</summary>
    private static readonly string IngestMeta =
        """
        CREATE OR REPLACE FUNCTION fleet_ingest_meta(p_software TEXT, p_line TEXT, p_clock_offset_ms DOUBLE PRECISION)
        RETURNS TABLE (runs INTEGER, devices INTEGER, calibrations INTEGER)
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp SET random_page_cost = 1.1 AS $$
        DECLARE v_rig TEXT := fleet_rig(); v_other TEXT; v_runs INTEGER; v_devices INTEGER; v_cal INTEGER;
        BEGIN
            SELECT s.rig_id INTO v_other FROM pg_temp.stage_runs s WHERE s.rig_id <> v_rig LIMIT 1;
            IF v_other IS NULL THEN
                SELECT c.rig_id INTO v_other FROM pg_temp.stage_runs s JOIN runs c ON c.id = s.id WHERE c.rig_id <> v_rig LIMIT 1;
            END IF;
            IF v_other IS NULL THEN
                SELECT s.rig_id INTO v_other FROM pg_temp.stage_calibrations s WHERE s.rig_id <> v_rig LIMIT 1;
            END IF;
            IF v_other IS NOT NULL THEN
                RAISE EXCEPTION 'rig % may not write rows of rig %', v_rig, v_other USING ERRCODE = '42501';
            END IF;

            INSERT INTO runs (id, rig_id, config_hash, seed, bootloader, kind, started_at, ended_at, status, line)
            SELECT id, rig_id, config_hash, seed, bootloader, kind, started_at, ended_at, status, p_line FROM pg_temp.stage_runs ORDER BY id
            ON CONFLICT (id) DO UPDATE SET status = excluded.status, ended_at = excluded.ended_at
            WHERE runs.rig_id = v_rig AND (runs.status, runs.ended_at) IS DISTINCT FROM (excluded.status, excluded.ended_at);
            GET DIAGNOSTICS v_runs = ROW_COUNT;

            -- A device's lot moving changes which lot its results count under: remember where they were counted. Under
        -- the rollup lock from here on, so another session's devices and results are either wholly seen (committed
        -- before) or wholly not (counted after, under the lot written here): a rerun racing a killed sync's backend
        -- would otherwise move counts it never saw counted.
        IF EXISTS (SELECT 1 FROM pg_temp.stage_devices) THEN
            PERFORM pg_advisory_xact_lock(7274400002);
        END IF;
            DROP TABLE IF EXISTS pg_temp.fleet_moved;
            CREATE TEMP TABLE fleet_moved ON COMMIT DROP AS
            SELECT s.device_id, COALESCE(d.lot, '(unknown)') AS old_lot, s.lot AS new_lot
            FROM pg_temp.stage_devices s LEFT JOIN devices d ON d.device_id = s.device_id
            WHERE (d.device_id IS NULL OR d.registered_by = v_rig) AND COALESCE(d.lot, '(unknown)') <> s.lot
              -- a device with no result here has nothing counted to move (a new Core is most of a sync's devices)
              AND EXISTS (SELECT 1 FROM results r WHERE r.device_id = s.device_id);
            ANALYZE pg_temp.fleet_moved;

            -- Devices are written under the rollup lock only: known ones updated, new ones inserted plainly (an upsert's
            -- speculative insertion per row cost more than the two statements).
            UPDATE devices d SET lot = s.lot, date_code = COALESCE(s.date_code, d.date_code), supplier = COALESCE(s.supplier, d.supplier)
            FROM pg_temp.stage_devices s
            WHERE d.device_id = s.device_id AND d.registered_by = v_rig
              AND (d.lot, d.date_code, d.supplier) IS DISTINCT FROM (s.lot, COALESCE(s.date_code, d.date_code), COALESCE(s.supplier, d.supplier));
            GET DIAGNOSTICS v_devices = ROW_COUNT;
            INSERT INTO devices (device_id, lot, date_code, supplier, first_seen, registered_by)
            SELECT s.device_id, s.lot, s.date_code, s.supplier, s.first_seen, v_rig FROM pg_temp.stage_devices s
            WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.device_id = s.device_id) ORDER BY s.device_id;
            GET DIAGNOSTICS v_cal = ROW_COUNT;
            v_devices := v_devices + v_cal;

            INSERT INTO sensor_calibrations (rig_id, slot, dark_r, dark_g, dark_b, dark_c, dark_noise_c, gain, integration_ms, lit_c, calibrated_at)
            SELECT rig_id, slot, dark_r, dark_g, dark_b, dark_c, dark_noise_c, gain, integration_ms, lit_c, calibrated_at FROM pg_temp.stage_calibrations
            ON CONFLICT (rig_id, slot) DO UPDATE SET
                dark_r = excluded.dark_r, dark_g = excluded.dark_g, dark_b = excluded.dark_b, dark_c = excluded.dark_c,
                dark_noise_c = excluded.dark_noise_c, gain = excluded.gain, integration_ms = excluded.integration_ms,
                lit_c = excluded.lit_c, calibrated_at = excluded.calibrated_at
            WHERE excluded.calibrated_at > sensor_calibrations.calibrated_at;
            GET DIAGNOSTICS v_cal = ROW_COUNT;

            IF EXISTS (SELECT 1 FROM fleet_moved) THEN
                PERFORM pg_advisory_xact_lock(7274400002);
                INSERT INTO rollup_lot_day AS t (lot, day, results, failed, rig_faults)
                SELECT lot, day, SUM(n), SUM(f), SUM(rf) FROM (
                    SELECT m.old_lot AS lot, substr(r.started_at, 1, 10) AS day, -1 AS n,
                           -(CASE WHEN r.verdict = 'fail' THEN 1 ELSE 0 END) AS f, -(CASE WHEN r.verdict = 'rig-fault' THEN 1 ELSE 0 END) AS rf
                    FROM fleet_moved m JOIN results r ON r.device_id = m.device_id
                    UNION ALL
                    SELECT m.new_lot, substr(r.started_at, 1, 10), 1,
                           CASE WHEN r.verdict = 'fail' THEN 1 ELSE 0 END, CASE WHEN r.verdict = 'rig-fault' THEN 1 ELSE 0 END
                    FROM fleet_moved m JOIN results r ON r.device_id = m.device_id) x
                GROUP BY lot, day ORDER BY lot, day
                ON CONFLICT (lot, day) DO UPDATE SET results = t.results + excluded.results, failed = t.failed + excluded.failed,
                    rig_faults = t.rig_faults + excluded.rig_faults;
                CREATE TEMP TABLE IF NOT EXISTS fleet_fail_devices (device_id TEXT) ON COMMIT DELETE ROWS;
                DELETE FROM pg_temp.fleet_fail_devices;
                INSERT INTO pg_temp.fleet_fail_devices SELECT device_id FROM fleet_moved;
                PERFORM fleet_failures_before();
                UPDATE lot_failures f SET lot = m.new_lot FROM fleet_moved m WHERE f.device_id = m.device_id AND f.lot = m.old_lot;
                PERFORM fleet_failures_after();
                CREATE TEMP TABLE IF NOT EXISTS fleet_touched (device_id TEXT) ON COMMIT DELETE ROWS;
                DELETE FROM pg_temp.fleet_touched;
                INSERT INTO pg_temp.fleet_touched SELECT device_id FROM fleet_moved;
                PERFORM fleet_refresh_units();
            END IF;

            UPDATE fleet_rigs SET software_version = p_software, line = p_line, clock_offset_ms = p_clock_offset_ms, last_sync_at = now()
            WHERE rig_id = v_rig;
            RETURN QUERY SELECT v_runs, v_devices, v_cal;
        END $$
        """;

    /// <summary>
    /// Unit verdicts and lot counts (with first-pass and final yields) of the devices in pg_temp.fleet_touched, recomputed
    /// from their deciding attempts; the caller holds the rollup lock. Its newest text, which every step that (re)defines it
    /// writes (fleet steps 1, 4, 11, 12, 13, 14 and 15): a fresh fleet and an old one end with the same function.
    /// </summary>
    private static readonly string RefreshUnits =
        """
        CREATE OR REPLACE FUNCTION fleet_refresh_units() RETURNS VOID
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp SET jit = off AS $$
        DECLARE
            -- the rig and line that screened the touched devices (step 14), set by the results' ingest for this call only;
            -- none for a lot move (no screening: each unit keeps its rig and line); 'each' where the batch's runs have
            -- several lines (then per device in fleet_screened_on)
            v_rig TEXT := NULLIF(current_setting('hilrig.screened_rig', true), '');
            v_line TEXT := current_setting('hilrig.screened_line', true);
            v_each BOOLEAN := COALESCE(current_setting('hilrig.screened_lines', true) = 'each', FALSE);
        BEGIN
            PERFORM set_config('hilrig.screened_rig', '', true), set_config('hilrig.screened_lines', '', true);
            DROP TABLE IF EXISTS pg_temp.fleet_units;
            -- the span of screening hours (step 13) is the hours of the first and last attempts (step 15)
            CREATE TEMP TABLE fleet_units ON COMMIT DROP AS
            SELECT a.*, left(a.first_at, 13) AS first_hour, left(a.last_at, 13) AS last_hour FROM (
                SELECT ut.device_id, COALESCE(MAX(d.lot), '(unknown)') AS lot,
                       MAX(CASE WHEN ut.verdict <> 'rig-fault' THEN 1 ELSE 0 END) AS judged,
                       MAX(CASE WHEN ut.verdict = 'fail' THEN 1 ELSE 0 END) AS failed,
                       MIN(CASE WHEN ut.verdict = 'pass' THEN 1 ELSE 0 END) AS final_passed,
                       MIN(CASE WHEN ut.first_verdict = 'pass' THEN 1 ELSE 0 END) AS first_passed,
                       MIN(COALESCE(ut.first_started_at, ut.started_at)) AS first_at, MAX(ut.started_at) AS last_at,
                       v_rig AS rig_id, CASE WHEN v_rig IS NOT NULL AND NOT v_each THEN v_line END AS line
                FROM pg_temp.fleet_touched t JOIN unit_tests ut ON ut.device_id = t.device_id LEFT JOIN devices d ON d.device_id = ut.device_id
                GROUP BY ut.device_id) a;
            IF v_each THEN
                UPDATE pg_temp.fleet_units f SET line = s.line FROM pg_temp.fleet_screened_on s WHERE s.device_id = f.device_id;
            END IF;
            -- a known unit keeps its rig and line where this call did not screen it, and has ' ' (several) once they differ
            UPDATE pg_temp.fleet_units f SET
                rig_id = CASE WHEN f.rig_id IS NULL OR o.rig_id = f.rig_id THEN o.rig_id ELSE ' ' END,
                line = CASE WHEN f.rig_id IS NULL OR o.line = f.line THEN o.line ELSE ' ' END
            FROM units o WHERE o.device_id = f.device_id AND (f.rig_id IS NULL OR o.rig_id IS DISTINCT FROM f.rig_id OR o.line IS DISTINCT FROM f.line);

            -- The units' old counts read once for both rollups: per lot, and per lot and span of screening hours (step 13).
            WITH x AS MATERIALIZED (
                SELECT lot, first_hour, last_hour, rig_id, line, judged, failed, 1 AS devices, first_passed, final_passed FROM fleet_units
                UNION ALL
                SELECT u.lot, u.first_hour, u.last_hour, u.rig_id, u.line, -u.judged, -u.failed, -1, -u.first_passed, -u.final_passed
                FROM pg_temp.fleet_touched t JOIN units u ON u.device_id = t.device_id),
            c AS (
                INSERT INTO lot_counts AS c (lot, units, failed, devices, first_passed, final_passed)
                SELECT lot, SUM(judged), SUM(failed), SUM(devices), SUM(first_passed), SUM(final_passed) FROM x
                GROUP BY lot ORDER BY lot
                ON CONFLICT (lot) DO UPDATE SET units = c.units + excluded.units, failed = c.failed + excluded.failed,
                    devices = c.devices + excluded.devices, first_passed = c.first_passed + excluded.first_passed,
                    final_passed = c.final_passed + excluded.final_passed),
            h AS (
                INSERT INTO rollup_lot_hours AS h (lot, first_hour, last_hour, units, failed, devices, first_passed, final_passed)
                SELECT lot, first_hour, last_hour, SUM(judged), SUM(failed), SUM(devices), SUM(first_passed), SUM(final_passed) FROM x
                WHERE first_hour IS NOT NULL
                GROUP BY lot, first_hour, last_hour
                HAVING SUM(judged) <> 0 OR SUM(failed) <> 0 OR SUM(devices) <> 0 OR SUM(first_passed) <> 0 OR SUM(final_passed) <> 0
                ORDER BY 1, 2, 3
                ON CONFLICT (lot, first_hour, last_hour) DO UPDATE SET units = h.units + excluded.units, failed = h.failed + excluded.failed,
                    devices = h.devices + excluded.devices, first_passed = h.first_passed + excluded.first_passed,
                    final_passed = h.final_passed + excluded.final_passed)
            -- the same per rig and line (step 14): a rig's or a line's filter sums these
            INSERT INTO rollup_lot_rig_hours AS g (rig_id, line, lot, first_hour, last_hour, units, failed, devices, first_passed, final_passed)
            SELECT rig_id, line, lot, first_hour, last_hour, SUM(judged), SUM(failed), SUM(devices), SUM(first_passed), SUM(final_passed) FROM x
            WHERE first_hour IS NOT NULL AND rig_id IS NOT NULL
            GROUP BY rig_id, line, lot, first_hour, last_hour
            HAVING SUM(judged) <> 0 OR SUM(failed) <> 0 OR SUM(devices) <> 0 OR SUM(first_passed) <> 0 OR SUM(final_passed) <> 0
            ORDER BY 1, 2, 3, 4, 5
            ON CONFLICT (rig_id, line, lot, first_hour, last_hour) DO UPDATE SET units = g.units + excluded.units, failed = g.failed + excluded.failed,
                devices = g.devices + excluded.devices, first_passed = g.first_passed + excluded.first_passed,
                final_passed = g.final_passed + excluded.final_passed;

            -- Known units updated, new ones inserted plainly (fleet step 12): no other session writes units under the
            -- rollup lock, and an upsert's speculative insertion per row cost more than the two statements.
            UPDATE units u SET lot = f.lot, judged = f.judged, failed = f.failed, first_passed = f.first_passed, final_passed = f.final_passed,
                               first_hour = f.first_hour, last_hour = f.last_hour, rig_id = f.rig_id, line = f.line,
                               first_at = f.first_at, last_at = f.last_at
            FROM fleet_units f
            WHERE u.device_id = f.device_id
              AND (u.lot, u.judged, u.failed, u.first_passed, u.final_passed, u.first_hour, u.last_hour, u.rig_id, u.line, u.first_at, u.last_at)
                  IS DISTINCT FROM (f.lot, f.judged, f.failed, f.first_passed, f.final_passed, f.first_hour, f.last_hour, f.rig_id, f.line, f.first_at, f.last_at);
            INSERT INTO units (device_id, lot, judged, failed, first_passed, final_passed, first_hour, last_hour, rig_id, line, first_at, last_at)
            SELECT f.device_id, f.lot, f.judged, f.failed, f.first_passed, f.final_passed, f.first_hour, f.last_hour, f.rig_id, f.line, f.first_at, f.last_at FROM fleet_units f
            WHERE NOT EXISTS (SELECT 1 FROM units u WHERE u.device_id = f.device_id) ORDER BY f.device_id;
        END $$
        """;

    /// <summary>
    /// The defect kind of a failure (DefectKinds.Of in the reports, as of fleet step 10) over lot_failures' columns of the
    /// row aliased <c>f</c>; a test holds the rollup equal to the page's rule over every row.
    /// </summary>
    private const string DefectKind =
        """
        CASE WHEN f.failure_mode IS NOT DISTINCT FROM 'stuck-in-dfu' THEN 'stuck in DFU'
             WHEN f.signature IS NULL THEN 'other'
             WHEN left(f.signature, 13) = 'erase failure' THEN 'erase failure'
             WHEN strpos(f.signature, 'never finishes') > 0 THEN 'flash hung (BUSY never clears)'
             WHEN left(f.signature, 16) = 'no cell programs' THEN 'no cell programs (dead or write-protected)'
             WHEN strpos(f.signature, 'stuck-at-') > 0 THEN 'stuck bits'
             ELSE 'other' END
        """;

    /// <summary>What one lot's page counts of a failure: its mode, signature and defect kind (part, name) as rows.</summary>
    private const string FailureParts =
        $"""
        CROSS JOIN LATERAL (VALUES ('mode', COALESCE(f.failure_mode, '(unclassified)')), ('signature', COALESCE(f.signature, '(unclassified)')),
                                   ('kind', {DefectKind})) p(part, name)
        """;

    /// <summary>
    /// Per lot the screened failures and their distinct devices by mode, signature and defect kind, and the readback's
    /// bit-error totals, counted from lot_failures (fleet step 10, and after a bulk load that recounted lot_failures).
    /// </summary>
    public static readonly string[] CountLotFailureRollups =
    [
        "DELETE FROM rollup_lot_failures",
        $"""
        INSERT INTO rollup_lot_failures (lot, part, name, failures, devices)
        SELECT f.lot, p.part, p.name, COUNT(*), COUNT(DISTINCT f.device_id) FROM lot_failures f
        {FailureParts}
        WHERE f.screened GROUP BY 1, 2, 3
        """,
        "DELETE FROM rollup_lot_bit_errors",
        """
        INSERT INTO rollup_lot_bit_errors (lot, position, total)
        SELECT f.lot, i, SUM(f.bit_errors[i]) FROM lot_failures f CROSS JOIN generate_series(1, 10) i
        WHERE f.screened AND f.bit_errors IS NOT NULL GROUP BY 1, 2
        """,
    ];

    /// <summary>Distinct devices per slot and those that failed there (fleet step 10, and after a bulk load).</summary>
    public static readonly string[] CountSlotDevices =
    [
        "DELETE FROM slot_devices",
        "INSERT INTO slot_devices (slot, device_id, failed) SELECT slot, device_id, bool_or(verdict <> 'pass') FROM results GROUP BY 1, 2",
        "DELETE FROM rollup_slots",
        "INSERT INTO rollup_slots (slot, devices, failed_devices) SELECT slot, COUNT(*), COUNT(*) FILTER (WHERE failed) FROM slot_devices GROUP BY slot",
    ];

    /// <summary>
    /// The failure rollups of the devices in pg_temp.fleet_fail_devices, kept exact across any change to their lot_failures
    /// rows (new failures, a first screening, a lot move): before the change their screened failures are remembered, after
    /// it the difference per lot and category (failures, and devices that start or stop having one) goes into the rollups.
    /// Distinct devices are not additive, so they are counted per device before and after. The caller holds the rollup lock.
    /// </summary>
    private static readonly string[] FailureRollupFunctions =
    [
        """
        CREATE FUNCTION fleet_failures_before() RETURNS VOID
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
        BEGIN
            CREATE TEMP TABLE IF NOT EXISTS fleet_fail_rows (sign INTEGER, lot TEXT, device_id TEXT, failure_mode TEXT, signature TEXT,
                                                             bit_errors BIGINT[]) ON COMMIT DELETE ROWS;
            DELETE FROM pg_temp.fleet_fail_rows;
            INSERT INTO pg_temp.fleet_fail_rows
            SELECT -1, f.lot, f.device_id, f.failure_mode, f.signature, f.bit_errors FROM lot_failures f
            WHERE f.screened AND f.device_id IN (SELECT device_id FROM pg_temp.fleet_fail_devices);
        END $$
        """,
        $$"""
        CREATE FUNCTION fleet_failures_after() RETURNS VOID
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
        BEGIN
            INSERT INTO pg_temp.fleet_fail_rows
            SELECT 1, f.lot, f.device_id, f.failure_mode, f.signature, f.bit_errors FROM lot_failures f
            WHERE f.screened AND f.device_id IN (SELECT device_id FROM pg_temp.fleet_fail_devices);

            INSERT INTO rollup_lot_failures AS t (lot, part, name, failures, devices)
            SELECT lot, part, name, SUM(after - before), SUM(CASE WHEN after > 0 THEN 1 ELSE 0 END - CASE WHEN before > 0 THEN 1 ELSE 0 END)
            FROM (SELECT f.lot, p.part, p.name, f.device_id,
                         COUNT(*) FILTER (WHERE f.sign > 0) AS after, COUNT(*) FILTER (WHERE f.sign < 0) AS before
                  FROM pg_temp.fleet_fail_rows f
                  {{FailureParts}}
                  GROUP BY 1, 2, 3, 4) d
            GROUP BY 1, 2, 3
            HAVING SUM(after - before) <> 0 OR SUM(CASE WHEN after > 0 THEN 1 ELSE 0 END - CASE WHEN before > 0 THEN 1 ELSE 0 END) <> 0
            ORDER BY 1, 2, 3
            ON CONFLICT (lot, part, name) DO UPDATE SET failures = t.failures + excluded.failures, devices = t.devices + excluded.devices;

            INSERT INTO rollup_lot_bit_errors AS t (lot, position, total)
            SELECT f.lot, i, SUM(f.sign * f.bit_errors[i]) FROM pg_temp.fleet_fail_rows f CROSS JOIN generate_series(1, 10) i
            WHERE f.bit_errors IS NOT NULL
            GROUP BY 1, 2 ORDER BY 1, 2
            ON CONFLICT (lot, position) DO UPDATE SET total = t.total + excluded.total;
        END $$
        """,
        // The inserted results' (slot, device) pairs: new ones count a device in the slot, and a device's first non-pass
        // result there a failed one. Under the rollup lock, so the pairs read are not changing under it.
        """
        CREATE FUNCTION fleet_count_slot_devices() RETURNS VOID
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
        BEGIN
            CREATE TEMP TABLE IF NOT EXISTS fleet_slot_seen (slot INTEGER, device_id TEXT, failed BOOLEAN, known BOOLEAN, was_failed BOOLEAN)
                ON COMMIT DELETE ROWS;
            DELETE FROM pg_temp.fleet_slot_seen;
            INSERT INTO pg_temp.fleet_slot_seen
            SELECT i.slot, i.device_id, i.failed, d.device_id IS NOT NULL, COALESCE(d.failed, FALSE)
            FROM (SELECT slot, device_id, bool_or(verdict <> 'pass') AS failed FROM pg_temp.fleet_inserted GROUP BY 1, 2) i
            LEFT JOIN slot_devices d ON d.slot = i.slot AND d.device_id = i.device_id;

            INSERT INTO slot_devices (slot, device_id, failed)
            SELECT slot, device_id, failed FROM pg_temp.fleet_slot_seen WHERE NOT known ORDER BY 1, 2;
            UPDATE slot_devices d SET failed = TRUE FROM pg_temp.fleet_slot_seen s
            WHERE s.known AND s.failed AND NOT s.was_failed AND d.slot = s.slot AND d.device_id = s.device_id;

            INSERT INTO rollup_slots AS t (slot, devices, failed_devices)
            SELECT slot, COUNT(*) FILTER (WHERE NOT known), COUNT(*) FILTER (WHERE failed AND NOT was_failed)
            FROM pg_temp.fleet_slot_seen GROUP BY slot ORDER BY slot
            ON CONFLICT (slot) DO UPDATE SET devices = t.devices + excluded.devices, failed_devices = t.failed_devices + excluded.failed_devices;
        END $$
        """,
        "REVOKE ALL ON FUNCTION fleet_failures_before() FROM PUBLIC",
        "REVOKE ALL ON FUNCTION fleet_failures_after() FROM PUBLIC",
        "REVOKE ALL ON FUNCTION fleet_count_slot_devices() FROM PUBLIC",
    ];

    /// <summary>
    /// Results staged in pg_temp.stage_results: inserted unless already there, rollups counting only the inserted. Its newest
    /// text, written by every step that (re)defines it (fleet steps 1, 2, 4, 6, 8, 10, 11, 12, 13, 14 and 16; a function's body is checked
    /// for columns only when it runs, which is after the last step).
    /// </summary>
    private static readonly string IngestResults =
        """
        CREATE OR REPLACE FUNCTION fleet_ingest_results() RETURNS TABLE (staged INTEGER, inserted INTEGER)
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp SET work_mem = '64MB' SET random_page_cost = 1.1 AS $$
        DECLARE v_rig TEXT := fleet_rig(); v_other TEXT; v_staged INTEGER; v_inserted INTEGER; v_line TEXT; v_lines BIGINT;
        BEGIN
            SELECT COUNT(*) INTO v_staged FROM pg_temp.stage_results;
            -- What the foreign key did per row, once per run: the runs exist, and stay while this transaction lasts.
            PERFORM 1 FROM runs WHERE id IN (SELECT DISTINCT run_id FROM pg_temp.stage_results) FOR KEY SHARE;
            SELECT COALESCE(c.rig_id, '(no such run ' || s.run_id || ')') INTO v_other
            FROM (SELECT DISTINCT run_id FROM pg_temp.stage_results) s LEFT JOIN runs c ON c.id = s.run_id
            WHERE c.rig_id IS DISTINCT FROM v_rig LIMIT 1;
            IF v_other IS NOT NULL THEN
                RAISE EXCEPTION 'rig % may not write rows of rig %', v_rig, v_other USING ERRCODE = '42501';
            END IF;

            -- One ingest per rig at a time (the rig's own key; other rigs go on in parallel): a row already here can only be
            -- this rig's, from an earlier or resent batch, so an anti-join on both unique keys finds it and the rest go in by
            -- a plain INSERT (ON CONFLICT's speculative insertion, per row and unique index, cost 60 % more per result).
            PERFORM pg_advisory_xact_lock(727440, hashtext(v_rig));
            CREATE TEMP TABLE IF NOT EXISTS fleet_inserted (device_id TEXT, slot INTEGER, test TEXT, cycle INTEGER, attempt INTEGER,
                                                           verdict TEXT, started_at TEXT, id TEXT) ON COMMIT DELETE ROWS;
            TRUNCATE pg_temp.fleet_inserted;
            INSERT INTO pg_temp.fleet_inserted
            SELECT s.device_id, s.slot, s.test, s.cycle, s.attempt, s.verdict, s.started_at, s.id FROM pg_temp.stage_results s
            WHERE NOT EXISTS (SELECT 1 FROM results r WHERE r.id = s.id)
              AND NOT EXISTS (SELECT 1 FROM results r WHERE r.run_id = s.run_id AND r.device_id = s.device_id AND r.test = s.test
                                                        AND COALESCE(r.cycle, -1) = COALESCE(s.cycle, -1) AND r.attempt = s.attempt);
            GET DIAGNOSTICS v_inserted = ROW_COUNT;
            IF v_inserted = 0 THEN
                RETURN QUERY SELECT v_staged, v_inserted;
                RETURN;
            END IF;
            IF v_inserted < v_staged THEN
                DELETE FROM pg_temp.stage_results s WHERE NOT EXISTS (SELECT 1 FROM pg_temp.fleet_inserted i WHERE i.id = s.id);
            END IF;
            INSERT INTO results (id, run_id, device_id, slot, test, cycle, attempt, verdict, failure_mode, signature,
                                 device_time_ms, started_at, ended_at, evidence_json, failure_kind)
            SELECT id, run_id, device_id, slot, test, cycle, attempt, verdict, failure_mode, signature,
                   device_time_ms, started_at, ended_at, evidence_json, failure_kind
            FROM pg_temp.stage_results ORDER BY id;

            PERFORM pg_advisory_xact_lock(7274400002);
            INSERT INTO rollup_rig_slot AS t (rig_id, slot, results, failed, rig_faults, last_result_at)
            SELECT v_rig, slot, COUNT(*), SUM(CASE WHEN verdict = 'fail' THEN 1 ELSE 0 END),
                   SUM(CASE WHEN verdict = 'rig-fault' THEN 1 ELSE 0 END), MAX(started_at)
            FROM pg_temp.fleet_inserted GROUP BY slot ORDER BY slot
            ON CONFLICT (rig_id, slot) DO UPDATE SET results = t.results + excluded.results, failed = t.failed + excluded.failed,
                rig_faults = t.rig_faults + excluded.rig_faults, last_result_at = GREATEST(t.last_result_at, excluded.last_result_at);

            INSERT INTO rollup_lot_day AS t (lot, day, results, failed, rig_faults)
            SELECT COALESCE(d.lot, '(unknown)'), substr(i.started_at, 1, 10), COUNT(*),
                   SUM(CASE WHEN i.verdict = 'fail' THEN 1 ELSE 0 END), SUM(CASE WHEN i.verdict = 'rig-fault' THEN 1 ELSE 0 END)
            FROM pg_temp.fleet_inserted i LEFT JOIN devices d ON d.device_id = i.device_id
            GROUP BY 1, 2 ORDER BY 1, 2
            ON CONFLICT (lot, day) DO UPDATE SET results = t.results + excluded.results, failed = t.failed + excluded.failed,
                rig_faults = t.rig_faults + excluded.rig_faults;

            INSERT INTO rollup_rig_day AS t (rig_id, day, results, failed, rig_faults)
            SELECT v_rig, substr(started_at, 1, 10), COUNT(*), SUM(CASE WHEN verdict = 'fail' THEN 1 ELSE 0 END),
                   SUM(CASE WHEN verdict = 'rig-fault' THEN 1 ELSE 0 END)
            FROM pg_temp.fleet_inserted GROUP BY 2 ORDER BY 2
            ON CONFLICT (rig_id, day) DO UPDATE SET results = t.results + excluded.results, failed = t.failed + excluded.failed,
                rig_faults = t.rig_faults + excluded.rig_faults;

            -- per minute and rig (fleet step 16): the rigs page over a range
            INSERT INTO rollup_rig_minutes AS t (minute, rig_id, results, rig_faults, last_result_at)
            SELECT left(started_at, 16), v_rig, COUNT(*), SUM(CASE WHEN verdict = 'rig-fault' THEN 1 ELSE 0 END), MAX(started_at)
            FROM pg_temp.fleet_inserted GROUP BY 1 ORDER BY 1
            ON CONFLICT (minute, rig_id) DO UPDATE SET results = t.results + excluded.results, rig_faults = t.rig_faults + excluded.rig_faults,
                last_result_at = GREATEST(t.last_result_at, excluded.last_result_at);

            PERFORM fleet_count_slot_devices();

            -- Devices screened in this batch; those of them with failures not screened before, and the devices of this
            -- batch's failures, change their lot's failure rollups: counted out as they were, in again as they end.
            CREATE TEMP TABLE IF NOT EXISTS fleet_touched (device_id TEXT) ON COMMIT DELETE ROWS;
            DELETE FROM pg_temp.fleet_touched;
            INSERT INTO pg_temp.fleet_touched SELECT DISTINCT device_id FROM pg_temp.fleet_inserted WHERE cycle IS NULL;
            CREATE TEMP TABLE IF NOT EXISTS fleet_fail_devices (device_id TEXT) ON COMMIT DELETE ROWS;
            DELETE FROM pg_temp.fleet_fail_devices;
            INSERT INTO pg_temp.fleet_fail_devices
            SELECT device_id FROM pg_temp.fleet_inserted WHERE verdict = 'fail'
            UNION
            SELECT f.device_id FROM lot_failures f WHERE NOT f.screened AND f.device_id IN (SELECT device_id FROM pg_temp.fleet_touched);
            PERFORM fleet_failures_before();

            INSERT INTO lot_failures (lot, result_id, device_id, failure_mode, signature, bit_errors, screened, started_at, run_id)
            SELECT COALESCE(d.lot, '(unknown)'), s.id, s.device_id, s.failure_mode, s.signature, fleet_bit_errors(s.evidence_json),
                   EXISTS (SELECT 1 FROM units u WHERE u.device_id = s.device_id), s.started_at, s.run_id
            FROM pg_temp.stage_results s LEFT JOIN devices d ON d.device_id = s.device_id
            WHERE s.verdict = 'fail' ORDER BY 1, 2;

            -- Each device's last and first attempt per test, in one row (fleet step 11): known rows updated where this batch
            -- moves either end, new ones inserted plainly (fleet step 12; under the rollup lock, so no other session adds
            -- one meanwhile).
            CREATE TEMP TABLE IF NOT EXISTS fleet_unit_tests (device_id TEXT, test TEXT, started_at TEXT, attempt INTEGER, verdict TEXT,
                                                             first_started_at TEXT, first_attempt INTEGER, first_verdict TEXT) ON COMMIT DELETE ROWS;
            DELETE FROM pg_temp.fleet_unit_tests;
            INSERT INTO pg_temp.fleet_unit_tests
            SELECT l.device_id, l.test, l.started_at, l.attempt, l.verdict, f.started_at, f.attempt, f.verdict
            FROM (SELECT DISTINCT ON (device_id, test) device_id, test, started_at, attempt, verdict FROM pg_temp.fleet_inserted
                  WHERE cycle IS NULL ORDER BY device_id, test, started_at DESC, attempt DESC) l
            JOIN (SELECT DISTINCT ON (device_id, test) device_id, test, started_at, attempt, verdict FROM pg_temp.fleet_inserted
                  WHERE cycle IS NULL ORDER BY device_id, test, started_at, attempt) f ON f.device_id = l.device_id AND f.test = l.test;
            UPDATE unit_tests t SET
                started_at = CASE WHEN (n.started_at, n.attempt) >= (t.started_at, t.attempt) THEN n.started_at ELSE t.started_at END,
                attempt = CASE WHEN (n.started_at, n.attempt) >= (t.started_at, t.attempt) THEN n.attempt ELSE t.attempt END,
                verdict = CASE WHEN (n.started_at, n.attempt) >= (t.started_at, t.attempt) THEN n.verdict ELSE t.verdict END,
                first_started_at = CASE WHEN t.first_started_at IS NULL OR (n.first_started_at, n.first_attempt) < (t.first_started_at, t.first_attempt)
                                        THEN n.first_started_at ELSE t.first_started_at END,
                first_attempt = CASE WHEN t.first_started_at IS NULL OR (n.first_started_at, n.first_attempt) < (t.first_started_at, t.first_attempt)
                                     THEN n.first_attempt ELSE t.first_attempt END,
                first_verdict = CASE WHEN t.first_started_at IS NULL OR (n.first_started_at, n.first_attempt) < (t.first_started_at, t.first_attempt)
                                     THEN n.first_verdict ELSE t.first_verdict END
            FROM pg_temp.fleet_unit_tests n
            WHERE t.device_id = n.device_id AND t.test = n.test
              AND ((n.started_at, n.attempt) >= (t.started_at, t.attempt) OR t.first_started_at IS NULL
                   OR (n.first_started_at, n.first_attempt) < (t.first_started_at, t.first_attempt));
            INSERT INTO unit_tests (device_id, test, started_at, attempt, verdict, first_started_at, first_attempt, first_verdict)
            SELECT n.device_id, n.test, n.started_at, n.attempt, n.verdict, n.first_started_at, n.first_attempt, n.first_verdict
            FROM pg_temp.fleet_unit_tests n
            WHERE NOT EXISTS (SELECT 1 FROM unit_tests t WHERE t.device_id = n.device_id AND t.test = n.test)
            ORDER BY 1, 2;

            -- The rig and line that screened this batch's devices, for the unit refresh (step 14): a batch is one rig's, and its
            -- runs' one line in the usual case; per device only when they have several (a rig moved line mid-run).
            SELECT MIN(COALESCE(line, '')), COUNT(DISTINCT COALESCE(line, '')) INTO v_line, v_lines
            FROM runs WHERE id IN (SELECT DISTINCT run_id FROM pg_temp.stage_results WHERE cycle IS NULL);
            IF v_lines > 1 THEN
                CREATE TEMP TABLE IF NOT EXISTS fleet_screened_on (device_id TEXT, line TEXT) ON COMMIT DELETE ROWS;
                DELETE FROM pg_temp.fleet_screened_on;
                INSERT INTO pg_temp.fleet_screened_on
                SELECT s.device_id, CASE WHEN MIN(COALESCE(ru.line, '')) = MAX(COALESCE(ru.line, '')) THEN MIN(COALESCE(ru.line, '')) ELSE ' ' END
                FROM pg_temp.stage_results s JOIN runs ru ON ru.id = s.run_id WHERE s.cycle IS NULL GROUP BY s.device_id;
            END IF;
            PERFORM set_config('hilrig.screened_rig', v_rig, true), set_config('hilrig.screened_line', COALESCE(v_line, ''), true),
                    set_config('hilrig.screened_lines', CASE WHEN v_lines > 1 THEN 'each' ELSE 'one' END, true);
            PERFORM fleet_refresh_units();
            -- A device screened for the first time: its failures (soak, or this batch's) count on its lot's page from now.
            UPDATE lot_failures f SET screened = TRUE
            WHERE NOT f.screened AND f.device_id IN (SELECT device_id FROM pg_temp.fleet_touched);
            PERFORM fleet_failures_after();

            UPDATE fleet_rigs SET results_synced = results_synced + v_inserted,
                last_result_at = GREATEST(last_result_at, (SELECT MAX(started_at) FROM pg_temp.fleet_inserted)), last_sync_at = now()
            WHERE rig_id = v_rig;
            RETURN QUERY SELECT v_staged, v_inserted;
        END $$
        """;

    /// <summary>
    /// The fleet's steps; {schema} is the schema the fleet lives in (the functions pin their search_path to it, so a
    /// rig's temporary table can never stand in for a real one).
    /// </summary>
    internal static readonly IReadOnlyList<string[]> Steps =
    [
        // 1: rigs, rollups, ingest.
        [
            """
            CREATE TABLE fleet_rigs (
                rig_id TEXT PRIMARY KEY,
                role_name TEXT NOT NULL UNIQUE,
                line TEXT NULL,
                software_version TEXT NULL,
                added_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                last_sync_at TIMESTAMPTZ NULL,
                clock_offset_ms DOUBLE PRECISION NULL,
                results_synced BIGINT NOT NULL DEFAULT 0,
                last_result_at TEXT NULL
            )
            """,
            // The rig that registered a device first; only it may change that device's lot later.
            "ALTER TABLE devices ADD COLUMN registered_by TEXT NULL",
            "ALTER TABLE runs ADD COLUMN line TEXT NULL",
            "CREATE INDEX ix_runs_rig ON runs(rig_id, started_at)",
            """
            CREATE TABLE rollup_lot_day (
                lot TEXT NOT NULL,
                day TEXT NOT NULL,
                results BIGINT NOT NULL,
                failed BIGINT NOT NULL,
                rig_faults BIGINT NOT NULL,
                PRIMARY KEY (lot, day)
            )
            """,
            """
            CREATE TABLE rollup_rig_slot (
                rig_id TEXT NOT NULL,
                slot INTEGER NOT NULL,
                results BIGINT NOT NULL,
                failed BIGINT NOT NULL,
                rig_faults BIGINT NOT NULL,
                last_result_at TEXT NOT NULL,
                PRIMARY KEY (rig_id, slot)
            )
            """,
            "ALTER TABLE fleet_rigs ENABLE ROW LEVEL SECURITY",
            "CREATE POLICY fleet_rigs_own ON fleet_rigs FOR SELECT USING (role_name = current_user)",
            """
            CREATE FUNCTION fleet_rig() RETURNS TEXT LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
            DECLARE v_rig TEXT;
            BEGIN
                SELECT rig_id INTO v_rig FROM fleet_rigs WHERE role_name = session_user;
                IF v_rig IS NULL THEN
                    RAISE EXCEPTION 'role % is not a rig of this fleet (hilrig fleet add-rig registers one)', session_user USING ERRCODE = '42501';
                END IF;
                RETURN v_rig;
            END $$
            """,
            IngestMeta,
            // Unit verdicts and lot counts of the devices in pg_temp.fleet_touched recomputed from their deciding attempts;
            // the caller holds the rollup lock. A table, not an array: joined by hash, where "= ANY(array)" of thousands
            // of ids is compared row by row.
            RefreshUnits,
            // Results staged in pg_temp.stage_results: inserted unless already there, rollups counting only the inserted.
            IngestResults,
            "REVOKE ALL ON FUNCTION fleet_rig() FROM PUBLIC",
            "REVOKE ALL ON FUNCTION fleet_ingest_meta(TEXT, TEXT, DOUBLE PRECISION) FROM PUBLIC",
            "REVOKE ALL ON FUNCTION fleet_refresh_units() FROM PUBLIC",
            "REVOKE ALL ON FUNCTION fleet_ingest_results() FROM PUBLIC",
            // The dashboard's fleet pages: a rig's runs by time, results per run already indexed by the store.
            "CREATE INDEX ix_rollup_lot_day_day ON rollup_lot_day(day, lot)",
        ],
        // 2: a leaner ingest, same rules. The inserted rows are remembered by the columns the rollups read only (not
        // the evidence), in a temporary table kept for the session and emptied per batch rather than created and
        // analysed per batch (catalog churn and ANALYZE cost more than the rollups they plan); the staged rows go in
        // by id, so the primary key's pages are walked in order.
        [
            IngestResults,
        ],
        // 3: qualification campaigns (issue 16). A campaign is split into work items that rigs' agents claim with a
        // lease (FOR UPDATE SKIP LOCKED), renew while they work and release when done; a lease that expires returns
        // the item to the queue. What an item ran is credited per run and item cycle range (first..last), reported by
        // the lease holder only after the run's rows reached this store, so a cycle is counted once whichever rig ran
        // it, and cycles a dead rig ran but never reported are run again and not counted twice. Rigs call functions
        // only; the campaign's owner (fleet administrator) creates and cancels campaigns with plain SQL.
        [
            """
            CREATE TABLE campaign_blobs (
                sha256 TEXT PRIMARY KEY,
                length INTEGER NOT NULL,
                bytes BYTEA NOT NULL,
                added_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE TABLE campaigns (
                name TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                bootloader TEXT NULL,
                bootloader_sha256 TEXT NULL REFERENCES campaign_blobs(sha256),
                baseline TEXT NULL,
                cycles BIGINT NOT NULL,
                cores INTEGER NOT NULL,
                lots TEXT NOT NULL,
                rigs TEXT NOT NULL,
                margin DOUBLE PRECISION NOT NULL,
                alpha DOUBLE PRECISION NOT NULL,
                power DOUBLE PRECISION NOT NULL,
                cycles_per_slot INTEGER NOT NULL,
                looks INTEGER NOT NULL,
                state TEXT NOT NULL DEFAULT 'running',
                decision TEXT NULL,
                decided_look INTEGER NULL,
                decided_by TEXT NULL,
                created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
                created_by TEXT NOT NULL DEFAULT session_user,
                ended_at TIMESTAMPTZ NULL
            )
            """,
            """
            CREATE TABLE campaign_items (
                campaign TEXT NOT NULL REFERENCES campaigns(name) ON DELETE CASCADE,
                number INTEGER NOT NULL,
                look INTEGER NOT NULL,
                planned_rig TEXT NOT NULL,
                arm TEXT NOT NULL,
                bootloader TEXT NULL,
                bootloader_sha256 TEXT NULL,
                slots INTEGER NOT NULL,
                cycles_per_slot INTEGER NOT NULL,
                cores INTEGER NOT NULL,
                state TEXT NOT NULL DEFAULT 'queued',
                cycles_done INTEGER NOT NULL DEFAULT 0,
                lease_id UUID NULL UNIQUE,
                leased_by TEXT NULL,
                leased_at TIMESTAMPTZ NULL,
                lease_expires TIMESTAMPTZ NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                done_at TIMESTAMPTZ NULL,
                PRIMARY KEY (campaign, number)
            )
            """,
            "CREATE INDEX ix_campaign_items_open ON campaign_items(campaign, number) WHERE state IN ('queued', 'leased')",
            """
            CREATE TABLE campaign_item_runs (
                run_id TEXT PRIMARY KEY,
                campaign TEXT NOT NULL,
                number INTEGER NOT NULL,
                rig_id TEXT NOT NULL,
                lease_id UUID NOT NULL,
                first_cycle INTEGER NOT NULL,
                last_cycle INTEGER NOT NULL,
                FOREIGN KEY (campaign, number) REFERENCES campaign_items(campaign, number) ON DELETE CASCADE
            )
            """,
            "CREATE INDEX ix_campaign_item_runs_campaign ON campaign_item_runs(campaign, number)",
            """
            CREATE TABLE fleet_agents (
                rig_id TEXT PRIMARY KEY REFERENCES fleet_rigs(rig_id),
                slots INTEGER NOT NULL,
                pid INTEGER NULL,
                host TEXT NULL,
                software_version TEXT NULL,
                state TEXT NOT NULL,
                heartbeat_at TIMESTAMPTZ NOT NULL,
                heartbeat_timeout_s DOUBLE PRECISION NOT NULL,
                started_at TIMESTAMPTZ NOT NULL
            )
            """,
            // The agent's heartbeat; a rig whose heartbeat stopped gets no work, and the work planned on it goes to others.
            """
            CREATE FUNCTION fleet_agent_heartbeat(p_slots INTEGER, p_pid INTEGER, p_host TEXT, p_software TEXT, p_state TEXT, p_timeout_s DOUBLE PRECISION)
            RETURNS TIMESTAMPTZ LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
            DECLARE v_rig TEXT := fleet_rig();
            BEGIN
                IF p_state IS NULL OR p_state NOT IN ('idle', 'working', 'stopping', 'stopped') THEN
                    RAISE EXCEPTION 'agent state %: valid: idle, working, stopping, stopped', p_state USING ERRCODE = '22023';
                END IF;
                IF p_slots IS NULL OR p_slots < 0 OR p_timeout_s IS NULL OR p_timeout_s < 1 OR p_timeout_s > 86400 THEN
                    RAISE EXCEPTION 'agent slots % / heartbeat timeout % s: valid: 0 or more slots, 1..86400 s', p_slots, p_timeout_s USING ERRCODE = '22023';
                END IF;
                INSERT INTO fleet_agents AS a (rig_id, slots, pid, host, software_version, state, heartbeat_at, heartbeat_timeout_s, started_at)
                VALUES (v_rig, p_slots, p_pid, p_host, p_software, p_state, clock_timestamp(), p_timeout_s, clock_timestamp())
                ON CONFLICT (rig_id) DO UPDATE SET slots = excluded.slots, pid = excluded.pid, host = excluded.host,
                    software_version = excluded.software_version, state = excluded.state, heartbeat_at = excluded.heartbeat_at,
                    heartbeat_timeout_s = excluded.heartbeat_timeout_s,
                    started_at = CASE WHEN a.pid IS DISTINCT FROM excluded.pid OR a.host IS DISTINCT FROM excluded.host THEN excluded.started_at ELSE a.started_at END;
                RETURN clock_timestamp();
            END $$
            """,
            // Whether a rig's agent is alive: heartbeat within its timeout, not stopping.
            """
            CREATE FUNCTION fleet_agent_alive(p_rig TEXT) RETURNS BOOLEAN LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
                SELECT EXISTS (SELECT 1 FROM fleet_agents a WHERE a.rig_id = p_rig AND a.state IN ('idle', 'working')
                               AND a.heartbeat_at + make_interval(secs => a.heartbeat_timeout_s) >= clock_timestamp())
            $$
            """,
            // The next work item for the calling rig: its own first, in queue order with everything else it may take (items
            // planned on a rig whose agent is not alive, items whose lease expired). Nothing for a rig without a live heartbeat.
            """
            CREATE FUNCTION fleet_campaign_claim(p_lease_s DOUBLE PRECISION)
            RETURNS TABLE (campaign TEXT, number INTEGER, look INTEGER, kind TEXT, arm TEXT, bootloader TEXT, bootloader_sha256 TEXT,
                           slots INTEGER, cycles_per_slot INTEGER, cycles_done INTEGER, cores INTEGER, lease_id UUID, lease_expires TIMESTAMPTZ,
                           previous_holder TEXT)
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
            #variable_conflict use_column
            DECLARE v_rig TEXT := fleet_rig(); v_item campaign_items%ROWTYPE; v_lease UUID := gen_random_uuid(); v_expires TIMESTAMPTZ;
            BEGIN
                IF p_lease_s IS NULL OR p_lease_s < 1 OR p_lease_s > 86400 THEN
                    RAISE EXCEPTION 'lease of % s: valid: 1..86400 s', p_lease_s USING ERRCODE = '22023';
                END IF;
                IF NOT fleet_agent_alive(v_rig) THEN
                    RETURN;
                END IF;
                -- the live rigs once, as a hashed set, rather than a liveness check per queued item
                SELECT i.* INTO v_item FROM campaign_items i JOIN campaigns c ON c.name = i.campaign
                WHERE c.state = 'running' AND i.state IN ('queued', 'leased')
                  AND (i.state = 'queued' OR i.lease_expires < clock_timestamp())
                  AND (c.rigs = '' OR v_rig = ANY (string_to_array(c.rigs, ',')))
                  AND (i.planned_rig = v_rig OR i.state = 'leased' OR i.planned_rig NOT IN (
                        SELECT a.rig_id FROM fleet_agents a WHERE a.state IN ('idle', 'working')
                          AND a.heartbeat_at + make_interval(secs => a.heartbeat_timeout_s) >= clock_timestamp()))
                ORDER BY c.created_at, c.name, i.number
                LIMIT 1
                FOR UPDATE OF i SKIP LOCKED;
                IF NOT FOUND THEN
                    -- two last releases at once each see the other's item open: whoever finds nothing finishes them
                    UPDATE campaigns c SET state = 'finished', ended_at = clock_timestamp()
                    WHERE c.state = 'running' AND NOT EXISTS (SELECT 1 FROM campaign_items i WHERE i.campaign = c.name AND i.state IN ('queued', 'leased'));
                    RETURN;
                END IF;
                v_expires := clock_timestamp() + make_interval(secs => p_lease_s);
                UPDATE campaign_items i SET state = 'leased', lease_id = v_lease, leased_by = v_rig, leased_at = clock_timestamp(),
                    lease_expires = v_expires, attempts = i.attempts + 1
                WHERE i.campaign = v_item.campaign AND i.number = v_item.number;
                UPDATE fleet_agents SET state = 'working', heartbeat_at = clock_timestamp() WHERE rig_id = v_rig;
                RETURN QUERY SELECT v_item.campaign, v_item.number, v_item.look, c.kind, v_item.arm, v_item.bootloader, v_item.bootloader_sha256,
                    v_item.slots, v_item.cycles_per_slot, v_item.cycles_done, v_item.cores, v_lease, v_expires,
                    CASE WHEN v_item.state = 'leased' THEN v_item.leased_by END
                FROM campaigns c WHERE c.name = v_item.campaign;
            END $$
            """,
            // The lease holder extends its lease and, once a run's rows are in this store, credits that run with the item's
            // cycles up to p_cycles_done. 'ok', 'stop' (the campaign was decided or cancelled: release) or 'lost' (not the
            // holder any more: the lease expired and another rig claimed the item).
            """
            CREATE FUNCTION fleet_campaign_renew(p_lease UUID, p_run_id TEXT, p_cycles_done INTEGER, p_lease_s DOUBLE PRECISION)
            RETURNS TEXT LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
            #variable_conflict use_column
            DECLARE v_rig TEXT := fleet_rig(); v_item campaign_items%ROWTYPE; v_state TEXT;
            BEGIN
                IF p_lease_s IS NULL OR p_lease_s < 1 OR p_lease_s > 86400 THEN
                    RAISE EXCEPTION 'lease of % s: valid: 1..86400 s', p_lease_s USING ERRCODE = '22023';
                END IF;
                SELECT * INTO v_item FROM campaign_items WHERE lease_id = p_lease AND leased_by = v_rig AND state = 'leased' FOR UPDATE;
                IF NOT FOUND THEN
                    RETURN 'lost';
                END IF;
                IF p_cycles_done IS NOT NULL AND p_cycles_done <> v_item.cycles_done THEN
                    IF p_cycles_done < v_item.cycles_done OR p_cycles_done > v_item.cycles_per_slot THEN
                        RAISE EXCEPTION 'work item % of campaign %: cycles done %: valid: % to %', v_item.number, v_item.campaign, p_cycles_done,
                            v_item.cycles_done, v_item.cycles_per_slot USING ERRCODE = '22023';
                    END IF;
                    IF p_run_id IS NULL OR NOT EXISTS (SELECT 1 FROM runs WHERE id = p_run_id AND rig_id = v_rig) THEN
                        RAISE EXCEPTION 'run % of rig % is not in the fleet store: sync its rows before crediting them', p_run_id, v_rig USING ERRCODE = '55000';
                    END IF;
                    INSERT INTO campaign_item_runs AS cr (run_id, campaign, number, rig_id, lease_id, first_cycle, last_cycle)
                    VALUES (p_run_id, v_item.campaign, v_item.number, v_rig, p_lease, v_item.cycles_done + 1, p_cycles_done)
                    ON CONFLICT (run_id) DO UPDATE SET last_cycle = excluded.last_cycle WHERE cr.lease_id = p_lease AND cr.last_cycle = v_item.cycles_done;
                    IF NOT FOUND THEN
                        RAISE EXCEPTION 'run % is credited to another lease or range already', p_run_id USING ERRCODE = '55000';
                    END IF;
                END IF;
                UPDATE campaign_items SET cycles_done = COALESCE(p_cycles_done, cycles_done), lease_expires = clock_timestamp() + make_interval(secs => p_lease_s)
                WHERE campaign = v_item.campaign AND number = v_item.number;
                UPDATE fleet_agents SET heartbeat_at = clock_timestamp() WHERE rig_id = v_rig;
                SELECT state INTO v_state FROM campaigns WHERE name = v_item.campaign;
                RETURN CASE WHEN v_state = 'running' THEN 'ok' ELSE 'stop' END;
            END $$
            """,
            // Gives the item back: done when all its cycles are credited, else back to the queue (or skipped when the campaign
            // is over). The campaign is finished when nothing is left to run.
            """
            CREATE FUNCTION fleet_campaign_release(p_lease UUID) RETURNS TEXT
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
            #variable_conflict use_column
            DECLARE v_rig TEXT := fleet_rig(); v_item campaign_items%ROWTYPE; v_running BOOLEAN; v_state TEXT;
            BEGIN
                SELECT * INTO v_item FROM campaign_items WHERE lease_id = p_lease AND leased_by = v_rig AND state = 'leased' FOR UPDATE;
                IF NOT FOUND THEN
                    RETURN 'lost';
                END IF;
                -- no lock on the campaign: a hundred rigs releasing at once must not queue behind each other's commits
                SELECT state = 'running' INTO v_running FROM campaigns WHERE name = v_item.campaign;
                v_state := CASE WHEN v_item.cycles_done >= v_item.cycles_per_slot THEN 'done' WHEN v_running THEN 'queued' ELSE 'skipped' END;
                UPDATE campaign_items SET state = v_state, lease_id = NULL, lease_expires = NULL,
                    done_at = CASE WHEN v_state = 'done' THEN clock_timestamp() END
                WHERE campaign = v_item.campaign AND number = v_item.number;
                UPDATE campaigns SET state = 'finished', ended_at = clock_timestamp()
                WHERE name = v_item.campaign AND state = 'running'
                  AND NOT EXISTS (SELECT 1 FROM campaign_items WHERE campaign = v_item.campaign AND state IN ('queued', 'leased'));
                RETURN v_state;
            END $$
            """,
            // A rig that worked on a campaign records the decision the rule reached on its complete looks 1..p_look; queued
            // items are skipped, leases in progress are told to stop at their next renewal.
            """
            CREATE FUNCTION fleet_campaign_conclude(p_campaign TEXT, p_look INTEGER, p_decision TEXT) RETURNS BOOLEAN
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
            #variable_conflict use_column
            DECLARE v_rig TEXT := fleet_rig();
            BEGIN
                IF p_decision IS NULL OR p_decision NOT IN ('go', 'no-go') THEN
                    RAISE EXCEPTION 'decision %: valid: go or no-go', p_decision USING ERRCODE = '22023';
                END IF;
                IF NOT EXISTS (SELECT 1 FROM campaign_item_runs WHERE campaign = p_campaign AND rig_id = v_rig) THEN
                    RAISE EXCEPTION 'rig % ran nothing of campaign %', v_rig, p_campaign USING ERRCODE = '42501';
                END IF;
                IF p_look IS NULL OR p_look < 1 OR EXISTS (SELECT 1 FROM campaign_items WHERE campaign = p_campaign AND look <= p_look AND state <> 'done') THEN
                    RAISE EXCEPTION 'campaign %: looks 1..% are not all done', p_campaign, p_look USING ERRCODE = '55000';
                END IF;
                UPDATE campaigns SET state = 'decided', decision = p_decision, decided_look = p_look, decided_by = v_rig, ended_at = clock_timestamp()
                WHERE name = p_campaign AND state = 'running';
                IF NOT FOUND THEN
                    RETURN FALSE;
                END IF;
                UPDATE campaign_items SET state = 'skipped' WHERE campaign = p_campaign AND state = 'queued';
                RETURN TRUE;
            END $$
            """,
            // What the credited runs found, per item, rig, run, lot and failure mode: soak cycles judged and failures by the
            // soak's rule (OTA judges a cycle; failed OTA and factory-reset steps count), screened units and failed units.
            """
            CREATE FUNCTION fleet_campaign_counts(p_campaign TEXT)
            RETURNS TABLE (number INTEGER, rig_id TEXT, run_id TEXT, lot TEXT, mode TEXT, cycles BIGINT, failures BIGINT, units BIGINT, units_failed BIGINT)
            LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
                SELECT cr.number, cr.rig_id, cr.run_id, COALESCE(d.lot, '(unknown)'),
                       CASE WHEN r.verdict = 'fail' AND r.test IN ('ota', 'factory-reset', 'soak') THEN COALESCE(r.failure_mode, r.test) END,
                       COUNT(*) FILTER (WHERE r.test IN ('ota', 'soak') AND r.verdict IN ('pass', 'fail')),
                       COUNT(*) FILTER (WHERE r.test IN ('ota', 'factory-reset', 'soak') AND r.verdict = 'fail'),
                       COUNT(*) FILTER (WHERE r.test = 'screen' AND r.verdict IN ('pass', 'fail')),
                       COUNT(*) FILTER (WHERE r.test = 'screen' AND r.verdict = 'fail')
                FROM campaign_item_runs cr
                JOIN results r ON r.run_id = cr.run_id AND (r.cycle IS NULL OR r.cycle BETWEEN cr.first_cycle AND cr.last_cycle)
                LEFT JOIN devices d ON d.device_id = r.device_id
                WHERE cr.campaign = p_campaign
                GROUP BY 1, 2, 3, 4, 5
                ORDER BY 1, 2, 3, 4, 5
            $$
            """,
            "REVOKE ALL ON FUNCTION fleet_agent_heartbeat(INTEGER, INTEGER, TEXT, TEXT, TEXT, DOUBLE PRECISION) FROM PUBLIC",
            "REVOKE ALL ON FUNCTION fleet_agent_alive(TEXT) FROM PUBLIC",
            "REVOKE ALL ON FUNCTION fleet_campaign_claim(DOUBLE PRECISION) FROM PUBLIC",
            "REVOKE ALL ON FUNCTION fleet_campaign_renew(UUID, TEXT, INTEGER, DOUBLE PRECISION) FROM PUBLIC",
            "REVOKE ALL ON FUNCTION fleet_campaign_release(UUID) FROM PUBLIC",
            "REVOKE ALL ON FUNCTION fleet_campaign_conclude(TEXT, INTEGER, TEXT) FROM PUBLIC",
            "REVOKE ALL ON FUNCTION fleet_campaign_counts(TEXT) FROM PUBLIC",
        ],
        // 4: a cheaper ingest, same rules. Measured per batch, the INSERT into results was two thirds of the time:
        // besides its nine indexes, the foreign key on run_id ran one locked lookup in runs per inserted row. The ingest
        // already refuses a batch whose runs are missing or another rig's; it now also takes the key-share lock the foreign
        // key took, once per run of the batch, so a run cannot be deleted under its results. Two indexes are prefixes of
        // others (run_id of ux_results_attempt; device_id of ix_results_device_time and ix_results_screening), and no
        // query needs them on their own. The unit refresh plans its temporary table without ANALYZE (the planner reads its
        // size), and the sort by id stays in memory.
        [
            "ALTER TABLE results DROP CONSTRAINT IF EXISTS results_run_id_fkey",
            "DROP INDEX IF EXISTS ix_results_run",
            "DROP INDEX IF EXISTS ix_results_device",
            // A rig's results per day, for the rigs page; counted once here, then kept by the ingest.
            """
            CREATE TABLE rollup_rig_day (
                rig_id TEXT NOT NULL,
                day TEXT NOT NULL,
                results BIGINT NOT NULL,
                failed BIGINT NOT NULL,
                rig_faults BIGINT NOT NULL,
                PRIMARY KEY (rig_id, day)
            )
            """,
            """
            INSERT INTO rollup_rig_day (rig_id, day, results, failed, rig_faults)
            SELECT ru.rig_id, substr(r.started_at, 1, 10), COUNT(*), SUM(CASE WHEN r.verdict = 'fail' THEN 1 ELSE 0 END),
                   SUM(CASE WHEN r.verdict = 'rig-fault' THEN 1 ELSE 0 END)
            FROM results r JOIN runs ru ON ru.id = r.run_id GROUP BY 1, 2
            """,
            // A lot's first-pass and final yield kept per lot, so a lot's page reads three numbers instead of every
            // screening attempt of the lot: each device's first attempt per test (unit_tests holds the last), whether all
            // its first (last) attempts passed, and per lot the devices and those two counts.
            """
            CREATE TABLE unit_first (
                device_id TEXT NOT NULL,
                test TEXT NOT NULL,
                started_at TEXT NOT NULL,
                attempt INTEGER NOT NULL,
                verdict TEXT NOT NULL,
                PRIMARY KEY (device_id, test)
            )
            """,
            "ALTER TABLE units ADD COLUMN first_passed INTEGER NOT NULL DEFAULT 0, ADD COLUMN final_passed INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE lot_counts ADD COLUMN devices BIGINT NOT NULL DEFAULT 0, ADD COLUMN first_passed BIGINT NOT NULL DEFAULT 0, ADD COLUMN final_passed BIGINT NOT NULL DEFAULT 0",
            .. RecountYieldsIntoUnitFirst,
            RefreshUnits,
            IngestResults,
        ],
        // 5: device lots moved under the rollup lock taken before the old lots are read.
        [IngestMeta],
        // 6: slot health travels (and the failures per lot, below): each rig's slots as its store last decided them (good, suspect, quarantined,
        // maintenance), staged in pg_temp.stage_slot_health and kept per rig and slot, newest change winning, so the
        // rigs page shows every rig's slots. A rig writes its own slots only.
        [
            """
            CREATE FUNCTION fleet_ingest_slot_health() RETURNS INTEGER
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
            DECLARE v_rig TEXT := fleet_rig(); v_other TEXT; v_changed INTEGER;
            BEGIN
                SELECT s.rig_id INTO v_other FROM pg_temp.stage_slot_health s WHERE s.rig_id <> v_rig LIMIT 1;
                IF v_other IS NOT NULL THEN
                    RAISE EXCEPTION 'rig % may not write rows of rig %', v_rig, v_other USING ERRCODE = '42501';
                END IF;
                INSERT INTO slot_health AS h (rig_id, slot, state, reason, since, changed_at)
                SELECT rig_id, slot, state, reason, since, changed_at FROM pg_temp.stage_slot_health ORDER BY slot
                ON CONFLICT (rig_id, slot) DO UPDATE SET state = excluded.state, reason = excluded.reason, since = excluded.since,
                    changed_at = excluded.changed_at
                WHERE excluded.changed_at >= h.changed_at
                  AND (h.state, h.reason, h.since, h.changed_at) IS DISTINCT FROM (excluded.state, excluded.reason, excluded.since, excluded.changed_at);
                GET DIAGNOSTICS v_changed = ROW_COUNT;
                RETURN v_changed;
            END $$
            """,
            "REVOKE ALL ON FUNCTION fleet_ingest_slot_health() FROM PUBLIC",
            // One lot's page read every result of each device of the lot to find its failures (a probe per device: 0.6-1.3 s
            // at 1 M results). The failing results per lot, kept by the ingest and moved with a device's lot, so the page
            // reads its failures only.
            """
            CREATE TABLE lot_failures (
                lot TEXT NOT NULL,
                result_id TEXT NOT NULL,
                device_id TEXT NOT NULL,
                PRIMARY KEY (lot, result_id)
            )
            """,
            "CREATE INDEX ix_lot_failures_device ON lot_failures(device_id)",
            .. CountLotFailures,
            IngestResults,
            IngestMeta,
        ],
        // 7: a campaign against a stored baseline (a soak run or
        // an earlier campaign's candidate arm) keeps the baseline's counts per lot and failure mode as they were when it was
        // created, so its decision never moves because the baseline's source changed or was pruned.
        [
            """
            CREATE TABLE campaign_baselines (
                campaign TEXT NOT NULL REFERENCES campaigns(name) ON DELETE CASCADE,
                lot TEXT NOT NULL,
                mode TEXT NULL,
                cycles BIGINT NOT NULL,
                failures BIGINT NOT NULL
            )
            """,
            "CREATE INDEX ix_campaign_baselines_campaign ON campaign_baselines(campaign)",
        ],
        // 8: one lot's page aggregates its failures where they are kept. It read each failing result of the lot by id for
        // its mode, signature and evidence (a flagged lot at 1 M results: 5,000 probes, 0.3-0.8 s; ten times that at 10 M).
        // lot_failures now carries the mode, the signature and the readback's bit-error totals (stuck-at-0, stuck-at-1,
        // then errors by bit position 0..7, read from the evidence once on ingest) and whether its device is screened (has a
        // unit: the page counts those only, and probing units per failure, or hashing all of them, cost as much as before),
        // so the page groups rows of one lot.
        [
            // The totals EvidenceJson.Read would find (readback.bitErrors), NULL when the text is not JSON or has no map.
            """
            CREATE FUNCTION fleet_bit_errors(p_evidence TEXT) RETURNS BIGINT[] LANGUAGE plpgsql IMMUTABLE AS $$
            DECLARE v_map JSONB; v_bits JSONB;
            BEGIN
                IF p_evidence IS NULL OR strpos(p_evidence, 'bitErrors') = 0 THEN
                    RETURN NULL;
                END IF;
                v_map := p_evidence::jsonb -> 'readback' -> 'bitErrors';
                IF v_map IS NULL OR jsonb_typeof(v_map) <> 'object' THEN
                    RETURN NULL;
                END IF;
                v_bits := CASE WHEN jsonb_typeof(v_map -> 'byBitPosition') = 'array' THEN v_map -> 'byBitPosition' ELSE '[]'::jsonb END;
                RETURN ARRAY[COALESCE((v_map ->> 'stuckAt0')::bigint, 0), COALESCE((v_map ->> 'stuckAt1')::bigint, 0)]
                    || ARRAY(SELECT COALESCE((v_bits ->> i)::bigint, 0) FROM generate_series(0, 7) i);
            EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range THEN
                RETURN NULL;
            END $$
            """,
            "REVOKE ALL ON FUNCTION fleet_bit_errors(TEXT) FROM PUBLIC",
            """
            ALTER TABLE lot_failures ADD COLUMN failure_mode TEXT NULL, ADD COLUMN signature TEXT NULL, ADD COLUMN bit_errors BIGINT[] NULL,
                ADD COLUMN screened BOOLEAN NOT NULL DEFAULT FALSE
            """,
            // the few failures of devices not screened yet (soak only), found when the device's first screening arrives
            "CREATE INDEX ix_lot_failures_unscreened ON lot_failures(device_id) WHERE NOT screened",
            // one lot's screened failures read from the index alone (failures are 2-3 % of the results: a small index),
            // not the failures of every lot
            "CREATE INDEX ix_lot_failures_lot ON lot_failures(lot, device_id) INCLUDE (failure_mode, signature, bit_errors) WHERE screened",
            .. RecountLotFailures,
            IngestResults,
        ],
        // 9: the release of a campaign's last item finishes the campaign
        // before its rig can conclude it, so a decision reached only on the last look (a screen's always, a soak's at the
        // plan's end) was never recorded. A finished campaign, every item done, takes its decision too. OR REPLACE keeps
        // the function's owner and grants.
        [
            """
            CREATE OR REPLACE FUNCTION fleet_campaign_conclude(p_campaign TEXT, p_look INTEGER, p_decision TEXT) RETURNS BOOLEAN
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
            #variable_conflict use_column
            DECLARE v_rig TEXT := fleet_rig();
            BEGIN
                IF p_decision IS NULL OR p_decision NOT IN ('go', 'no-go') THEN
                    RAISE EXCEPTION 'decision %: valid: go or no-go', p_decision USING ERRCODE = '22023';
                END IF;
                IF NOT EXISTS (SELECT 1 FROM campaign_item_runs WHERE campaign = p_campaign AND rig_id = v_rig) THEN
                    RAISE EXCEPTION 'rig % ran nothing of campaign %', v_rig, p_campaign USING ERRCODE = '42501';
                END IF;
                IF p_look IS NULL OR p_look < 1 OR EXISTS (SELECT 1 FROM campaign_items WHERE campaign = p_campaign AND look <= p_look AND state <> 'done') THEN
                    RAISE EXCEPTION 'campaign %: looks 1..% are not all done', p_campaign, p_look USING ERRCODE = '55000';
                END IF;
                UPDATE campaigns SET state = 'decided', decision = p_decision, decided_look = p_look, decided_by = v_rig,
                    ended_at = COALESCE(ended_at, clock_timestamp())
                WHERE name = p_campaign AND state IN ('running', 'finished');
                IF NOT FOUND THEN
                    RETURN FALSE;
                END IF;
                UPDATE campaign_items SET state = 'skipped' WHERE campaign = p_campaign AND state = 'queued';
                RETURN TRUE;
            END $$
            """,
        ],
        // 10: one lot's page and the slots page read rollups, and the ingest costs less per result. One lot's page grouped
        // its failures from lot_failures (a flagged lot at 10 M: 50,000 rows, 314 ms median, p95 448): the lot's failures
        // and distinct devices per mode, signature and defect kind, and its bit-error totals, are now kept by the ingest
        // (rollup_lot_failures, rollup_lot_bit_errors). The slots page counted distinct devices per slot over every result
        // (5.9-15 s at 10 M): each (slot, device) pair once with whether it failed there (slot_devices), and per slot the
        // counts (rollup_slots). The ingest finds a resent batch's rows by an anti-join under a per-rig lock and inserts the
        // rest plainly (no speculative insertion), and carries the results' failure kind. ix_results_slot served only the
        // slots page's count; a slot's page wants its newest results: (slot, started_at).
        [
            """
            CREATE TABLE rollup_lot_failures (
                lot TEXT NOT NULL,
                part TEXT NOT NULL,
                name TEXT NOT NULL,
                failures BIGINT NOT NULL,
                devices BIGINT NOT NULL,
                PRIMARY KEY (lot, part, name)
            )
            """,
            // position 1 and 2: stuck-at-0 and stuck-at-1 bits; 3..10: errors by bit position 0..7 (lot_failures.bit_errors)
            """
            CREATE TABLE rollup_lot_bit_errors (
                lot TEXT NOT NULL,
                position INTEGER NOT NULL,
                total BIGINT NOT NULL,
                PRIMARY KEY (lot, position)
            )
            """,
            """
            CREATE TABLE slot_devices (
                slot INTEGER NOT NULL,
                device_id TEXT NOT NULL,
                failed BOOLEAN NOT NULL,
                PRIMARY KEY (slot, device_id)
            )
            """,
            """
            CREATE TABLE rollup_slots (
                slot INTEGER PRIMARY KEY,
                devices BIGINT NOT NULL,
                failed_devices BIGINT NOT NULL
            )
            """,
            "DROP INDEX IF EXISTS ix_results_slot",
            "CREATE INDEX ix_results_slot_time ON results(slot, started_at)",
            .. CountLotFailureRollups,
            .. CountSlotDevices,
            .. FailureRollupFunctions,
            IngestResults,
            IngestMeta,
            "ANALYZE rollup_lot_failures, rollup_lot_bit_errors, slot_devices, rollup_slots",
        ],
        // 11: the ingest costs less per device. Each device's first attempt per test (for the first-pass yield) lived in
        // unit_first beside unit_tests' last, with the same key: a second upsert per device and test, and a probe per
        // device when its unit was refreshed. Measured on 30,451 results of 20,000 Cores, the two were a fifth of the
        // server's ingest CPU (1.37-1.50 s -> 1.02-1.18 s). unit_tests now keeps the first attempt too, and unit_first goes.
        [
            "ALTER TABLE unit_tests ADD COLUMN first_started_at TEXT NULL, ADD COLUMN first_attempt INTEGER NULL, ADD COLUMN first_verdict TEXT NULL",
            """
            UPDATE unit_tests t SET first_started_at = f.started_at, first_attempt = f.attempt, first_verdict = f.verdict
            FROM unit_first f WHERE f.device_id = t.device_id AND f.test = t.test
            """,
            "DROP TABLE unit_first",
            RefreshUnits,
            IngestResults,
        ],
        // 12: the ingest costs less per result and per device. Two of results' indexes led with device_id: (device_id,
        // started_at) for a device's results and (device_id, test, started_at, attempt, verdict) WHERE cycle IS NULL for its
        // screening attempts (a lot's page over a date range, a device's last signature), each an entry per result. One index
        // serves both, its screening attempts apart from its soak cycles (`cycle IS NULL` is matched on the index as its
        // second column), so a soaked device's cycles are still never read for its screening. Measured on 30,451 results
        // inserted alone: 350 -> 290 ms of CPU. The unit refresh and each device's first and last attempt per test update
        // the known rows and insert the new ones plainly instead of an upsert. The two ingest functions plan with
        // random_page_cost 1.1 (the server's default, 4, prices a random read as a disk seek): what a batch probes (the
        // keys of its devices and results) is in memory, and at the default the planner hashed whole tables instead (a
        // fleet of 1 M results: unit_tests, units and devices read in full for 20,000 new devices; the batch's ingest took
        // 5.5-7.3 s, and 2.3 s planned this way).
        [
            "CREATE INDEX ix_results_device_screening ON results(device_id, (cycle IS NULL), started_at)",
            "DROP INDEX IF EXISTS ix_results_device_time",
            "DROP INDEX IF EXISTS ix_results_screening",
            RefreshUnits,
            IngestResults,
            IngestMeta,
            "ANALYZE results",
        ],
        // 13: the lots page and a lot's page over a date range at 10 M results. Counting each device's deciding attempts
        // from the results costs with the results in the range (1.0-1.6 s for a day's 1 M at step 12), and a row per
        // device, test and day (tried as unit_test_days) was still 1.0-1.3 s and an upsert per attempt. A unit whose
        // screening attempts all lie inside the range is decided by its latest attempts overall, which units holds: so
        // the units are counted per lot and span of screening hours (first and last hour), kept by the unit refresh with
        // the units' old counts it reads anyway (one more grouped upsert per batch, none per attempt). A range of whole
        // hours sums the spans inside it; the few units that straddle a bound (a span across it, ix_units_span) or have
        // an attempt in a part hour at either end are counted from their results. A lot's failures carry their start and
        // run (on the lot's index), so its page over a range, a rig or a line counts them without reading results.
        [
            "ALTER TABLE units ADD COLUMN first_hour TEXT NULL, ADD COLUMN last_hour TEXT NULL",
            "ALTER TABLE lot_failures ADD COLUMN started_at TEXT NULL, ADD COLUMN run_id TEXT NULL",
            """
            CREATE TABLE rollup_lot_hours (
                lot TEXT NOT NULL,
                first_hour TEXT NOT NULL,
                last_hour TEXT NOT NULL,
                units BIGINT NOT NULL,
                failed BIGINT NOT NULL,
                devices BIGINT NOT NULL,
                first_passed BIGINT NOT NULL,
                final_passed BIGINT NOT NULL,
                PRIMARY KEY (lot, first_hour, last_hour)
            )
            """,
            .. CountLotHours,
            "CREATE INDEX ix_units_span ON units(last_hour, first_hour) INCLUDE (device_id, lot) WHERE first_hour <> last_hour",
            "DROP INDEX ix_lot_failures_lot",
            "CREATE INDEX ix_lot_failures_lot ON lot_failures(lot, device_id) INCLUDE (failure_mode, signature, bit_errors, started_at, run_id) WHERE screened",
            RefreshUnits,
            IngestResults,
            "ANALYZE units, rollup_lot_hours, lot_failures",
        ],
        // 14: a rig's or a line's filter at 10 M results (2-11 s at step 13, counted from the rig's results). A unit's
        // screening rig and line are kept beside its span (' ' where they are several: the few units moved between rigs or
        // lines), and the units per rig, line, lot and span in a sibling of rollup_lot_hours, by the same grouped upsert of
        // the unit refresh; a batch is one rig's, so the refresh needs only the batch's line per device. A filter by rig
        // or line sums its rows; the units on several rigs or lines (ix_units_several) are counted from their attempts.
        [
            "ALTER TABLE units ADD COLUMN rig_id TEXT NULL, ADD COLUMN line TEXT NULL",
            """
            CREATE TABLE rollup_lot_rig_hours (
                rig_id TEXT NOT NULL,
                line TEXT NOT NULL,
                lot TEXT NOT NULL,
                first_hour TEXT NOT NULL,
                last_hour TEXT NOT NULL,
                units BIGINT NOT NULL,
                failed BIGINT NOT NULL,
                devices BIGINT NOT NULL,
                first_passed BIGINT NOT NULL,
                final_passed BIGINT NOT NULL,
                PRIMARY KEY (rig_id, line, lot, first_hour, last_hour)
            )
            """,
            .. CountUnitRigs,
            "CREATE INDEX ix_rollup_lot_rig_hours_line ON rollup_lot_rig_hours(line, lot, first_hour, last_hour)",
            "CREATE INDEX ix_units_several ON units(last_hour, first_hour) INCLUDE (device_id, lot, rig_id, line) WHERE rig_id = ' ' OR line = ' '",
            // a rig's or a line's units across a bound read from the span index alone (with a heap fetch each, the planner
            // took a parallel scan of units for its overestimate of them)
            "DROP INDEX ix_units_span",
            "CREATE INDEX ix_units_span ON units(last_hour, first_hour) INCLUDE (device_id, lot, rig_id, line) WHERE first_hour <> last_hour",
            RefreshUnits,
            IngestResults,
            "ANALYZE units, rollup_lot_rig_hours",
        ],
        // 15: a range whose bound is off the hour (a shift from 06:30) at 10 M results: every result of the part hours was
        // read (0.46-0.61 s at step 14). A unit whose screening attempts all lie inside the range is decided by its latest
        // attempts overall, so units keep their first and last attempt's start, and a part hour's units screened within
        // that hour are found by their first attempt (ix_units_at):
        // those inside the range counted as they are, only the few whose attempts straddle the bound read from results.
        [
            "ALTER TABLE units ADD COLUMN first_at TEXT NULL, ADD COLUMN last_at TEXT NULL",
            .. CountUnitTimes,
            // by first attempt alone: with what a count reads included (230 bytes a unit), the ingest's server CPU was 6 %
            // more; the part hour's units are fetched from the heap in the order they were screened, a few pages
            "CREATE INDEX ix_units_at ON units(first_at) WHERE first_hour = last_hour",
            RefreshUnits,
            "ANALYZE units",
        ],
        // 16: the dashboard's own rigs page and a failure mode's page at 10 M results (timed over HTTP since). The rigs page
        // over a range counted every result in it per rig (1.9 s for a shift off the hour): results, rig faults and the
        // newest result per minute and rig, kept by the ingest beside rollup_rig_day (one more grouped upsert per batch); a
        // range reads its whole minutes there (by hour, its part hours' results were 60,000 rows a shift at 10 M: 250 ms)
        // and the results of a part minute at either end only. A failure mode's page read every
        // result for its failed and rig-faulted attempts of one mode (1.0-1.3 s): those attempts (3 % of the results) by
        // mode and start in a partial index.
        [
            """
            CREATE TABLE rollup_rig_minutes (
                minute TEXT NOT NULL,
                rig_id TEXT NOT NULL,
                results BIGINT NOT NULL,
                rig_faults BIGINT NOT NULL,
                last_result_at TEXT NOT NULL,
                PRIMARY KEY (minute, rig_id)
            )
            """,
            .. CountRigMinutes,
            "CREATE INDEX ix_results_mode ON results(failure_mode, started_at) WHERE verdict IN ('fail', 'rig-fault')",
            IngestResults,
            "ANALYZE rollup_rig_minutes",
        ],
        // 17: a failure mode's page at 10 M results once the failures have modes (the generated fleet's had none): the
        // commonest (102,000 failures) fetched every failed row to count them per lot (686 ms), then read lot_failures
        // whole and, for the mode's rig faults, every failed row of the mode from the heap (355 ms). Its failures by mode
        // and start with their lot, device and run, and its rig faults alone, each in an index read only.
        [
            "CREATE INDEX ix_lot_failures_mode ON lot_failures(failure_mode, started_at) INCLUDE (lot, device_id, run_id)",
            "CREATE INDEX ix_results_rig_fault_mode ON results(failure_mode, started_at) WHERE verdict = 'rig-fault'",
            "ANALYZE lot_failures",
        ],
    ];

    public static int Latest => Steps.Count;

    /// <summary>The results-store schema version this code writes (the first half of a fleet's "store.fleet" version).</summary>
    public static int StoreLatest => Migrations.Latest;

    /// <summary>What a rig's role is granted; repeated for every rig when a newer fleet step adds functions or tables.</summary>
    private static readonly string[] RigGrants =
    [
        "GRANT USAGE ON SCHEMA {schema} TO {role}",
        "GRANT SELECT ON schema_version, fleet_schema_version, fleet_rigs TO {role}",
        "GRANT EXECUTE ON FUNCTION fleet_rig(), fleet_ingest_meta(TEXT, TEXT, DOUBLE PRECISION), fleet_ingest_results() TO {role}",
        // fleet step 6
        "GRANT EXECUTE ON FUNCTION fleet_ingest_slot_health() TO {role}",
        // fleet step 3: campaigns are read by any rig (status on the rig, the bootloader image it must flash) and
        // changed only through the lease functions
        "GRANT SELECT ON campaigns, campaign_items, campaign_item_runs, campaign_blobs, fleet_agents TO {role}",
        """
        GRANT EXECUTE ON FUNCTION fleet_agent_heartbeat(INTEGER, INTEGER, TEXT, TEXT, TEXT, DOUBLE PRECISION), fleet_agent_alive(TEXT),
            fleet_campaign_claim(DOUBLE PRECISION), fleet_campaign_renew(UUID, TEXT, INTEGER, DOUBLE PRECISION), fleet_campaign_release(UUID),
            fleet_campaign_conclude(TEXT, INTEGER, TEXT), fleet_campaign_counts(TEXT) TO {role}
        """,
        // fleet step 7: a stored baseline's counts, read by status on any rig and by the agent's decision
        "GRANT SELECT ON campaign_baselines TO {role}",
    ];

    /// <summary>
    /// Creates the fleet database's schema or brings it up to date (store steps, then fleet steps), in one
    /// transaction. Run with a role that owns the database and may create roles (the server's superuser does).
    /// </summary>
    /// <returns>The store and fleet schema versions before and after.</returns>
    /// <exception cref="ResultsStoreException">The database's schema is newer than this code.</exception>
    public static (int StoreBefore, int FleetBefore) Init(string connectionString, TimeProvider? time = null) =>
        Init(connectionString, Latest, time);

    /// <summary>As <see cref="Init(string, TimeProvider?)"/>, the fleet's steps up to <paramref name="upTo"/> only (tests upgrade a fleet left at an older step).</summary>
    internal static (int StoreBefore, int FleetBefore) Init(string connectionString, int upTo, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(upTo, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(upTo, Latest);
        time ??= TimeProvider.System;
        using var db = new NpgsqlConnection(connectionString);
        db.Open();
        var storeBefore = db.ExecuteScalar<bool>("SELECT to_regclass('schema_version') IS NOT NULL")
            ? db.ExecuteScalar<int?>("SELECT MAX(version) FROM schema_version") ?? 0
            : 0;
        // The store's own steps, under its own lock and version table.
        ResultsStore.OpenPostgres(connectionString, time);
        using var tx = db.BeginTransaction();
        db.Execute($"SELECT pg_advisory_xact_lock({MigrationLock})", transaction: tx);
        db.Execute("CREATE TABLE IF NOT EXISTS fleet_schema_version (version INTEGER NOT NULL, applied_at TEXT NOT NULL)", transaction: tx);
        var current = db.ExecuteScalar<int?>("SELECT MAX(version) FROM fleet_schema_version", transaction: tx) ?? 0;
        if (current > Latest)
            throw new ResultsStoreException($"fleet database has fleet schema version {current}, newer than this hilrig understands ({Latest}); update hilrig");
        var schema = db.ExecuteScalar<string>("SELECT quote_ident(current_schema())", transaction: tx)!;
        for (var version = current + 1; version <= upTo; version++)
        {
            foreach (var statement in Steps[version - 1])
                db.Execute(statement.Replace("{schema}", schema, StringComparison.Ordinal), transaction: tx, commandTimeout: 0);
            db.Execute("INSERT INTO fleet_schema_version (version, applied_at) VALUES (@version, @at)",
                new { version, at = StoreText.Time(time.GetUtcNow()) }, tx);
        }
        if (current < upTo)
            // rigs whose role exists: one an admin dropped, or the bench's generated rigs (no role), have nothing to grant
            foreach (var role in db.Query<string>("SELECT f.role_name FROM fleet_rigs f JOIN pg_roles r ON r.rolname = f.role_name", transaction: tx).ToList())
                Grant(db, tx, schema, role);
        tx.Commit();
        return (storeBefore, current);
    }

    /// <summary>
    /// Registers a rig: creates its login role with a generated password, grants it the ingest functions only, and
    /// returns the connection string the rig syncs with (the admin's host, port and database).
    /// </summary>
    /// <exception cref="ResultsStoreException">The fleet is not initialised, the rig is registered already, or the role exists.</exception>
    public static FleetRig AddRig(string connectionString, string rigId, string? role = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(rigId);
        role ??= DefaultRole(rigId);
        if (!RoleName().IsMatch(role))
            throw new ResultsStoreException($"--role {role}: valid: lowercase letters, digits and _, starting with a letter, at most 63 characters");
        using var db = new NpgsqlConnection(connectionString);
        db.Open();
        if (db.ExecuteScalar<string?>("SELECT to_regclass('fleet_rigs')::text") is null)
            throw new ResultsStoreException("this database is not a fleet yet; run `hilrig fleet init --connection ...` first");
        using var tx = db.BeginTransaction();
        if (db.ExecuteScalar<long>("SELECT COUNT(*) FROM fleet_rigs WHERE rig_id = @rigId", new { rigId }, tx) > 0)
            throw new ResultsStoreException($"rig {rigId} is registered with this fleet already");
        if (db.ExecuteScalar<long>("SELECT COUNT(*) FROM pg_roles WHERE rolname = @role", new { role }, tx) > 0)
            throw new ResultsStoreException($"PostgreSQL role {role} exists already; pass --role NAME for rig {rigId}");
        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(18)).ToLowerInvariant();
        // Role names and passwords cannot be parameters; both are checked or generated above.
        db.Execute($"CREATE ROLE {role} LOGIN PASSWORD '{password}' NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT", transaction: tx);
        db.Execute("INSERT INTO fleet_rigs (rig_id, role_name) VALUES (@rigId, @role)", new { rigId, role }, tx);
        var schema = db.ExecuteScalar<string>("SELECT quote_ident(current_schema())", transaction: tx)!;
        Grant(db, tx, schema, role);
        tx.Commit();
        var admin = new NpgsqlConnectionStringBuilder(connectionString);
        var rig = new NpgsqlConnectionStringBuilder
        {
            Host = admin.Host, Port = admin.Port, Database = admin.Database, Username = role, Password = password,
        };
        if (!string.IsNullOrEmpty(admin.SearchPath))
            rig.SearchPath = admin.SearchPath;
        return new FleetRig(rigId, role, rig.ConnectionString);
    }

    /// <summary>hilrig_ and the rig id in lowercase, other characters as _.</summary>
    public static string DefaultRole(string rigId)
    {
        var name = "hilrig_" + NotRoleCharacter().Replace(rigId.ToLowerInvariant(), "_");
        return name.Length > 63 ? name[..63] : name;
    }

    private static void Grant(NpgsqlConnection db, NpgsqlTransaction tx, string schema, string role)
    {
        foreach (var grant in RigGrants)
            db.Execute(grant.Replace("{schema}", schema, StringComparison.Ordinal).Replace("{role}", role, StringComparison.Ordinal), transaction: tx);
    }

    [GeneratedRegex("^[a-z][a-z0-9_]{0,62}$")]
    private static partial Regex RoleName();

    [GeneratedRegex("[^a-z0-9_]")]
    private static partial Regex NotRoleCharacter();
}
