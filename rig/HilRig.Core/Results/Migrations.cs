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

    /// <summary>PostgreSQL text of the steps whose shared SQL PostgreSQL does not take; none so far.</summary>
    private static readonly Dictionary<int, string[]> PostgresSteps = [];

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
    ];

    public static int Latest => Steps.Count;
}
