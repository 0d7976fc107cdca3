namespace HilRig.Core.Results;

/// <summary>The SQL engine behind a results store.</summary>
internal enum StoreDialect
{
    Sqlite,
    Postgres,
}

/// <summary>
/// The store's schema as an ordered list of steps; version N is the state after step N. Never edit a shipped
/// step: add one. The SQL is shared by SQLite and PostgreSQL (TEXT uuids and ISO-8601 UTC times); a step whose SQL
/// cannot be shared gets its PostgreSQL text in <see cref="PostgresSteps"/> under the same version, so both engines
/// always walk the same numbered steps.
/// </summary>
internal static class Migrations
{
    /// <summary>The statements of step <paramref name="version"/> (1-based) for an engine.</summary>
    public static IReadOnlyList<string> Step(StoreDialect dialect, int version) =>
        dialect == StoreDialect.Postgres && PostgresSteps.TryGetValue(version, out var pg) ? pg : Steps[version - 1];

    /// <summary>PostgreSQL text of the steps whose shared SQL PostgreSQL does not take.</summary>
    private static readonly Dictionary<int, string[]> PostgresSteps = new()
    {
        // 10: a rig's SQLite pages; a fleet database chooses its own indexes (FleetSchema), sized for its ingest.
        [10] = [],
        // 11: the same (a rig's SQLite pages); the fleet keeps its own rollups (FleetSchema).
        [11] = [],
        // 12: the same (a rig's SQLite lot page); a fleet reads its lot_failures rollups (FleetSchema step 10), and a rig
        // store on PostgreSQL keeps reading the lot's failed rows and their evidence.
        [12] = [],
        // 14: the same (a rig's SQLite mode page; step 10 made no ix_results_mode there).
        [14] = [],
        // 15: the same (a rig's SQLite modes page); a PostgreSQL store counts the modes page from its failed rows.
        [15] = [],
        // 16: the same (a rig's SQLite lot page); a PostgreSQL rig store counts a lot's yields from its attempts.
        [16] = [],
        // 17: the same (a rig's SQLite pages over dates); a fleet keeps its units' spans itself (FleetSchema step 13).
        [17] = [],
    };

    // What steps 10, 11 and 12 count from the results already stored, declared before Steps, which spreads them (static
    // fields initialise in order); a bulk load that sets the triggers aside counts its summaries with them too.
    /// <summary>Step 10's run pages: per run and slot the counts, devices, last result and last failure mode.</summary>
    private static readonly string[] RunSlotBackfill =
    [
        "INSERT INTO run_slot_counts (run_id, slot, verdict, results) SELECT run_id, slot, verdict, COUNT(*) FROM results GROUP BY run_id, slot, verdict",
        "INSERT INTO run_slot_devices (run_id, slot, device_id, first_ended_at) SELECT run_id, slot, device_id, MIN(ended_at) FROM results GROUP BY run_id, slot, device_id",
        """
        INSERT INTO run_slots (run_id, slot, last_ended_at, last_test, last_verdict)
        SELECT run_id, slot, ended_at, test, verdict FROM (
            SELECT run_id, slot, ended_at, test, verdict, ROW_NUMBER() OVER (PARTITION BY run_id, slot ORDER BY ended_at DESC, id DESC) AS rn FROM results) x
        WHERE rn = 1
        """,
        """
        UPDATE run_slots SET mode_ended_at = m.ended_at, failure_mode = m.failure_mode
        FROM (SELECT run_id, slot, ended_at, failure_mode FROM (
                  SELECT run_id, slot, ended_at, failure_mode, ROW_NUMBER() OVER (PARTITION BY run_id, slot ORDER BY ended_at DESC, id DESC) AS rn
                  FROM results WHERE failure_mode IS NOT NULL) x
              WHERE rn = 1) m
        WHERE m.run_id = run_slots.run_id AND m.slot = run_slots.slot
        """,
    ];

    /// <summary>Step 11's pages: slots, rig days, run tests, device failures, the deciding attempt per day.</summary>
    private static readonly string[] PageBackfill =
    [
        "INSERT INTO slot_devices (slot, device_id, not_passed) SELECT slot, device_id, MAX(verdict <> 'pass') FROM results GROUP BY slot, device_id",
        "INSERT INTO slot_counts (slot, devices, failed_devices) SELECT slot, COUNT(*), SUM(not_passed) FROM slot_devices GROUP BY slot",
        """
        INSERT INTO rig_days (rig_id, day, results, rig_faults, last_started_at)
        SELECT ru.rig_id, x.day, SUM(x.n), SUM(x.faults), MAX(x.last)
        FROM (SELECT run_id, substr(started_at, 1, 10) AS day, COUNT(*) AS n, SUM(verdict = 'rig-fault') AS faults, MAX(started_at) AS last
              FROM results GROUP BY run_id, substr(started_at, 1, 10)) x
        JOIN runs ru ON ru.id = x.run_id
        GROUP BY ru.rig_id, x.day
        """,
        "INSERT INTO run_tests (run_id, test, cycled, verdict, results) SELECT run_id, test, cycle IS NOT NULL, verdict, COUNT(*) FROM results GROUP BY run_id, test, cycle IS NOT NULL, verdict",
        "INSERT INTO device_failures (device_id, failure_mode, signature, failures) SELECT device_id, COALESCE(failure_mode, ''), COALESCE(signature, ''), COUNT(*) FROM results WHERE verdict = 'fail' GROUP BY 1, 2, 3",
        // the deciding attempt as a trigger keeps it: the latest start, then the highest attempt, then the later row
        """
        INSERT INTO unit_test_days (day, rig_id, device_id, test, started_at, attempt, verdict)
        SELECT day, rig_id, device_id, test, started_at, attempt, verdict FROM (
            SELECT substr(r.started_at, 1, 10) AS day, ru.rig_id, r.device_id, r.test, r.started_at, r.attempt, r.verdict,
                   ROW_NUMBER() OVER (PARTITION BY substr(r.started_at, 1, 10), ru.rig_id, r.device_id, r.test ORDER BY r.started_at DESC, r.attempt DESC, r.rowid DESC) AS rn
            FROM results r JOIN runs ru ON ru.id = r.run_id WHERE r.cycle IS NULL) x
        WHERE rn = 1
        """,
    ];

