using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using HilRig.Cli.Commands;
using HilRig.Cli.Station;
using HilRig.Composition;
using HilRig.Core.Config;
using HilRig.Core.Procedures;
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
    /// <param name="Cores">Cores the operator dropped in (each new Core once; a Core put back for a retest is not a new one).</param>
    /// <param name="Judged">Cores with a pass or fail verdict: equals <paramref name="Cores"/> unless a Core went unjudged.</param>
    /// <param name="Retests">Verdicts beyond a Core's first (a rig fault and its retest in another slot).</param>
    /// <param name="Twice">Cores with more than one pass/fail verdict: never expected (one Core, one final verdict).</param>
    /// <param name="CoresPerHour">While the line is fed: slots over the slot time per Core judged (<see cref="StationCycles.LineFed"/>).</param>
    /// <param name="ShiftPerHour">The whole shift's: Cores judged between its first and last verdict, the filling of the slots and their running dry included.</param>
    /// <param name="Phases">Where the slot time per Core judged goes.</param>
    /// <param name="OperatorBusy">The operator's share of the shift spent pulling and dropping in Cores.</param>
    public sealed record Figures(
        int Slots, bool ReadbackOnly, int Cores, int Judged, int Retests, string RetestWhy, IReadOnlyList<string> Twice, TimeSpan DevicePerCore, TimeSpan Handling, double CoresPerHour,
        double SlotFloor, double OperatorLimit, TimeSpan Virtual, TimeSpan Wall, double ShiftPerHour, TimeSpan SlotTimePerCore, IReadOnlyList<PhaseTime> Phases, double OperatorBusy)
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
        var samplerSpeed = new Option<double>("--sampler-speed") { Description = "the LED sampler's figure: 16 slots on the wall clock this many times faster (0: skip it)", DefaultValueFactory = _ => 8 };
        var samplerSeconds = new Option<double>("--sampler-seconds") { Description = "wall-clock seconds the LED sampler's figure runs (1..600)", DefaultValueFactory = _ => 20 };
        var command = new Command("station", "Cores per hour of `hilrig station` on the simulated line: 8 and 16 slots, full screen and readback only, against the floor (device time per Core + handling)");
        command.Options.Add(config);
        command.Options.Add(cores);
        command.Options.Add(handling);
        command.Options.Add(samplerSpeed);
        command.Options.Add(samplerSeconds);
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
            var sx = pr.GetValue(samplerSpeed);
            var sw = pr.GetValue(samplerSeconds);
            if (!(sx >= 0 && sx <= 1000))
            {
                error.WriteLine($"hilrig: --sampler-speed {sx.ToString(CultureInfo.InvariantCulture)}: valid: 0 (skip) or a factor up to 1000");
                return ExitCodes.BadInput;
            }
            if (!(sw >= 1 && sw <= 600))
            {
                error.WriteLine($"hilrig: --sampler-seconds {sw.ToString(CultureInfo.InvariantCulture)}: valid: 1..600");
                return ExitCodes.BadInput;
            }
            if (!ConfigLoading.TryLoad(pr.GetValue(config)!, error, out var rig)) return ExitCodes.BadInput;
            if (rig.Backend != RigBackend.Sim || rig.Slots.Count < 16)
            {
                error.WriteLine($"hilrig: bench station needs a simulated rig of 16 slots (e.g. --config examples/line-rig.yaml); {rig.SourcePath} has {rig.Slots.Count} slot(s), backend {rig.Backend.ToString().ToLowerInvariant()}");
                return ExitCodes.BadInput;
            }
            var output = pr.InvocationConfiguration.Output;
            output.WriteLine("slots  screen         Cores  judged  retests  Cores/h  shift/h  device/Core  handling  slot floor/h  operator/h  ratio   rig time  wall");
            var exit = ExitCodes.Ok;
            foreach (var slots in new[] { 8, 16 })
            {
                foreach (var readbackOnly in new[] { false, true })
                {
                    ct.ThrowIfCancellationRequested();
                    var f = await Task.Run(() => Run(rig, slots, readbackOnly, n, TimeSpan.FromSeconds(h)), ct);
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{f.Slots,5}  {(f.ReadbackOnly ? "readback only" : "full"),-13}  {f.Cores,5}  {f.Judged,6}  {f.Retests,7}  {f.CoresPerHour,7:0}  {f.ShiftPerHour,7:0}  {f.DevicePerCore.TotalSeconds,9:0.0} s  {f.Handling.TotalSeconds,6:0.0} s  {f.SlotFloor,12:0}  {f.OperatorLimit,10:0}  {f.Ratio,5:0.00}  {f.Virtual.TotalMinutes,6:0.0} min  {f.Wall.TotalSeconds:0} s"));
                    if (f.RetestWhy.Length > 0) output.WriteLine($"       retests after: {f.RetestWhy}");
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"       slot time per Core judged {f.SlotTimePerCore.TotalSeconds:0.0} s, against the floor's {(f.DevicePerCore + f.Handling).TotalSeconds:0.0} s (operator busy {f.OperatorBusy * 100:0} % of the shift): {string.Join("; ", f.Phases.Where(p => p.Share >= 0.001).Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Phase} {p.PerCore.TotalSeconds:0.0} s")))}"));
                    if (f.Judged != f.Cores || f.Twice.Count > 0)
                    {
                        // one Core, one final verdict: anything else is the station's bug, not a figure
                        error.WriteLine($"hilrig: bench station: {f.Cores} Core(s) dropped in, {f.Judged} judged{(f.Twice.Count > 0 ? "; judged more than once: " + string.Join("; ", f.Twice) : "")}");
                        exit = ExitCodes.DutFailed;
                    }
                }
            }
            if (sx > 0)
            {
                var l = await Task.Run(() => Sampler(rig, sx, TimeSpan.FromSeconds(sw), TimeSpan.FromSeconds(h)), ct);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"LED sampler, {l.Slots} slots on the wall clock x{sx:0.##} for {l.Wall.TotalSeconds:0} s (station screening, operator feeding): rig clock x{l.Virtual / l.Wall:0.00}; samples per slot {l.Kept * 100:0.0} % of the cadence's (fewest: slot {l.WorstSlot}, {l.WorstKept * 100:0.0} %); rounds skipped {l.Skipped}, late {l.Overruns}; CPU {l.Cpu.TotalSeconds:0.0} s; {l.Verdicts} verdict(s), {l.RigFaults} rig fault(s)"));
                output.WriteLine("goal: the sampler keeps up (>= 95 % of its samples) on 16 slots at --speed 8 and more");
                if (l.WorstKept < 0.95) exit = ExitCodes.DutFailed;
            }
            output.WriteLine("Cores: dropped in (new Cores); judged: Cores with a pass/fail verdict; retests: verdicts beyond a Core's first (rig fault, then another slot)");
            output.WriteLine("Cores/h: while the line is fed: slots x 3600 / slot time per Core judged, each slot from its first verdict to its last pass/fail (rig time); shift/h: Cores judged per hour between the shift's first and last verdict, the slots filling at the start and standing empty at the end (no Core left to drop in) included");
            output.WriteLine("floor: the lower of slots x 3600 / (device time per Core + handling) and one operator's 3600 / handling; goal: ratio (Cores/h over the floor) >= 0.9");
            return exit;
        });
        return command;
    }

    /// <param name="Kept">Samples taken over samples due at the cadence, over every slot.</param>
    public sealed record SamplerFigures(int Slots, TimeSpan Virtual, TimeSpan Wall, double Kept, int WorstSlot, double WorstKept, long Skipped, long Overruns,
        TimeSpan Cpu, int Verdicts, int RigFaults);

    /// <summary>
    /// The LED sampler as `hilrig station --speed X` runs it: 16 slots on the wall clock X times faster, the station
    /// screening what the line's operator feeds, for <paramref name="wall"/>; how many of its samples the sampler took.
    /// </summary>
    public static SamplerFigures Sampler(RigConfig rig, double speed, TimeSpan wall, TimeSpan handling)
    {
        var folder = Directory.CreateTempSubdirectory("hilrig-bench-sampler-").FullName;
        try
        {
            var config = rig with
            {
                SourcePath = Path.Combine(folder, "rig.yaml"),
                Slots = [.. rig.Slots.OrderBy(s => s.Number).Take(16)],
                Results = new ResultsStoreSettings(ResultsStoreKind.Sqlite, Path.Combine(folder, "hilrig.db"), null),
                Sim = rig.Sim with { Cores = [], Line = new SimLineConfig(2000, 4, 1, rig.Sim.Seed, handling) },
            };
            var store = ResultsStore.Open(Path.Combine(folder, "hilrig.db"));
            using var session = RigSession.Open(config, new RigSessionOptions
            {
                CalibrationStore = store,
                Simulator = new SimBackendOptions { Clock = Sim.Time.ClockMode.RealTime, Speed = speed },
            });
            var sampler = session.Led?.Sampler ?? throw new InvalidOperationException("the rig has no colour sensors");
            var line = StationComposition.Line(session)!;
            using var recorder = ResultRecorder.Start(store, new RunInfo(config.RigId, config.Hash, config.Sim.Seed, "BL14", "station", DateTimeOffset.UtcNow), TimeProvider.System,
                new RecorderOptions { RigClockIsWall = false });
            var setup = new StationSetup
            {
                ReadbackOnly = false,
                Journal = new Core.Procedures.RegionJournal(Path.Combine(folder, "journal")),
                Backups = Path.Combine(folder, "backups"),
            };
            var station = StationComposition.Build(session, session.Slots, store, recorder, setup, line);
            var verdicts = 0;
            var rigFaults = 0;
            station.Station.VerdictShown += (_, v) =>
            {
                verdicts++;
                if (v == Verdict.RigFault) rigFaults++;
            };
            using var stop = new CancellationTokenSource();
            using var lineStop = new CancellationTokenSource();
            var (counts0, skipped0, overruns0, t0) = session.RunAsync(() => Task.FromResult((
                sampler.Slots.ToDictionary(s => s, sampler.SampleCount), sampler.SkippedRounds, sampler.Overruns, session.Time.GetTimestamp()))).GetAwaiter().GetResult();
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            var running = session.RunAsync(async () =>
            {
                _ = line.RunAsync(lineStop.Token);
                await station.Station.RunAsync(stop.Token);
            });
            Thread.Sleep(wall);
            var (counts1, skipped1, overruns1, elapsed) = session.RunAsync(() =>
            {
                var figures = (sampler.Slots.ToDictionary(s => s, sampler.SampleCount), sampler.SkippedRounds, sampler.Overruns, session.Time.GetElapsedTime(t0));
                stop.Cancel();
                lineStop.Cancel();
                return Task.FromResult(figures);
            }).GetAwaiter().GetResult();
            var wallTaken = clock.Elapsed;
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
            running.GetAwaiter().GetResult();
            recorder.Finish(RunStatus.Aborted);
            var due = elapsed / sampler.Options.Cadence;
            var kept = counts1.ToDictionary(kv => kv.Key, kv => (kv.Value - counts0[kv.Key]) / due);
            var worst = kept.MinBy(kv => kv.Value);
            return new SamplerFigures(kept.Count, elapsed, wallTaken, kept.Values.Average(), worst.Key, worst.Value, skipped1 - skipped0, overruns1 - overruns0,
                cpu, verdicts, rigFaults);
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
            var verdicts = new List<(TimeSpan At, int Slot, string DeviceId, Core.Procedures.Verdict Verdict)>();
            var start = session.Time.GetTimestamp();
            var phases = new PhaseClock(session.Time, start);
            var handled = 0;
            station.Station.PhaseEntered += phases.Station;
            line.Inserted += (slot, _) =>
            {
                handled++;
                phases.Operator(slot, inserted: true);
            };
            line.Removed += (slot, _) =>
            {
                handled++;
                phases.Operator(slot, inserted: false);
            };
            station.Station.VerdictShown += (slot, verdict) =>
                verdicts.Add((session.Time.GetElapsedTime(start), slot, station.Board.Snapshot().Tiles.First(t => t.Slot == slot).DeviceId ?? "?", verdict));
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
            var judged = verdicts.Where(v => v.Verdict != Core.Procedures.Verdict.RigFault).ToList();
            var twice = judged.GroupBy(v => v.DeviceId, StringComparer.Ordinal).Where(g => g.Count() > 1)
                .Select(g => $"{g.Key}: {string.Join(", ", g.Select(v => string.Create(CultureInfo.InvariantCulture, $"{v.Verdict.ToName()} in slot {v.Slot} at {v.At.TotalSeconds:0.0} s")))}").ToList();
            var units = judged.Select(v => v.DeviceId).Distinct(StringComparer.Ordinal).Count();
            var span = judged.Count > 1 ? judged[^1].At - judged[0].At : TimeSpan.Zero;
            var shiftPerHour = span > TimeSpan.Zero ? (units - 1) / span.TotalHours : 0;
            var fed = StationCycles.LineFed(verdicts.Select(v => new ShownVerdict(v.At, v.Slot, v.Verdict != Verdict.RigFault)), slots);
            var slotFloor = slots * 3600 / (device + handling).TotalSeconds;
            var operatorLimit = handling > TimeSpan.Zero ? 3600 / handling.TotalSeconds : double.PositiveInfinity;
            // a screening cut short by a rig fault stores the readback's test as its final row, in a full screen too
            var why = string.Join(", ", store.GetResults(recorder.RunId).Where(r => (r.Test == setup.FinalTest || r.Test == Screening.TestName) && r.Verdict == Verdict.RigFault)
                .GroupBy(r => r.FailureMode ?? "rig-fault").Select(g => $"{g.Key} x{g.Count()}"));
            var shift = session.Time.GetElapsedTime(start);
            // each Core in and out: half the handling to pull one, half to drop one in
            var busy = shift > TimeSpan.Zero ? handled * (handling / 2) / shift : 0;
            return new Figures(slots, readbackOnly, line.Fed, units, verdicts.Count - units, why, twice, device, handling, fed.CoresPerHour, slotFloor, operatorLimit,
                shift, wall.Elapsed, shiftPerHour, fed.SlotTimePerCore, phases.Within(fed.Windows, fed.Judged), busy);
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
