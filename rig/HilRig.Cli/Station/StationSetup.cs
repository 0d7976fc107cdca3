using HilRig.Cli.Commands;
using HilRig.Composition;
using HilRig.Core.Config;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Core.Slots;
using HilRig.Core.Station;
using HilRig.Sim.Rig;

namespace HilRig.Cli.Station;

/// <summary>What a station needs besides the rig: where results and the journal go, and what it screens.</summary>
internal sealed record StationSetup
{
    /// <summary>Only identify and DFU readback; no OTA and factory reset loops.</summary>
    public bool ReadbackOnly { get; init; }

    /// <summary>The region journal (originals saved before the first destructive write).</summary>
    public required RegionJournal Journal { get; init; }

    /// <summary>Content-named backups of the regions read.</summary>
    public required string Backups { get; init; }

    /// <summary>The OTA loop's app image (default: a generated check app of the seed).</summary>
    public byte[]? OtaImage { get; init; }

    public StationOptions? Options { get; init; }

    public TimeProvider Wall { get; init; } = TimeProvider.System;

    public string FinalTest => ReadbackOnly ? Screening.TestName : Screening.LifeTestName;

    /// <summary>The journal and backups next to the config's store, as `hilrig screen` keeps them.</summary>
    public static StationSetup For(RigConfig config, bool readbackOnly) => new()
    {
        ReadbackOnly = readbackOnly,
        Journal = JournalSupport.Journal(config),
        Backups = JournalSupport.Backups(config),
    };
}

/// <summary>
/// One station on a rig session: the screening procedure as `hilrig screen` composes it, the recorder of the shift's
/// run, the board the page shows, and (on the simulator with a line) the operator's cue. Used by `hilrig station`,
/// `hilrig bench station` and the tests, so all three run the same station.
/// </summary>
internal sealed class StationComposition
{
    private StationComposition(Core.Station.Station station, StoreStationRecords records, StationBoard board)
    {
        Station = station;
        Records = records;
        Board = board;
    }

    public Core.Station.Station Station { get; }

    public StoreStationRecords Records { get; }

    public StationBoard Board { get; }

    public Guid RunId => Records.RunId;

    /// <param name="line">On the simulator: the operator who is cued by each verdict (a rig fault: retest in another slot).</param>
    /// <param name="before">A new shift's previous station run: a Core it judged that is still in its slot shows that verdict again, uncounted.</param>
    public static StationComposition Build(RigSession session, IReadOnlyList<RigSlot> slots, ResultsStore store, ResultRecorder recorder,
        StationSetup setup, SimLineOperator? line = null, Guid? before = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(setup);
        var config = session.Config;
        var records = new StoreStationRecords(store, recorder, setup.FinalTest);
        var ota = setup.OtaImage ?? Core.Spark.SparkAppImageGenerator.Generate(config.Sim.Seed, "hilrig-ota-check", "1.0.0");
        var screening = new Screening(session.Usb, session.Time, new ScreeningOptions
        {
            Readback = new DfuReadbackOptions { BackupDirectory = setup.Backups, Journal = setup.Journal },
            Cloud = setup.ReadbackOnly ? null : session.Cloud,
            OtaImage = setup.ReadbackOnly ? null : ota,
            OtaApp = Core.Spark.SparkAppImageGenerator.ReadIdentity(ota),
            // the readback's row is stored as it is judged, before the loops: a station stopped mid-Core keeps it
            StepJudged = step => records.RecordStep(step),
            Links = new StoreDeviceLinks(store, setup.Wall),
            RecoveryApp = config.Backend == RigBackend.Sim ? Core.Spark.SparkAppImageGenerator.Tinker(config.Sim.Seed) : null,
        });
        screening.JournalRestored += restored => JournalSupport.Record(recorder, restored, setup.Wall.GetUtcNow(), setup.Wall.GetUtcNow());

        var board = new StationBoard(slots.Select(s => s.Number), session.Time) { RunId = recorder.RunId.ToString() };
        // a resumed shift counts what it judged before the restart
        var finals = records.ShiftFinals();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var row in finals) board.Count(row.DeviceId, row.Verdict, retest: !seen.Add(row.DeviceId));
        var options = setup.Options ?? new StationOptions
        {
            FinalTest = setup.FinalTest,
            TypicalDeviceTime = TimeSpan.FromSeconds(setup.ReadbackOnly ? 30 : 90),
        };
        var station = new Core.Station.Station(session.Usb, session.Time, slots, screening, records, board, options with { FinalTest = setup.FinalTest },
            before is { } previous && previous != recorder.RunId ? records.LastPerSlot(previous) : records.LastPerSlot());
        if (line is not null) station.VerdictShown += (slot, verdict) => line.Done(slot, retestElsewhere: verdict == Verdict.RigFault);
        return new StationComposition(station, records, board);
    }

    /// <summary>The simulated line's population as the store's lot inventory, as a real line imports its lot CSV.</summary>
    public static void ImportPopulation(ResultsStore store, SimLineOperator line, TimeProvider wall) =>
        store.ImportDevices(line.Population.Devices().Select(d => d.ToInventory()), wall.GetUtcNow());

    /// <summary>The operator of <c>sim.line</c>, tending <paramref name="slots"/> (null: every slot), emptied at the start.</summary>
    public static SimLineOperator? Line(RigSession session, IReadOnlyCollection<int>? slots = null)
    {
        if (session.Sim is not { } sim || session.Config.Sim.Line is not { } line) return null;
        return new SimLineOperator(sim, new LineOperatorOptions(line.Cores, line.Lots, line.BadLots, line.Seed, line.Handling, Slots: slots));
    }
}