    /// <summary>Step 12's lot page: failures per device and day with their bit-error totals, first and last attempts.</summary>
    private static readonly string[] LotPageBackfill =
    [
        $"""
        INSERT INTO device_failure_days (device_id, day, rig_id, failure_mode, signature, failures, stuck_at_0, stuck_at_1,
                                         bit_0, bit_1, bit_2, bit_3, bit_4, bit_5, bit_6, bit_7)
        SELECT device_id, day, rig_id, mode, sig, COUNT(*), {BitErrorSums("SUM")}
        FROM (SELECT r.device_id, substr(r.started_at, 1, 10) AS day, ru.rig_id, COALESCE(r.failure_mode, '') AS mode,
                     COALESCE(r.signature, '') AS sig, {BitErrorMap("r.evidence_json")} AS map
              FROM results r JOIN runs ru ON ru.id = r.run_id WHERE r.verdict = 'fail') x
        GROUP BY device_id, day, rig_id, mode, sig
        """,
        // first and last as the trigger keeps them: by start, then attempt, an equal pair going to the earlier row
        // for the first and to the later row for the last
        """
        INSERT INTO unit_test_ends (device_id, test, first_started_at, first_attempt, first_verdict, last_started_at, last_attempt, last_verdict)
        SELECT device_id, test, MAX(CASE WHEN up = 1 THEN started_at END), MAX(CASE WHEN up = 1 THEN attempt END), MAX(CASE WHEN up = 1 THEN verdict END),
               MAX(CASE WHEN down = 1 THEN started_at END), MAX(CASE WHEN down = 1 THEN attempt END), MAX(CASE WHEN down = 1 THEN verdict END)
        FROM (SELECT device_id, test, started_at, attempt, verdict,
                     ROW_NUMBER() OVER (PARTITION BY device_id, test ORDER BY started_at, attempt, rowid) AS up,
                     ROW_NUMBER() OVER (PARTITION BY device_id, test ORDER BY started_at DESC, attempt DESC, rowid DESC) AS down
              FROM results WHERE cycle IS NULL) x
        WHERE up = 1 OR down = 1
        GROUP BY device_id, test
        """,
    ];

    /// <summary>
    /// Step 15's modes page: per lot, failure mode and signature the failed results and distinct devices, counted from
    /// device_failures with each device's lot as the page has it (units, else devices, else unknown), a null or empty name
    /// as the page shows it.
    /// </summary>
    private static readonly string[] LotFailureBackfill =
    [
        .. new[] { ("mode", "failure_mode"), ("signature", "signature") }.Select(part =>
            $"""
            INSERT INTO lot_failure_counts (lot, part, name, failures, devices)
            SELECT lot, '{part.Item1}', name, SUM(failures), COUNT(DISTINCT device_id)
            FROM (SELECT {LotOf("f.device_id")} AS lot, {Named($"f.{part.Item2}")} AS name, f.device_id, f.failures FROM device_failures f)
            GROUP BY lot, name
            """),
    ];

    // declared before Steps, as the backfills above
    /// <summary>Step 16's yields: each unit's two flags from its first and last attempts, then the per-lot sums.</summary>
    private static readonly string[] LotYieldBackfill =
    [
        $"UPDATE units SET {UnitYieldColumns("units.device_id")}",
        """
        INSERT INTO lot_yields (lot, devices, first_passed, final_passed)
        SELECT lot, COUNT(first_ok), COALESCE(SUM(first_ok), 0), COALESCE(SUM(final_ok), 0) FROM units GROUP BY lot
        """,
    ];

    /// <summary>Step 17's spans: each unit's first and last screening attempt, from unit_test_ends; then the units per lot and span of days.</summary>
    private static readonly string[] UnitSpanBackfill =
    [
        $"UPDATE units SET {UnitSpanColumns("units.device_id")}",
        """
        INSERT INTO lot_unit_days (lot, first_day, last_day, units, failed)
        SELECT lot, substr(first_at, 1, 10), substr(last_at, 1, 10), SUM(judged), SUM(failed) FROM units WHERE first_at IS NOT NULL GROUP BY 1, 2, 3
        """,
    ];

