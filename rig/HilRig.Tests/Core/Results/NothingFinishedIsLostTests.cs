using System.Diagnostics;
using System.Text.RegularExpressions;
using HilRig.Cli;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Tests.Cli;
using Microsoft.Data.Sqlite;

namespace HilRig.Tests.Results;

/// <summary>
/// Nothing finished is lost: a locked store is waited for, a damaged or foreign file is refused, a run whose process
/// died is marked interrupted and left out of the soak rate, and a killed screen keeps what it judged and resumes.
/// </summary>
public class NothingFinishedIsLostTests
{
    private string _dir = "";

    [SetUp]
    public void Folder() => _dir = Directory.CreateTempSubdirectory("hilrig-lost-").FullName;

    [TearDown]
    public void Clean() => Directory.Delete(_dir, recursive: true);

    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);

    private static SlotFinding Pass(int slot, string device) =>
        new(slot, device, "dfu-readback", Verdict.Pass, null, "no bit errors", T0, T0.AddSeconds(17), TimeSpan.FromSeconds(17), new Evidence(Step: "done")) { Lot = "L1" };

    [Test]
    public async Task A_store_held_locked_by_another_writer_is_waited_for_and_the_pass_is_kept()
    {
        var path = Path.Combine(_dir, "hilrig.db");
        var store = ResultsStore.Open(path, busyTimeout: TimeSpan.FromSeconds(1));
        using var recorder = ResultRecorder.Start(store, new RunInfo("rig", "h", 1, "BL14", "screen", T0), TimeProvider.System,
            new RecorderOptions { RetryDelay = TimeSpan.FromMilliseconds(100) });

        // another process's writer (here: another connection, the same file locks) holds the store for 3 s, three busy timeouts
        using var other = new SqliteConnection($"Data Source={path};Pooling=False");
        other.Open();
        using (var begin = other.CreateCommand())
        {
            begin.CommandText = "BEGIN EXCLUSIVE";
            begin.ExecuteNonQuery();
        }
        var stored = recorder.Record(Pass(1, "55ff00000000000000000001"));
        await Task.Delay(TimeSpan.FromSeconds(3), TimeProvider.System);
        Assert.That(stored.IsCompleted, Is.False, "nothing can be committed while the store is locked");
        using (var commit = other.CreateCommand())
        {
            commit.CommandText = "COMMIT";
            commit.ExecuteNonQuery();
        }
        var row = await stored.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(row.Verdict, Is.EqualTo(Verdict.Pass));
        Assert.That(recorder.Retries, Is.GreaterThanOrEqualTo(1));
        recorder.Finish(RunStatus.Passed);
        Assert.That(store.GetResults(recorder.RunId).Single().DeviceId, Is.EqualTo("55ff00000000000000000001"));
        Assert.That(store.GetRun(recorder.RunId)!.Status, Is.EqualTo(RunStatus.Passed));
    }

    [Test]
    public void A_run_left_running_by_a_process_that_is_gone_is_marked_interrupted_and_its_cycles_do_not_count()
    {
        var path = Path.Combine(_dir, "hilrig.db");
        var store = ResultsStore.Open(path);
        var dead = DeadPid();
        var killed = store.StartRun(new RunInfo("rig", "h", 1, "BL13", "soak", T0) { Owner = RunOwner.Current with { Pid = dead } });
        var live = store.StartRun(new RunInfo("rig", "h", 1, "BL14", "soak", T0) { Owner = RunOwner.Current });
        var otherBoot = store.StartRun(new RunInfo("rig", "h", 1, "BL15", "soak", T0) { Owner = RunOwner.Current with { BootId = "another-boot" } });
        using (var writer = ResultRecorder.Start(store, new RunInfo("rig", "h", 1, "BL14", "soak", T0), TimeProvider.System))
        {
            Assert.That(writer.Interrupted, Is.EquivalentTo(new[] { killed, otherBoot }));
            writer.Finish(RunStatus.Passed);
        }
        Assert.That(store.GetRun(killed)!.Status, Is.EqualTo(RunStatus.Interrupted));
        Assert.That(store.GetRun(killed)!.EndedAt, Is.Not.Null);
        Assert.That(store.GetRun(live)!.Status, Is.EqualTo(RunStatus.Running), "this process is alive: its run goes on");
        Assert.That(store.GetRun(otherBoot)!.Status, Is.EqualTo(RunStatus.Interrupted), "a run of an earlier boot cannot be running");
    }

    [Test]
    public void The_soak_report_leaves_out_the_cycles_of_an_interrupted_run()
    {
        var path = Path.Combine(_dir, "hilrig.db");
        var store = ResultsStore.Open(path);
        var killed = store.StartRun(new RunInfo("rig", "h", 1, "BL13", "soak", T0) { Owner = RunOwner.Current with { Pid = DeadPid() } });
        using var finished = ResultRecorder.Start(store, new RunInfo("rig", "h", 1, "BL14", "soak", T0), TimeProvider.System);
        for (var cycle = 1; cycle <= 5; cycle++)
        {
            ResultRecorder.BulkLoad(store, [(killed, new SlotFinding(1, "55ff00000000000000000001", "ota", Verdict.Fail, FailureModes.StuckInDfu, "x", T0, T0, null, null) { Cycle = cycle, Attempt = 1 })]);
            finished.Record(new SlotFinding(2, "55ff00000000000000000002", "ota", Verdict.Pass, null, "ok", T0, T0, null, null) { Cycle = cycle });
        }
        finished.Finish(RunStatus.Passed);
        var soak = HilRig.Reports.Queries.ResultsQueries.OpenSqlite(path).Soak();
        Assert.That(soak.Builds.Select(b => (b.Bootloader, b.Cycles, b.Failures)), Is.EqualTo(new[] { ("BL14", 5L, 0) }));
    }

    [Test]
    public void A_report_on_an_unrelated_SQLite_file_is_refused_and_the_file_is_left_as_it_was()
    {
        var path = Path.Combine(_dir, "inventory.db");
        using (var db = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            db.Open();
            using var create = db.CreateCommand();
            create.CommandText = "CREATE TABLE parts (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO parts (name) VALUES ('pogo pin')";
            create.ExecuteNonQuery();
        }
        var before = File.ReadAllBytes(path);
        var (exit, output, error) = CliHarness.Run("report", "lots", "--store", path);
        Assert.That(exit, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(output, Is.Empty);
        Assert.That(error.TrimEnd().Split('\n'), Has.Length.EqualTo(1), error);
        Assert.That(error, Does.Contain($"{path} is not a HilRig results store"));
        SameBytes.AssertEqual(File.ReadAllBytes(path), before, "a read-only command never writes");
        Assert.That(File.Exists(path + "-wal"), Is.False);
    }

    [Test]
    public void A_file_that_is_not_a_store_or_is_damaged_is_refused_at_open()
    {
        var garbage = Path.Combine(_dir, "garbage.db");
        File.WriteAllBytes(garbage, [.. Enumerable.Range(0, 8192).Select(i => (byte)(i * 37))]);
        Assert.That(() => ResultsStore.Open(garbage), Throws.InstanceOf<ResultsStoreException>().With.Message.Contain(garbage));

        var path = Path.Combine(_dir, "hilrig.db");
        var store = ResultsStore.Open(path);
        using (var recorder = ResultRecorder.Start(store, new RunInfo("rig", "h", 1, "BL14", "screen", T0), TimeProvider.System))
        {
            // each row is its own synchronous commit (~25 ms on a slow disk); 40 rows already make a store of 40 pages to damage
            for (var i = 0; i < 40; i++) recorder.Record(Pass(1 + (i % 8), $"55ff{i:x20}"));
            recorder.Finish(RunStatus.Passed);
        }
        Scribble(path);
        Assert.That(() => ResultsStore.Open(path), Throws.InstanceOf<ResultsStoreException>().With.Message.Contain("failed its integrity check").Or.Message.Contain("cannot be used"));
    }

    /// <summary>Scribbles over an index page in the middle of the file, as a failing card would.</summary>
    private static void Scribble(string path)
    {
        using (var db = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            db.Open();
            using var checkpoint = db.CreateCommand();
            checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE";
            checkpoint.ExecuteNonQuery();
        }
        var bytes = File.ReadAllBytes(path);
        var page = 4096 * ((bytes.Length / 4096) - 2);
        for (var i = page + 100; i < page + 4000; i++) bytes[i] ^= 0x5A;
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>
    /// A store past the size checked at every open (a whole-file read: minutes at gigabytes) is checked when its last
    /// passed check is a day old by the rig's clock; a small store at every open.
    /// </summary>
    [Test]
    public void A_big_store_is_checked_once_a_day_and_a_small_one_at_every_open()
    {
        var path = Path.Combine(_dir, "big.db");
        var clock = new SetClock { Now = T0 };
        const long AlwaysCheckedBytes = ResultsStore.AlwaysCheckedBytes;
        bool Checked(long alwaysCheckedBytes)
        {
            var seen = new List<SchemaStepProgress>();
            using (ResultsStore.ObserveSchemaSteps(seen.Add))
                ResultsStore.Open(path, clock, null, alwaysCheckedBytes);
            return seen.Any(s => s.Step == 0 && s.Finished);
        }

        var store = ResultsStore.Open(path, clock, null, AlwaysCheckedBytes);
        using (var recorder = ResultRecorder.Start(store, new RunInfo("rig", "h", 1, "BL14", "screen", T0), clock))
        {
            for (var i = 0; i < 40; i++) recorder.Record(Pass(1 + (i % 8), $"55ff{i:x20}"));
            recorder.Finish(RunStatus.Passed);
        }
        Assert.That(Checked(AlwaysCheckedBytes), Is.True, "a small store is checked at every open");
        Assert.That(Checked(AlwaysCheckedBytes), Is.True);
        Assert.That(Checked(0), Is.True, "a big store's first open checks it");
        Assert.That(Checked(0), Is.False, "and the next within the day does not");
        clock.Now = T0.AddHours(23);
        Assert.That(Checked(0), Is.False, "checked within the day");
        clock.Now = T0.AddHours(-1);
        Assert.That(Checked(0), Is.True, "a clock set back past the last check does not trust it");
        clock.Now = T0.AddHours(10);
        Assert.That(Checked(0), Is.False);

        Scribble(path);
        clock.Now = T0.AddHours(-1).AddDays(1);
        Assert.That(() => ResultsStore.Open(path, clock, null, 0), Throws.InstanceOf<ResultsStoreException>().With.Message.Contain("failed its integrity check").Or.Message.Contain("cannot be used"),
            "a day after the last passed check the damage is found, before anything is added");
    }

    private sealed class SetClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; }
        public override DateTimeOffset GetUtcNow() => Now;
    }

    /// <summary>
    /// `hilrig screen` SIGKILLed mid-run keeps every slot it had judged (each step's row is committed as the step ends),
    /// the store passes its integrity check, and `--resume RUN` screens only the slots that had no verdict, under the same id.
    /// </summary>
    [Test]
    [Category("Integration")]
    public async Task A_SIGKILLed_screen_keeps_what_it_judged_and_resume_finishes_the_other_slots()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores((3, "{ stuckBits: 12 }")));
        var db = Path.Combine(Path.GetDirectoryName(config)!, "results", "hilrig.db");
        using var process = StartHilrig("screen", "--config", config);
        using (var wait = new CancellationTokenSource(TimeSpan.FromSeconds(120)))
        {
            // killed once some slots have their verdict and others are still in their steps
            while (Count(db, "SELECT COUNT(*) FROM results WHERE test = 'screen'") < 2 && !process.HasExited)
                await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System, wait.Token);
        }
        Assert.That(process.HasExited, Is.False, "screen finished before it could be killed");
        process.Kill();
        await process.WaitForExitAsync();

        var judged = Count(db, "SELECT COUNT(*) FROM results WHERE test = 'screen'");
        var steps = Count(db, "SELECT COUNT(*) FROM results");
        Assert.That(Count(db, "SELECT COUNT(*) FROM runs WHERE status = 'running'"), Is.EqualTo(1), "killed: nobody marked it");
        using (var check = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False"))
        {
            check.Open();
            using var cmd = check.CreateCommand();
            cmd.CommandText = "PRAGMA integrity_check";
            Assert.That(cmd.ExecuteScalar(), Is.EqualTo("ok"));
        }
        var store = ResultsStore.Open(db);
        var runId = store.GetResults().First().RunId;
        var kept = store.GetResults(runId).Where(r => r.Test == "screen").Select(r => r.Slot).ToList();
        Assert.That(kept, Has.Count.EqualTo(judged).And.Count.LessThan(8));

        var (exit, output, error) = CliHarness.Run("screen", "--config", config, "--resume", runId.ToString(), "--format", "json");
        Assert.That(exit, Is.EqualTo(ExitCodes.DutFailed), error);
        Assert.That(HilRig.Tests.Cli.CliHarness.Unwrapped(error), Does.Contain($"resuming run {runId}: slot(s) {string.Join(",", kept.Order())} already judged"));
        var rows = store.GetResults(runId);
        Assert.That(rows.Where(r => r.Test == "screen").Select(r => r.Slot), Is.EquivalentTo(Enumerable.Range(1, 8)), "one verdict per slot: judged slots were not screened again");
        Assert.That(rows, Has.Count.GreaterThan(steps));
        Assert.That(rows.Single(r => r.Test == "screen" && r.Slot == 3).FailureMode, Is.EqualTo(FailureModes.BadExternalFlash));
        Assert.That(store.GetRun(runId)!.Status, Is.EqualTo(RunStatus.Failed));
        Assert.That(output, Does.Contain("\"slot\": 8"));
    }

    [Test]
    [Category("Integration")]
    public async Task A_SIGTERMed_screen_marks_its_run_aborted_and_a_SIGKILLed_soak_is_marked_interrupted_by_the_next_start()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        var db = Path.Combine(Path.GetDirectoryName(config)!, "results", "hilrig.db");

        using (var screen = StartHilrig("screen", "--config", config))
        {
            await WaitForRows(db, 1, screen);
            Assert.That(PosixSignals.Terminate(screen.Id), Is.Zero);
            await screen.WaitForExitAsync();
            Assert.That(screen.ExitCode, Is.EqualTo(ExitCodes.Stopped));
            Assert.That(HilRig.Tests.Cli.CliHarness.Unwrapped(await screen.StandardError.ReadToEndAsync()), Does.Match(@"screen stopped: [0-9]+ row\(s\) kept in run [0-9a-f-]{36} \(aborted\)"));
        }
        Assert.That(Count(db, "SELECT COUNT(*) FROM runs WHERE kind = 'screen' AND status = 'aborted' AND ended_at IS NOT NULL"), Is.EqualTo(1));

        using (var soak = StartHilrig("soak", "--cycles", "100000", "--slots", "1-2", "--config", config))
        {
            await WaitForRows(db, Count(db, "SELECT COUNT(*) FROM results") + 4, soak);
            soak.Kill();
            await soak.WaitForExitAsync();
        }
        Assert.That(Count(db, "SELECT COUNT(*) FROM runs WHERE kind = 'soak' AND status = 'running'"), Is.EqualTo(1));
        // the next start, whatever it then finds in the slot
        var (exit, _, error) = CliHarness.Run("screen", "--config", config, "--slots", "1", "--readback-only");
        Assert.That(exit, Is.Not.EqualTo(ExitCodes.BadInput), error);
        Assert.That(HilRig.Tests.Cli.CliHarness.Unwrapped(error), Does.Match("run [0-9a-f-]{36} was left running by a process that no longer exists: marked interrupted"));
        Assert.That(Count(db, "SELECT COUNT(*) FROM runs WHERE kind = 'soak' AND status = 'interrupted'"), Is.EqualTo(1));
        var report = CliHarness.Run("report", "soak", "--config", config, "--format", "csv");
        Assert.That(report.Exit, Is.EqualTo(ExitCodes.Ok), report.Error);
        Assert.That(report.Output.Trim().Split('\n'), Has.Length.EqualTo(1), "only the header: the interrupted soak's cycles are not counted");
    }

    private static Process StartHilrig(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(TestContext.CurrentContext.TestDirectory, "hilrig.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        return Process.Start(start)!;
    }

    private static async Task WaitForRows(string db, int rows, Process process)
    {
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        while (Count(db, "SELECT COUNT(*) FROM results") < rows)
        {
            Assert.That(process.HasExited, Is.False, "the command ended before it could be stopped");
            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System, wait.Token);
        }
    }

    /// <summary>A count from a store another process may be creating and writing; 0 until its schema is in place.</summary>
    private static int Count(string db, string sql)
    {
        if (!File.Exists(db)) return 0;
        try
        {
            using var connection = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
            connection.Open();
            using var count = connection.CreateCommand();
            count.CommandText = sql;
            return Convert.ToInt32(count.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (SqliteException)
        {
            return 0;
        }
    }

    /// <summary>The pid of a process that has exited.</summary>
    private static int DeadPid()
    {
        using var process = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        process.WaitForExit();
        return process.Id;
    }
}
