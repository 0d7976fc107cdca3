using System.Globalization;
using System.Security.Cryptography;
using HilRig.Cli.Station;
using HilRig.Composition;
using HilRig.Core.Config;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Core.Station;
using HilRig.Sim.Rig;

namespace HilRig.Tests.Station;

/// <summary>
/// A shift on the simulated line in virtual time: the 16-slot rig of examples/line-rig.yaml (or the default 8-slot
/// rig), its operator feeding a seeded population, and stations started, stopped and restarted on it as
/// `hilrig station` composes them. The line (the hardware and the operator) lives on while a station restarts, as it
/// does when the service is restarted on a real line. What each Core held when it was dropped in is kept as hashes.
/// </summary>
internal sealed class SimulatedShift : IDisposable
{
    private readonly CancellationTokenSource _lineStop = new();
    private bool _lineStarted;

    private SimulatedShift(string folder, RigConfig config, RigSession session, ResultsStore store, SimLineOperator line)
    {
        Folder = folder;
        Config = config;
        Session = session;
        Store = store;
        Line = line;
        // the Core as it arrives, before anything touched it: the keys area (never written) and the three image slots
        line.Inserted += (slot, device) =>
        {
            if (Arrived.ContainsKey(device.DeviceId)) return;
            Arrived[device.DeviceId] = (device, Hashes(session.Sim!.Slot(slot).Core.Chip.SnapshotCells()));
        };
    }

    public string Folder { get; }

    public RigConfig Config { get; }

    public RigSession Session { get; }

    public ResultsStore Store { get; }

    public SimLineOperator Line { get; }

    public string StorePath => Path.Combine(Folder, "hilrig.db");

    public RegionJournal Journal => new(Path.Combine(Folder, "journal"));

    public Dictionary<string, (HilRig.Sim.Fleet.FleetDevice Device, (string Keys, string Images) Hashes)> Arrived { get; } = new(StringComparer.Ordinal);

    /// <param name="sixteen">The 16-slot rig of examples/line-rig.yaml; else the default 8-slot rig.</param>
    public static SimulatedShift Open(int cores, int lots, int badLots, int seed, double handling, bool sixteen = true)
    {
        // on tmpfs when there is one: the journal's and the store's fsyncs are tested elsewhere, here they would only be waited for
        var folder = Directory.Exists("/dev/shm")
            ? Directory.CreateDirectory(Path.Combine("/dev/shm", "hilrig-station-" + Guid.NewGuid().ToString("N"))).FullName
            : Directory.CreateTempSubdirectory("hilrig-station-").FullName;
        var lineKey = string.Create(CultureInfo.InvariantCulture, $"line: {{ cores: {cores}, lots: {lots}, badLots: {badLots}, seed: {seed}, handling: {handling} }}");
        string text;
        if (sixteen)
        {
            text = File.ReadAllText(Path.Combine(TestRigs.RepoRoot, "examples", "line-rig.yaml"));
            text = text.Replace("path: results/line/hilrig.db", "path: hilrig.db", StringComparison.Ordinal);
            text = System.Text.RegularExpressions.Regex.Replace(text, @"line: \{[^}]*\}", lineKey);
        }
        else
        {
            var written = TestRigs.WriteConfig(TestRigs.DefaultCores(), 42, "BL14", lineKey);
            text = File.ReadAllText(written).Replace("path: results/hilrig.db", "path: hilrig.db", StringComparison.Ordinal);
        }
        var path = Path.Combine(folder, "line-rig.yaml");
        File.WriteAllText(path, text);
        var config = RigConfigLoader.Load(path);
        var store = ResultsStore.Open(Path.Combine(folder, "hilrig.db"));
        var session = RigSession.Open(config, new RigSessionOptions { CalibrationStore = store });
        var line = StationComposition.Line(session) ?? throw new InvalidOperationException("the test config has no sim.line");
        StationComposition.ImportPopulation(store, line, TimeProvider.System);
        return new SimulatedShift(folder, config, session, store, line);
    }