    public static readonly IReadOnlyList<string[]> Steps =
    [
        // 1: runs, devices, one row per attempt.
        [
            """
            CREATE TABLE runs (
                id TEXT PRIMARY KEY,
                rig_id TEXT NOT NULL,
                config_hash TEXT NOT NULL,
                seed INTEGER NULL,
                bootloader TEXT NULL,
                kind TEXT NOT NULL,
                started_at TEXT NOT NULL,
                ended_at TEXT NULL,
                status TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE devices (
                device_id TEXT PRIMARY KEY,
                lot TEXT NOT NULL,
                first_seen TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE results (
                id TEXT PRIMARY KEY,
                run_id TEXT NOT NULL REFERENCES runs(id),
                device_id TEXT NOT NULL,
                slot INTEGER NOT NULL,
                test TEXT NOT NULL,
                cycle INTEGER NULL,
                attempt INTEGER NOT NULL,
                verdict TEXT NOT NULL,
                failure_mode TEXT NULL,
                device_time_ms BIGINT NULL,
                started_at TEXT NOT NULL,
                ended_at TEXT NOT NULL,
                evidence_json TEXT NULL
            )
            """,
        ],

        // 2: lot traceability (date code, supplier, failure signature) and the indexes reports query by.
        [
            "ALTER TABLE devices ADD COLUMN date_code TEXT NULL",
            "ALTER TABLE devices ADD COLUMN supplier TEXT NULL",
            "ALTER TABLE results ADD COLUMN signature TEXT NULL",
            "CREATE INDEX ix_devices_lot ON devices(lot)",
            "CREATE INDEX ix_results_device ON results(device_id, test)",
            "CREATE INDEX ix_results_run ON results(run_id)",
            // An attempt, once recorded, is never replaced.
            "CREATE UNIQUE INDEX ux_results_attempt ON results(run_id, device_id, test, (COALESCE(cycle, -1)), attempt)",
        ],

        // 3: each slot's colour-sensor calibration, the latest per rig and slot.
        [
            """
            CREATE TABLE sensor_calibrations (
                rig_id TEXT NOT NULL,
                slot INTEGER NOT NULL,
                dark_r DOUBLE PRECISION NOT NULL,
                dark_g DOUBLE PRECISION NOT NULL,
                dark_b DOUBLE PRECISION NOT NULL,
                dark_c DOUBLE PRECISION NOT NULL,
                dark_noise_c DOUBLE PRECISION NOT NULL,
                gain INTEGER NOT NULL,
                integration_ms DOUBLE PRECISION NOT NULL,
                lit_c DOUBLE PRECISION NOT NULL,
                calibrated_at TEXT NOT NULL,
                PRIMARY KEY (rig_id, slot)
            )
            """,
        ],

        // 4: summaries kept current by every write, so the by-lot report reads one row per lot instead of scanning
        // millions of attempts: the deciding (latest) attempt per device and test, each unit's verdict, per-lot
        // counts; plus indexes for slot health and soak trends. Existing rows are summarised once here.
        [
            """
            CREATE TABLE unit_tests (
                device_id TEXT NOT NULL,
                test TEXT NOT NULL,
                started_at TEXT NOT NULL,
                attempt INTEGER NOT NULL,
                verdict TEXT NOT NULL,
                PRIMARY KEY (device_id, test)
            )
            """,
            """
            CREATE TABLE units (
                device_id TEXT PRIMARY KEY,
                lot TEXT NOT NULL,
                judged INTEGER NOT NULL,
                failed INTEGER NOT NULL
            )
            """,
            "CREATE INDEX ix_units_lot ON units(lot, failed, device_id)",
            """
            CREATE TABLE lot_counts (
                lot TEXT PRIMARY KEY,
                units INTEGER NOT NULL,
                failed INTEGER NOT NULL
            )
            """,
            "CREATE INDEX ix_results_slot ON results(slot, device_id, verdict)",
            "CREATE INDEX ix_results_soak ON results(run_id, verdict) WHERE cycle IS NOT NULL",
            "CREATE INDEX ix_results_device_time ON results(device_id, started_at)",
            .. Summaries.Rebuild,
        ],

        // 5: a lot's page reads only its failed rows and its screening attempts, each from an index of its own.
        [
            "CREATE INDEX ix_results_failed ON results(device_id) WHERE verdict = 'fail'",
            "CREATE INDEX ix_results_screening ON results(device_id, test, started_at, attempt, verdict) WHERE cycle IS NULL",
        ],

        // 6: a soak stores several steps per cycle (OTA, factory reset, readback, recovery); the soak view counts cycles
        // and failures by step, so its covering index carries the test.
        [
            "DROP INDEX ix_results_soak",
            "CREATE INDEX ix_results_soak ON results(run_id, test, verdict) WHERE cycle IS NOT NULL",
        ],

        // 7: who runs a run (pid, host, boot id), so the next start can mark a run whose process is gone as interrupted.
        [
            "ALTER TABLE runs ADD COLUMN owner_pid INTEGER NULL",
            "ALTER TABLE runs ADD COLUMN owner_host TEXT NULL",
            "ALTER TABLE runs ADD COLUMN owner_boot_id TEXT NULL",
        ],

        // 8: a Core in DFU is known by its DFU serial (the bootloader's USB iSerial) until it runs an app and says its
        // device id; each link seen is kept, so a Core that arrives stuck in DFU is keyed by its device id.
        [
            """
            CREATE TABLE device_links (
                dfu_serial TEXT PRIMARY KEY,
                device_id TEXT NOT NULL,
                linked_at TEXT NOT NULL
            )
            """,
            "CREATE INDEX ix_device_links_device ON device_links(device_id)",
        ],

        // 9: verdicts keep their typed failure kind (dut, usb, sensor, relay, buttons, cloud, software); each screening
        // attempt of a device with its slot and confirmation state (a DUT failure is unconfirmed until the same device
        // fails again in another slot); each slot's health per rig, LAVA style (good, unknown, suspect, quarantined,
        // maintenance), counted from `since` (a golden Core's pass or the operator's `good`).
        [
            "ALTER TABLE results ADD COLUMN failure_kind TEXT NULL",
            """
            CREATE TABLE screen_attempts (
                result_id TEXT PRIMARY KEY,
                run_id TEXT NOT NULL,
                rig_id TEXT NOT NULL,
                device_id TEXT NOT NULL,
                dfu_serial TEXT NULL,
                slot INTEGER NOT NULL,
                verdict TEXT NOT NULL,
                failure_kind TEXT NULL,
                failure_mode TEXT NULL,
                confirmation TEXT NOT NULL,
                at TEXT NOT NULL
            )
            """,
            "CREATE INDEX ix_screen_attempts_device ON screen_attempts(device_id, at)",
            "CREATE INDEX ix_screen_attempts_slot ON screen_attempts(rig_id, slot, at)",
            """
            CREATE TABLE slot_health (
                rig_id TEXT NOT NULL,
                slot INTEGER NOT NULL,
                state TEXT NOT NULL,
                reason TEXT NOT NULL,
                since TEXT NOT NULL,
                changed_at TEXT NOT NULL,
                PRIMARY KEY (rig_id, slot)
            )
            """,
        ],

        // 10 (SQLite only, see PostgresSteps): the dashboard's run pages stay small reads on a rig that keeps months of
        // results. Per run and slot: results per verdict, the devices in the order they first finished, and the last
        // result and last failure mode by end time, kept by a trigger as results are added (results are never updated
        // or deleted), so the runs page and a run's page read summary rows, not a soak's hundreds of thousands of
        // results. A failure mode's page reads its own rows. Existing results are summarised once here.
        [
            """
            CREATE TABLE run_slot_counts (
                run_id TEXT NOT NULL,
                slot INTEGER NOT NULL,
                verdict TEXT NOT NULL,
                results INTEGER NOT NULL,
                PRIMARY KEY (run_id, slot, verdict)
            )
            """,
            """
            CREATE TABLE run_slot_devices (
                run_id TEXT NOT NULL,
                slot INTEGER NOT NULL,
                device_id TEXT NOT NULL,
                first_ended_at TEXT NOT NULL,
                PRIMARY KEY (run_id, slot, device_id)
            )
            """,
            """
            CREATE TABLE run_slots (
                run_id TEXT NOT NULL,
                slot INTEGER NOT NULL,
                last_ended_at TEXT NOT NULL,
                last_test TEXT NOT NULL,
                last_verdict TEXT NOT NULL,
                mode_ended_at TEXT NULL,
                failure_mode TEXT NULL,
                PRIMARY KEY (run_id, slot)
            )
            """,
            .. RunSlotBackfill,
            // an equal end time goes to the later row, as ids (UUIDv7) order them
            """
            CREATE TRIGGER tr_results_run_slots AFTER INSERT ON results
            BEGIN
                INSERT INTO run_slot_counts (run_id, slot, verdict, results) VALUES (new.run_id, new.slot, new.verdict, 1)
                    ON CONFLICT (run_id, slot, verdict) DO UPDATE SET results = results + 1;
                INSERT INTO run_slot_devices (run_id, slot, device_id, first_ended_at) VALUES (new.run_id, new.slot, new.device_id, new.ended_at)
                    ON CONFLICT (run_id, slot, device_id) DO UPDATE SET first_ended_at = excluded.first_ended_at WHERE excluded.first_ended_at < first_ended_at;
                INSERT INTO run_slots (run_id, slot, last_ended_at, last_test, last_verdict, mode_ended_at, failure_mode)
                    VALUES (new.run_id, new.slot, new.ended_at, new.test, new.verdict, CASE WHEN new.failure_mode IS NULL THEN NULL ELSE new.ended_at END, new.failure_mode)
                    ON CONFLICT (run_id, slot) DO UPDATE SET
                        last_test = CASE WHEN excluded.last_ended_at >= last_ended_at THEN excluded.last_test ELSE last_test END,
                        last_verdict = CASE WHEN excluded.last_ended_at >= last_ended_at THEN excluded.last_verdict ELSE last_verdict END,
                        last_ended_at = MAX(last_ended_at, excluded.last_ended_at),
                        failure_mode = CASE WHEN excluded.failure_mode IS NOT NULL AND (mode_ended_at IS NULL OR excluded.mode_ended_at >= mode_ended_at) THEN excluded.failure_mode ELSE failure_mode END,
                        mode_ended_at = CASE WHEN excluded.failure_mode IS NOT NULL AND (mode_ended_at IS NULL OR excluded.mode_ended_at >= mode_ended_at) THEN excluded.mode_ended_at ELSE mode_ended_at END;
            END
            """,
            "CREATE INDEX ix_results_mode ON results(failure_mode, verdict) WHERE failure_mode IS NOT NULL",
            // statistics for every index, new and old alike: a planner that knows only some picks the unknown ones blindly
            "ANALYZE main",
        ],

        // 11 (SQLite only, see PostgresSteps): the rest of the dashboard stays small reads at a million results. Kept by a
        // trigger as results are added (never updated or deleted): per slot its distinct devices and those with a result
        // other than a pass (slot_devices, slot_counts: the slots page); per rig and day results, rig faults and the
        // newest start (rig_days: the rigs page); per run, test, soak-or-not and verdict the results (run_tests: the soak
        // and build pages); per device, failure mode and signature the failed results (device_failures: the modes page,
        // keyed by device so a lot import that moves a device needs no recount); per day, rig, device and test the
        // deciding screening attempt of that day (unit_test_days: date-filtered lot and rig counts, where the latest
        // attempt in a range of whole days is the latest of its days' latest). A slot's page reads its newest results
        // by (slot, started_at). Existing results are summarised once here.
        [
            """
            CREATE TABLE slot_devices (
                slot INTEGER NOT NULL,
                device_id TEXT NOT NULL,
                not_passed INTEGER NOT NULL,
                PRIMARY KEY (slot, device_id)
            ) WITHOUT ROWID
            """,
            """
            CREATE TABLE slot_counts (
                slot INTEGER PRIMARY KEY,
                devices INTEGER NOT NULL,
                failed_devices INTEGER NOT NULL
            )
            """,
            """
            CREATE TABLE rig_days (
                rig_id TEXT NOT NULL,
                day TEXT NOT NULL,
                results INTEGER NOT NULL,
                rig_faults INTEGER NOT NULL,
                last_started_at TEXT NOT NULL,
                PRIMARY KEY (rig_id, day)
            )
            """,
            """
            CREATE TABLE run_tests (
                run_id TEXT NOT NULL,
                test TEXT NOT NULL,
                cycled INTEGER NOT NULL,
                verdict TEXT NOT NULL,
                results INTEGER NOT NULL,
                PRIMARY KEY (run_id, test, cycled, verdict)
            )
            """,
            // a null mode or signature is kept as '' (a key column cannot hold a null that conflicts); read back as null
            """
            CREATE TABLE device_failures (
                device_id TEXT NOT NULL,
                failure_mode TEXT NOT NULL,
                signature TEXT NOT NULL,
                failures INTEGER NOT NULL,
                PRIMARY KEY (device_id, failure_mode, signature)
            ) WITHOUT ROWID
            """,
            """
            CREATE TABLE unit_test_days (
                day TEXT NOT NULL,
                rig_id TEXT NOT NULL,
                device_id TEXT NOT NULL,
                test TEXT NOT NULL,
                started_at TEXT NOT NULL,
                attempt INTEGER NOT NULL,
                verdict TEXT NOT NULL,
                PRIMARY KEY (day, rig_id, device_id, test)
            ) WITHOUT ROWID
            """,
            .. PageBackfill,
            """
            CREATE TRIGGER tr_results_pages AFTER INSERT ON results
            BEGIN
                INSERT INTO slot_counts (slot, devices, failed_devices) VALUES (new.slot, 1, new.verdict <> 'pass')
                    ON CONFLICT (slot) DO UPDATE SET
                        devices = devices + (NOT EXISTS (SELECT 1 FROM slot_devices s WHERE s.slot = new.slot AND s.device_id = new.device_id)),
                        failed_devices = failed_devices + (new.verdict <> 'pass'
                            AND NOT EXISTS (SELECT 1 FROM slot_devices s WHERE s.slot = new.slot AND s.device_id = new.device_id AND s.not_passed = 1));
                INSERT INTO slot_devices (slot, device_id, not_passed) VALUES (new.slot, new.device_id, new.verdict <> 'pass')
                    ON CONFLICT (slot, device_id) DO UPDATE SET not_passed = 1 WHERE excluded.not_passed = 1 AND not_passed = 0;
                INSERT INTO rig_days (rig_id, day, results, rig_faults, last_started_at)
                    SELECT ru.rig_id, substr(new.started_at, 1, 10), 1, new.verdict = 'rig-fault', new.started_at FROM runs ru WHERE ru.id = new.run_id
                    ON CONFLICT (rig_id, day) DO UPDATE SET results = results + 1, rig_faults = rig_faults + excluded.rig_faults,
                        last_started_at = MAX(last_started_at, excluded.last_started_at);
                INSERT INTO run_tests (run_id, test, cycled, verdict, results) VALUES (new.run_id, new.test, new.cycle IS NOT NULL, new.verdict, 1)
                    ON CONFLICT (run_id, test, cycled, verdict) DO UPDATE SET results = results + 1;
                INSERT INTO device_failures (device_id, failure_mode, signature, failures)
                    SELECT new.device_id, COALESCE(new.failure_mode, ''), COALESCE(new.signature, ''), 1 WHERE new.verdict = 'fail'
                    ON CONFLICT (device_id, failure_mode, signature) DO UPDATE SET failures = failures + 1;
                INSERT INTO unit_test_days (day, rig_id, device_id, test, started_at, attempt, verdict)
                    SELECT substr(new.started_at, 1, 10), ru.rig_id, new.device_id, new.test, new.started_at, new.attempt, new.verdict
                    FROM runs ru WHERE ru.id = new.run_id AND new.cycle IS NULL
                    ON CONFLICT (day, rig_id, device_id, test) DO UPDATE SET started_at = excluded.started_at, attempt = excluded.attempt, verdict = excluded.verdict
                    WHERE excluded.started_at > started_at OR (excluded.started_at = started_at AND excluded.attempt >= attempt);
            END
            """,
            "CREATE INDEX ix_results_slot_time ON results(slot, started_at)",
            // statistics for what this step added, so the planner weighs them against the indexes it already knows
            "ANALYZE slot_devices",
            "ANALYZE slot_counts",
            "ANALYZE rig_days",
            "ANALYZE run_tests",
            "ANALYZE device_failures",
            "ANALYZE unit_test_days",
            "ANALYZE ix_results_slot_time",
        ],

        // 12 (SQLite only, see PostgresSteps): one lot's page reads no evidence and no attempt of its devices. Kept by a
        // trigger as results are added (never updated or deleted): per device, day, rig, failure mode and signature the
        // failed results and the bit-error totals of their readback maps (device_failure_days: the lot's modes, signatures,
        // defect kinds and stuck-at counts, whole days and a rig filterable; keyed by device, so a lot move needs no
        // recount and a device screened after its soak failures brings them along); per device and test the first and the
        // last screening attempt (unit_test_ends: first-pass and final yield). Existing results are summarised once here.
        [
            // a null mode or signature is kept as '' (a key column cannot hold a null that conflicts); read back as null
            """
            CREATE TABLE device_failure_days (
                device_id TEXT NOT NULL,
                day TEXT NOT NULL,
                rig_id TEXT NOT NULL,
                failure_mode TEXT NOT NULL,
                signature TEXT NOT NULL,
                failures INTEGER NOT NULL,
                stuck_at_0 INTEGER NOT NULL,
                stuck_at_1 INTEGER NOT NULL,
                bit_0 INTEGER NOT NULL, bit_1 INTEGER NOT NULL, bit_2 INTEGER NOT NULL, bit_3 INTEGER NOT NULL,
                bit_4 INTEGER NOT NULL, bit_5 INTEGER NOT NULL, bit_6 INTEGER NOT NULL, bit_7 INTEGER NOT NULL,
                PRIMARY KEY (device_id, day, rig_id, failure_mode, signature)
            ) WITHOUT ROWID
            """,
            """
            CREATE TABLE unit_test_ends (
                device_id TEXT NOT NULL,
                test TEXT NOT NULL,
                first_started_at TEXT NOT NULL,
                first_attempt INTEGER NOT NULL,
                first_verdict TEXT NOT NULL,
                last_started_at TEXT NOT NULL,
                last_attempt INTEGER NOT NULL,
                last_verdict TEXT NOT NULL,
                PRIMARY KEY (device_id, test)
            ) WITHOUT ROWID
            """,
            .. LotPageBackfill,
            $"""
            CREATE TRIGGER tr_results_failure_days AFTER INSERT ON results WHEN new.verdict = 'fail'
            BEGIN
                INSERT INTO device_failure_days (device_id, day, rig_id, failure_mode, signature, failures, stuck_at_0, stuck_at_1,
                                                 bit_0, bit_1, bit_2, bit_3, bit_4, bit_5, bit_6, bit_7)
                    SELECT new.device_id, substr(new.started_at, 1, 10), ru.rig_id, COALESCE(new.failure_mode, ''), COALESCE(new.signature, ''), 1,
                           {BitErrorSums("")}
                    FROM runs ru, (SELECT {BitErrorMap("new.evidence_json")} AS map) x
                    WHERE ru.id = new.run_id
                    ON CONFLICT (device_id, day, rig_id, failure_mode, signature) DO UPDATE SET failures = failures + 1,
                        stuck_at_0 = stuck_at_0 + excluded.stuck_at_0, stuck_at_1 = stuck_at_1 + excluded.stuck_at_1,
                        bit_0 = bit_0 + excluded.bit_0, bit_1 = bit_1 + excluded.bit_1, bit_2 = bit_2 + excluded.bit_2, bit_3 = bit_3 + excluded.bit_3,
                        bit_4 = bit_4 + excluded.bit_4, bit_5 = bit_5 + excluded.bit_5, bit_6 = bit_6 + excluded.bit_6, bit_7 = bit_7 + excluded.bit_7;
            END
            """,
            """
            CREATE TRIGGER tr_results_test_ends AFTER INSERT ON results WHEN new.cycle IS NULL
            BEGIN
                INSERT INTO unit_test_ends (device_id, test, first_started_at, first_attempt, first_verdict, last_started_at, last_attempt, last_verdict)
                    SELECT new.device_id, new.test, new.started_at, new.attempt, new.verdict, new.started_at, new.attempt, new.verdict
                    WHERE 1
                    ON CONFLICT (device_id, test) DO UPDATE SET
                        first_started_at = CASE WHEN excluded.first_started_at < first_started_at
                            OR (excluded.first_started_at = first_started_at AND excluded.first_attempt < first_attempt) THEN excluded.first_started_at ELSE first_started_at END,
                        first_attempt = CASE WHEN excluded.first_started_at < first_started_at
                            OR (excluded.first_started_at = first_started_at AND excluded.first_attempt < first_attempt) THEN excluded.first_attempt ELSE first_attempt END,
                        first_verdict = CASE WHEN excluded.first_started_at < first_started_at
                            OR (excluded.first_started_at = first_started_at AND excluded.first_attempt < first_attempt) THEN excluded.first_verdict ELSE first_verdict END,
                        last_started_at = CASE WHEN excluded.last_started_at > last_started_at
                            OR (excluded.last_started_at = last_started_at AND excluded.last_attempt >= last_attempt) THEN excluded.last_started_at ELSE last_started_at END,
                        last_attempt = CASE WHEN excluded.last_started_at > last_started_at
                            OR (excluded.last_started_at = last_started_at AND excluded.last_attempt >= last_attempt) THEN excluded.last_attempt ELSE last_attempt END,
                        last_verdict = CASE WHEN excluded.last_started_at > last_started_at
                            OR (excluded.last_started_at = last_started_at AND excluded.last_attempt >= last_attempt) THEN excluded.last_verdict ELSE last_verdict END;
            END
            """,
            "ANALYZE device_failure_days",
            "ANALYZE unit_test_ends",
        ],
        // 13: every attempt recorded under a device id also looks up the attempts of its DFU serial (a bad Core met in DFU
        // in another slot is the same device); without this the lookup scans screen_attempts once per recorded attempt.
        [
            "CREATE INDEX ix_screen_attempts_serial ON screen_attempts(dfu_serial)",
        ],
        // 14 (SQLite only, see PostgresSteps): one failure mode's page lists its newest attempts by (mode, verdict, start)
        // and counts from device_failure_days; the old index by (mode, verdict) made it read every failed row of the mode
        // (63,700 at 10 M results) to find the newest 100. Only that page read ix_results_mode.
        [
            "DROP INDEX ix_results_mode",
            "CREATE INDEX ix_results_mode_time ON results(failure_mode, verdict, started_at) WHERE failure_mode IS NOT NULL",
            "ANALYZE ix_results_mode_time",
        ],
        // 15 (SQLite only, see PostgresSteps): the modes page reads a row per lot and failure mode and per lot and signature
        // (lot_failure_counts: failed results and distinct devices) instead of every device's failures with its lot (70,000
        // rows at 10 M results). Distinct devices do not add up, so the triggers count a device once per name as its first
        // failure of that name arrives, and a lot move (units or devices changing a device's lot) takes the device's failures
        // out of one lot and into the other. Existing failures are counted once here.
        [
            """
            CREATE TABLE lot_failure_counts (
                lot TEXT NOT NULL,
                part TEXT NOT NULL,
                name TEXT NOT NULL,
                failures INTEGER NOT NULL,
                devices INTEGER NOT NULL,
                PRIMARY KEY (lot, part, name)
            ) WITHOUT ROWID
            """,
            .. LotFailureBackfill,
            .. LotFailureTriggers,
            "ANALYZE lot_failure_counts",
        ],
        // 16 (SQLite only, see PostgresSteps): one lot's page reads its yields as one row (lot_yields: screened devices,
        // those whose first attempt of every test passed, and those whose last did) instead of each of its devices' first
        // and last attempts (25,000 devices at 10 M results). Each unit carries its own two flags, set from unit_test_ends
        // as that changes; the lot's sums follow the units (new, changed, moved to another lot, rebuilt).
        [
            "ALTER TABLE units ADD COLUMN first_ok INTEGER NULL",
            "ALTER TABLE units ADD COLUMN final_ok INTEGER NULL",
            """
            CREATE TABLE lot_yields (
                lot TEXT PRIMARY KEY,
                devices INTEGER NOT NULL,
                first_passed INTEGER NOT NULL,
                final_passed INTEGER NOT NULL
            ) WITHOUT ROWID
            """,
            .. LotYieldBackfill,
            // a device's flags as its first and last attempts change; null while it has none
            .. new[] { "INSERT", "UPDATE" }.Select(change =>
                $"""
                CREATE TRIGGER tr_unit_test_ends_{change.ToLowerInvariant()} AFTER {change} ON unit_test_ends
                BEGIN
                    {UnitYieldFlags("new.device_id")};
                END
                """),
            // the unit's own flags once it exists (its attempts may be stored before it), then its lot's sums
            $"""
            CREATE TRIGGER tr_units_yields_new AFTER INSERT ON units
            BEGIN
                {AddUnitYields("new", '+')};
                {UnitYieldFlags("new.device_id")};
            END
            """,
            $"""
            CREATE TRIGGER tr_units_yields AFTER UPDATE ON units
                WHEN new.lot <> old.lot OR new.first_ok IS NOT old.first_ok OR new.final_ok IS NOT old.final_ok
            BEGIN
                {AddUnitYields("old", '-')};
                {AddUnitYields("new", '+')};
            END
            """,
            $"""
            CREATE TRIGGER tr_units_yields_gone AFTER DELETE ON units
            BEGIN
                {AddUnitYields("old", '-')};
            END
            """,
            "ANALYZE lot_yields",
        ],
        // 17 (SQLite only, see PostgresSteps): the pages over a date range (lots, one lot, rigs) count the units whose
        // screening attempts all lie inside the range as units holds them (their latest attempts overall are their latest
        // in the range), read by lot and first attempt; only the few whose attempts straddle a bound are read from their
        // results (ix_units_days: those screened on more than one day; the others are found by the bound's own day). Over 7
        // days at 10 M results the lots page grouped 170,000 deciding attempts per device and looked up each device's lot.
        [
            "ALTER TABLE units ADD COLUMN first_at TEXT NULL",
            "ALTER TABLE units ADD COLUMN last_at TEXT NULL",
            """
            CREATE TABLE lot_unit_days (
                lot TEXT NOT NULL,
                first_day TEXT NOT NULL,
                last_day TEXT NOT NULL,
                units INTEGER NOT NULL,
                failed INTEGER NOT NULL,
                PRIMARY KEY (lot, first_day, last_day)
            ) WITHOUT ROWID
            """,
            .. UnitSpanBackfill,
            .. new[] { "INSERT", "UPDATE" }.Select(change =>
                $"""
                CREATE TRIGGER tr_unit_test_ends_span_{change.ToLowerInvariant()} AFTER {change} ON unit_test_ends{(change == "UPDATE"
                    ? "\n    WHEN new.first_started_at IS NOT old.first_started_at OR new.last_started_at IS NOT old.last_started_at" : "")}
                BEGIN
                    UPDATE units SET {UnitSpanColumns("new.device_id")} WHERE device_id = new.device_id;
                END
                """),
            // a unit recorded after its attempts (its verdict comes with them; a rebuild inserts every unit again)
            $"""
            CREATE TRIGGER tr_units_span_new AFTER INSERT ON units
            BEGIN
                UPDATE units SET {UnitSpanColumns("new.device_id")} WHERE device_id = new.device_id;
            END
            """,
            // the units per lot and span of days follow the units (a verdict, a span, a lot changing; rebuilt)
            $"""
            CREATE TRIGGER tr_units_days_new AFTER INSERT ON units WHEN new.first_at IS NOT NULL
            BEGIN
                {AddUnitDays("new", '+')};
            END
            """,
            $"""
            CREATE TRIGGER tr_units_days AFTER UPDATE ON units
                WHEN new.lot <> old.lot OR new.judged <> old.judged OR new.failed <> old.failed
                     OR new.first_at IS NOT old.first_at OR new.last_at IS NOT old.last_at
            BEGIN
                {AddUnitDays("old", '-')};
                {AddUnitDays("new", '+')};
            END
            """,
            $"""
            CREATE TRIGGER tr_units_days_gone AFTER DELETE ON units
            BEGIN
                {AddUnitDays("old", '-')};
            END
            """,
            "CREATE INDEX ix_units_span ON units(lot, first_at, last_at, judged, failed)",
            $"CREATE INDEX ix_units_days ON units(last_at, first_at) WHERE {UnitOverDays}",
            "ANALYZE units",
            "ANALYZE lot_unit_days",
        ],
    ];

