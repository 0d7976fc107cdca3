using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using HilRig.Cli.Commands;
using HilRig.Cli.Station;
using HilRig.Composition;
using HilRig.Core.Config;
using HilRig.Core.Results;
using HilRig.Core.Station;

namespace HilRig.Cli.Bench;

/// <summary>
/// `hilrig bench station`: Cores per hour of `hilrig station` on the simulated line (virtual time), 8 and 16 slots, full
/// screen and readback only, one operator taking the handling time per swap; against the floor a slot cannot beat
/// (device time per Core plus handling, per slot) and the operator's own limit (one swap per handling time).
/// </summary>
internal static class StationBench
{
    public sealed record Figures(
        int Slots, bool ReadbackOnly, int Cores, int Verdicts, TimeSpan DevicePerCore, TimeSpan Handling, double CoresPerHour,
        double SlotFloor, double OperatorLimit, TimeSpan Virtual, TimeSpan Wall)
    {
        /// <summary>The bound that binds: the slots' floor or the operator's hands.</summary>
        public double Floor => Math.Min(SlotFloor, OperatorLimit);

        public double Ratio => CoresPerHour / Floor;
    }

    public static Command Command()
    {
        var config = CommonOptions.Config();
        var cores = new Option<int>("--cores") { Description = "Cores per configuration (16..2000)", DefaultValueFactory = _ => 64 };
        var handling = new Option<double>("--handling") { Description = "seconds the operator takes per swap (0..600)", DefaultValueFactory = _ => 6 };
        var command = new Command("station", "Cores per hour of `hilrig station` on the simulated line: 8 and 16 slots, full screen and readback only, against the floor (device time per Core + handling)");
        command.Options.Add(config);
        command.Options.Add(cores);
        command.Options.Add(handling);
        command.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var error = pr.InvocationConfiguration.Error;
            var n = pr.GetValue(cores);
            var h = pr.GetValue(handling);
            if (n is < 16 or > 2000)
            {
                error.WriteLine($"hilrig: --cores {n}: valid: 16..2000");
                return ExitCodes.BadInput;
            }
            if (!(h >= 0 && h <= 600))
            {
                error.WriteLine($"hilrig: --handling {h.ToString(CultureInfo.InvariantCulture)}: valid: seconds, 0..600");
                return ExitCodes.BadInput;
            }
            if (!ConfigLoading.TryLoad(pr.GetValue(config)!, error, out var rig)) return ExitCodes.BadInput;
            if (rig.Backend != RigBackend.Sim || rig.Slots.Count < 16)
            {
                error.WriteLine($"hilrig: bench station needs a simulated rig of 16 slots (e.g. --config examples/line-rig.yaml); {rig.SourcePath} has {rig.Slots.Count} slot(s), backend {rig.Backend.ToString().ToLowerInvariant()}");
                return ExitCodes.BadInput;
            }
            var output = pr.InvocationConfiguration.Output;
            output.WriteLine("slots  screen         Cores  Cores/h  device/Core  handling  slot floor/h  operator/h  ratio   rig time  wall");
            foreach (var slots in new[] { 8, 16 })
            {
                foreach (var readbackOnly in new[] { false, true })
                {
                    ct.ThrowIfCancellationRequested();
                    var f = await Task.Run(() => Run(rig, slots, readbackOnly, n, TimeSpan.FromSeconds(h)), ct);
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{f.Slots,5}  {(f.ReadbackOnly ? "readback only" : "full"),-13}  {f.Verdicts,5}  {f.CoresPerHour,7:0}  {f.DevicePerCore.TotalSeconds,9:0.0} s  {f.Handling.TotalSeconds,6:0.0} s  {f.SlotFloor,12:0}  {f.OperatorLimit,10:0}  {f.Ratio,5:0.00}  {f.Virtual.TotalMinutes,6:0.0} min  {f.Wall.TotalSeconds:0} s"));
                }
            }
            output.WriteLine("Cores/h: verdicts per hour between the first and the last verdict (rig time); floor: the lower of slots x 3600 / (device time per Core + handling) and one operator's 3600 / handling; goal: ratio >= 0.9");
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Figures Run(RigConfig rig, int slots, bool readbackOnly, int cores, TimeSpan handling)
    {
        var wall = Stopwatch.StartNew();
        var folder = Directory.Exists("/dev/shm")
            ? Directory.CreateDirectory(Path.Combine("/dev/shm", "hilrig-bench-station-" + Guid.NewGuid().ToString("N"))).FullName
            : Directory.CreateTempSubdirectory("hilrig-bench-station-").FullName;
        try
        {
            var config = rig with
            {
                SourcePath = Path.Combine(folder, "rig.yaml"),
                Slots = [.. rig.Slots.OrderBy(s => s.Number).Take(slots)],
                Results = new ResultsStoreSettings(ResultsStoreKind.Sqlite, Path.Combine(folder, "hilrig.db"), null),
                Sim = rig.Sim with { Cores = [], Line = new SimLineConfig(cores, 4, 1, rig.Sim.Seed, handling) },
            };
            var store = ResultsStore.Open(Path.Combine(folder, "hilrig.db"));
            using var session = RigSession.Open(config, new RigSessionOptions { CalibrationStore = store });
            var line = StationComposition.Line(session)!;
            StationComposition.ImportPopulation(store, line, TimeProvider.System);
            using var recorder = ResultRecorder.Start(store, new RunInfo(config.RigId, config.Hash, config.Sim.Seed, "BL14", "station", DateTimeOffset.UtcNow), TimeProvider.System,
                new RecorderOptions { RigClockIsWall = false });
            var setup = new StationSetup
            {
                ReadbackOnly = readbackOnly,
                Journal = new Core.Procedures.RegionJournal(Path.Combine(folder, "journal")),
                Backups = Path.Combine(folder, "backups"),
            };
            var station = StationComposition.Build(session, session.Slots, store, recorder, setup, line);
            var verdictTimes = new List<TimeSpan>();
            var start = session.Time.GetTimestamp();
            station.Station.VerdictShown += (_, _) => verdictTimes.Add(session.Time.GetElapsedTime(start));
            using var lineStop = new CancellationTokenSource();
            session.RunAsync(async () =>
            {
                _ = line.RunAsync(lineStop.Token);
                using var stop = new CancellationTokenSource();
                var running = station.Station.RunAsync(stop.Token);
                while (!(line.Fed == cores && session.Sim!.Slots.All(s => !s.Occupied) && station.Board.Snapshot().Tiles.All(t => t.Phase == SlotPhase.Waiting)))
                    await Task.Delay(TimeSpan.FromSeconds(1), session.Time);
                stop.Cancel();
                lineStop.Cancel();
                await running;
            }).GetAwaiter().GetResult();
            recorder.Finish(RunStatus.Passed);
            var finals = store.GetResults(recorder.RunId).Where(r => r.Test == setup.FinalTest && r.Verdict == Core.Procedures.Verdict.Pass).ToList();
            var device = finals.Count == 0 ? TimeSpan.Zero : TimeSpan.FromTicks((long)finals.Average(r => (r.DeviceTime ?? TimeSpan.Zero).Ticks));
            var span = verdictTimes.Count > 1 ? verdictTimes[^1] - verdictTimes[0] : TimeSpan.Zero;
            var perHour = span > TimeSpan.Zero ? (verdictTimes.Count - 1) / span.TotalHours : 0;
            var slotFloor = slots * 3600 / (device + handling).TotalSeconds;
            var operatorLimit = handling > TimeSpan.Zero ? 3600 / handling.TotalSeconds : double.PositiveInfinity;
            return new Figures(slots, readbackOnly, cores, verdictTimes.Count, device, handling, perHour, slotFloor, operatorLimit,
                session.Time.GetElapsedTime(start), wall.Elapsed);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // left for the temp folder's own clean-up
            }
        }
    }
}