    /// <summary>A station as `hilrig station` builds it: a new shift run, or <paramref name="resume"/>d.</summary>
    public (StationComposition Station, ResultRecorder Recorder) StartStation(bool readbackOnly, Guid? resume = null, StationOptions? options = null)
    {
        var recording = new RecorderOptions { RigClockIsWall = false };
        var recorder = resume is { } run
            ? ResultRecorder.Resume(Store, run, TimeProvider.System, recording)
            : ResultRecorder.Start(Store, new RunInfo(Config.RigId, Config.Hash, Config.Sim.Seed, "BL14", "station", DateTimeOffset.UtcNow), TimeProvider.System, recording);
        var setup = new StationSetup
        {
            ReadbackOnly = readbackOnly,
            Journal = Journal,
            Backups = Path.Combine(Folder, "backups"),
            Options = options,
        };
        return (StationComposition.Build(Session, Session.Slots, Store, recorder, setup, Line), recorder);
    }

    /// <summary>
    /// Runs the station (and, the first time, the operator) on the rig's clock until <paramref name="stopWhen"/> holds,
    /// checked every half second of rig time; then stops it as SIGTERM does and waits until every slot has stopped.
    /// </summary>
    public TimeSpan Run(StationComposition station, Func<bool> stopWhen, TimeSpan limit)
    {
        var started = Session.Time.GetTimestamp();
        Session.RunAsync(async () =>
        {
            if (!_lineStarted)
            {
                _lineStarted = true;
                _ = Line.RunAsync(_lineStop.Token);
            }
            using var stop = new CancellationTokenSource();
            var running = station.Station.RunAsync(stop.Token);
            while (!stopWhen() && Session.Time.GetElapsedTime(started) < limit && !running.IsCompleted)
                await Task.Delay(TimeSpan.FromSeconds(0.5), Session.Time);
            stop.Cancel();
            await running;
        }).GetAwaiter().GetResult();
        return Session.Time.GetElapsedTime(started);
    }

    /// <summary>The line ran out of Cores and every slot stands empty and waiting.</summary>
    public bool LineDone(StationComposition station) =>
        Line.Fed == Line.Options.Cores
        && Session.Sim!.Slots.All(s => !s.Occupied)
        && station.Board.Snapshot().Tiles.All(t => t.Phase == SlotPhase.Waiting);

    /// <summary>Where a Core is now (in a slot, or on the shelf after it was pulled), its hashes as at arrival.</summary>
    public (string Keys, string Images) HashesNow(string deviceId)
    {
        var core = Session.Sim!.Shelved(deviceId) ?? Session.Sim.Slots.First(s => s.Occupied && s.Core.DeviceId == deviceId).Core;
        return Hashes(core.Chip.SnapshotCells());
    }

    private static (string Keys, string Images) Hashes(byte[] cells) =>
        (Convert.ToHexString(SHA256.HashData(cells.AsSpan(0, 0x20000))), Convert.ToHexString(SHA256.HashData(cells.AsSpan(0x20000, 0x60000))));

    /// <summary>
    /// Journals left open: only a Core whose chip hangs (dead) keeps one, as its regions could not be put back; every
    /// other Core's journal is closed once its regions are restored and verified.
    /// </summary>
    public List<string> OpenJournalsOfHealthyChips() =>
    [
        .. Journal.Pending().Select(j => j.Manifest)
            .Where(m => !Arrived.Values.Any(a => a.Device.Flash is FlashCondition.Dead && Core.Spark.SparkIdentity.DfuSerial(a.Device.DeviceId) == m.DfuSerial))
            .Select(m => $"{m.DfuSerial} (slot {m.Slot}, {m.Procedure})"),
    ];

    public static bool IsBadChip(FlashCondition flash) => flash is FlashCondition.StuckBits or FlashCondition.BadSectors or FlashCondition.Dead;

    /// <summary>Final verdict rows of a run straight from SQL: (device id, verdict), in the order stored.</summary>
    public List<(string DeviceId, string Verdict, int Slot)> FinalRows(Guid run, string test)
    {
        using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={StorePath};Mode=ReadOnly");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT device_id, verdict, slot FROM results WHERE run_id = $run AND test = $test ORDER BY rowid";
        cmd.Parameters.AddWithValue("$run", run.ToString());
        cmd.Parameters.AddWithValue("$test", test);
        var rows = new List<(string, string, int)>();
        using var reader = cmd.ExecuteReader();
        while (reader.Read()) rows.Add((reader.GetString(0), reader.GetString(1), reader.GetInt32(2)));
        return rows;
    }

    public void Dispose()
    {
        _lineStop.Cancel();
        Session.Dispose();
        _lineStop.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // a file still held by a pool: the temp folder is cleaned up later
        }
    }
}