    /// <summary>Adds (or takes away) one unit's row (<paramref name="row"/>: new or old) to its lot's units per span of days; a unit without a span adds nothing.</summary>
    private static string AddUnitDays(string row, char sign) =>
        $"""
        INSERT INTO lot_unit_days (lot, first_day, last_day, units, failed)
                SELECT {row}.lot, substr({row}.first_at, 1, 10), substr({row}.last_at, 1, 10), {sign}{row}.judged, {sign}{row}.failed WHERE {row}.first_at IS NOT NULL
                ON CONFLICT (lot, first_day, last_day) DO UPDATE SET units = units + excluded.units, failed = failed + excluded.failed
        """;

    /// <summary>ix_units_days' condition (<see cref="ResultsStore.UnitOverDays"/>).</summary>
    private const string UnitOverDays = ResultsStore.UnitOverDays;

    /// <summary>A unit's first and last screening attempt (start times) over its tests; null with none.</summary>
    private static string UnitSpanColumns(string device) =>
        $"first_at = (SELECT MIN(e.first_started_at) FROM unit_test_ends e WHERE e.device_id = {device}), " +
        $"last_at = (SELECT MAX(e.last_started_at) FROM unit_test_ends e WHERE e.device_id = {device})";

    /// <summary>A unit's flags as the lot page's yields count them: every test's first (last) attempt passed; null with none.</summary>
    private static string UnitYieldColumns(string device) =>
        $"first_ok = (SELECT MIN(e.first_verdict = 'pass') FROM unit_test_ends e WHERE e.device_id = {device}), " +
        $"final_ok = (SELECT MIN(e.last_verdict = 'pass') FROM unit_test_ends e WHERE e.device_id = {device})";

