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
    };

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
    ];

    public static int Latest => Steps.Count;
}