    private static string UnitYieldFlags(string device) => $"UPDATE units SET {UnitYieldColumns(device)} WHERE device_id = {device}";

    /// <summary>Adds (or takes away) one unit's row (<paramref name="row"/>: new or old) to its lot's yields; a unit without attempts adds nothing.</summary>
    private static string AddUnitYields(string row, char sign) =>
        $"""
        INSERT INTO lot_yields (lot, devices, first_passed, final_passed)
                SELECT {row}.lot, {sign}1, {sign}{row}.first_ok, {sign}{row}.final_ok WHERE {row}.first_ok IS NOT NULL
                ON CONFLICT (lot) DO UPDATE SET devices = devices + excluded.devices, first_passed = first_passed + excluded.first_passed,
                    final_passed = final_passed + excluded.final_passed
        """;

    /// <summary>What each step brings, for the progress line of a long upgrade.</summary>
    public static string Title(int version) => version switch
    {
        1 => "runs, devices and results",
        2 => "lot traceability and report indexes",
        3 => "sensor calibrations",
        4 => "unit and lot summaries",
        5 => "lot page indexes",
        6 => "soak index by test",
        7 => "run owners",
        8 => "DFU serial links",
        9 => "failure kinds, screening attempts, slot health",
        10 => "run page summaries",
        11 => "dashboard page summaries",
        12 => "lot page summaries",
        13 => "DFU serial index",
        14 => "failure mode index by time",
        15 => "per-lot failure summary",
        16 => "per-lot yields",
        17 => "unit screening spans",
        _ => throw new ArgumentOutOfRangeException(nameof(version), version, "no such schema step"),
    };

    /// <summary>A device's lot as the modes page counts it: its unit's, else its device record's, else unknown.</summary>
    private static string LotOf(string device) =>
        $"COALESCE((SELECT u.lot FROM units u WHERE u.device_id = {device}), (SELECT d.lot FROM devices d WHERE d.device_id = {device}), '{Summaries.UnknownLot}')";

    /// <summary>A device_failures name ('' for none) as the modes page shows it.</summary>
    private static string Named(string column) => $"CASE WHEN {column} = '' THEN '{Summaries.Unclassified}' ELSE {column} END";

    /// <summary>
    /// Adds <paramref name="sign"/> times a device's failures, and the device once per name, to <paramref name="lot"/>'s
    /// counts; a name left with no device is removed, as the page never shows one.
    /// </summary>
    private static string MoveDeviceFailures(string device, string lot, char sign) => string.Join("\n",
        new[] { ("mode", "failure_mode"), ("signature", "signature") }.Select(part =>
            $"""
                INSERT INTO lot_failure_counts (lot, part, name, failures, devices)
                    SELECT {lot}, '{part.Item1}', {Named(part.Item2)}, {sign}SUM(failures), {sign}1 FROM device_failures WHERE device_id = {device} GROUP BY 3
                    ON CONFLICT (lot, part, name) DO UPDATE SET failures = failures + excluded.failures, devices = devices + excluded.devices;
            """)
        .Append($"    DELETE FROM lot_failure_counts WHERE lot = {lot} AND devices = 0;"));

    /// <summary>Moves a device's failures from one lot to another (both SQL expressions over the trigger's row).</summary>
    private static string MoveDevice(string device, string from, string to) =>
        MoveDeviceFailures(device, from, '-') + "\n" + MoveDeviceFailures(device, to, '+');

    /// <summary>
    /// Step 15's upkeep: a device's new failures (device_failures' rows and counts, kept by tr_results_pages) counted under
    /// its lot, and its lot changing with its unit (a verdict recorded, relabelled, rebuilt) or, while it has none, with its
    /// device record (an inventory import, a device recorded after its soak failures).
    /// </summary>
    private static IEnumerable<string> LotFailureTriggers =>
    [
        .. new[] { ("mode", "failure_mode", "signature"), ("signature", "signature", "failure_mode") }.Select(part =>
            // a device counts once per name: unless another of its rows (another mode or signature beside it) has that name
            $"""
            CREATE TRIGGER tr_device_failures_{part.Item1} AFTER INSERT ON device_failures
            BEGIN
                INSERT INTO lot_failure_counts (lot, part, name, failures, devices)
                    SELECT {LotOf("new.device_id")}, '{part.Item1}', {Named($"new.{part.Item2}")}, new.failures,
                           NOT EXISTS (SELECT 1 FROM device_failures f WHERE f.device_id = new.device_id AND f.{part.Item3} <> new.{part.Item3}
                                       AND {Named($"f.{part.Item2}")} = {Named($"new.{part.Item2}")})
                    WHERE 1
                    ON CONFLICT (lot, part, name) DO UPDATE SET failures = failures + excluded.failures, devices = devices + excluded.devices;
            END
            """),
        $"""
        CREATE TRIGGER tr_device_failures_more AFTER UPDATE OF failures ON device_failures
        BEGIN
            UPDATE lot_failure_counts SET failures = failures + new.failures - old.failures
                WHERE lot = {LotOf("new.device_id")} AND part = 'mode' AND name = {Named("new.failure_mode")};
            UPDATE lot_failure_counts SET failures = failures + new.failures - old.failures
                WHERE lot = {LotOf("new.device_id")} AND part = 'signature' AND name = {Named("new.signature")};
        END
        """,
        $"""
        CREATE TRIGGER tr_units_lot_new AFTER INSERT ON units
            WHEN new.lot <> COALESCE((SELECT d.lot FROM devices d WHERE d.device_id = new.device_id), '{Summaries.UnknownLot}')
        BEGIN
        {MoveDevice("new.device_id", $"COALESCE((SELECT d.lot FROM devices d WHERE d.device_id = new.device_id), '{Summaries.UnknownLot}')", "new.lot")}
        END
        """,
        $"""
        CREATE TRIGGER tr_units_lot AFTER UPDATE OF lot ON units WHEN new.lot <> old.lot
        BEGIN
        {MoveDevice("new.device_id", "old.lot", "new.lot")}
        END
        """,
        $"""
        CREATE TRIGGER tr_units_lot_gone AFTER DELETE ON units
            WHEN old.lot <> COALESCE((SELECT d.lot FROM devices d WHERE d.device_id = old.device_id), '{Summaries.UnknownLot}')
        BEGIN
        {MoveDevice("old.device_id", "old.lot", $"COALESCE((SELECT d.lot FROM devices d WHERE d.device_id = old.device_id), '{Summaries.UnknownLot}')")}
        END
        """,
        $"""
        CREATE TRIGGER tr_devices_lot_new AFTER INSERT ON devices
            WHEN new.lot <> '{Summaries.UnknownLot}' AND NOT EXISTS (SELECT 1 FROM units u WHERE u.device_id = new.device_id)
        BEGIN
        {MoveDevice("new.device_id", $"'{Summaries.UnknownLot}'", "new.lot")}
        END
        """,
        $"""
        CREATE TRIGGER tr_devices_lot AFTER UPDATE OF lot ON devices
            WHEN new.lot <> old.lot AND NOT EXISTS (SELECT 1 FROM units u WHERE u.device_id = new.device_id)
        BEGIN
        {MoveDevice("new.device_id", "old.lot", "new.lot")}
        END
        """,
    ];

    public static int Latest => Steps.Count;

    /// <summary>
    /// SQLite: every summary steps 10, 11, 12, 15, 16 and 17 keep by trigger, emptied and counted again from all results as
    /// those steps count the rows already stored (after a bulk load that set the triggers aside; steps 15 and 16 last, from
    /// the units, device_failures and unit_test_ends counted before them).
    /// </summary>
    public static IEnumerable<string> RecountPageSummaries =>
    [
        .. new[] { "run_slot_counts", "run_slot_devices", "run_slots", "slot_devices", "slot_counts", "rig_days", "run_tests",
            "device_failures", "unit_test_days", "device_failure_days", "unit_test_ends", "lot_failure_counts", "lot_yields", "lot_unit_days" }.Select(table => $"DELETE FROM {table}"),
        .. RunSlotBackfill,
        .. PageBackfill,
        .. LotPageBackfill,
        .. LotFailureBackfill,
        .. LotYieldBackfill,
        .. UnitSpanBackfill,
    ];

    /// <summary>
    /// The tables besides results whose triggers keep a summary (steps 15 and 16): a bulk load sets their triggers aside with the
    /// results table's, as <see cref="RecountPageSummaries"/> and the unit rebuild count everything after.
    /// </summary>
    public static IReadOnlyList<string> SummaryTriggerTables { get; } = ["device_failures", "units", "devices", "unit_test_ends"];

    /// <summary>
    /// The bit-error map of a failure's readback (<c>readback.bitErrors</c>, as <see cref="EvidenceJson"/> writes it) as
    /// JSON text; null when the evidence is none, not JSON, or has no map, which then counts by its signature alone, as
    /// the evidence reader has it. The evidence is parsed once; the small map is what the sums read.
    /// </summary>
    private static string BitErrorMap(string evidence) =>
        $"CASE WHEN json_valid({evidence}) THEN CASE WHEN json_type({evidence}, '$.readback.bitErrors') = 'object' THEN json_extract({evidence}, '$.readback.bitErrors') END END";

    /// <summary>Stuck-at-0, stuck-at-1 and the eight bit positions of <c>map</c>, each through <paramref name="aggregate"/> (none for one row); a missing or non-integer count is 0.</summary>
    private static string BitErrorSums(string aggregate) => string.Join(", ",
        new[] { "stuckAt0", "stuckAt1" }.Concat(Enumerable.Range(0, 8).Select(i => $"byBitPosition[{i}]"))
            .Select(path => $"{aggregate}(CASE WHEN json_type(map, '$.{path}') = 'integer' THEN json_extract(map, '$.{path}') ELSE 0 END)"));
}
