using System.Diagnostics;
using System.Globalization;
using HilRig.Core.Led;
using HilRig.Sim.Device;
using HilRig.Sim.Optics;
using HilRig.Sim.Optics.Independent;

namespace HilRig.Cli.Bench;

public sealed record LedBenchReport(
    int ProjectSegments, int ProjectRight, int IndependentSegments, int IndependentRight,
    int SolidCalledBreathing, int SosCodesMissed, double CpuPerTraceSecond16Slots)
{
    public double ProjectAccuracy => ProjectSegments == 0 ? 1 : ProjectRight / (double)ProjectSegments;

    public double IndependentAccuracy => IndependentSegments == 0 ? 1 : IndependentRight / (double)IndependentSegments;

    public bool MeetsTargets => ProjectAccuracy >= 0.995 && IndependentAccuracy >= 0.995 && SolidCalledBreathing == 0 && SosCodesMissed == 0
                                && CpuPerTraceSecond16Slots <= 0.25;
}

/// <summary>One model's scores over a bench run: per state, per condition, confusion, transitions, misses.</summary>
internal sealed class LedTally
{
    public readonly SortedDictionary<string, (int Total, int Right)> PerState = new(StringComparer.Ordinal);
    public readonly SortedDictionary<string, (int Total, int Right)> PerCondition = new(StringComparer.Ordinal);
    public readonly Dictionary<(string Truth, string Seen), int> Confusion = [];
    public readonly List<(string Kind, double ErrorMs)> Transitions = [];
    public readonly List<string> Misses = [];
    public readonly List<string> SolidsCalledBreathing = [];
    public readonly HashSet<int> SosCodesSeen = [];
    public readonly HashSet<int> SosCodesRight = [];
    public int Segments;
    public int Right;
    public int SolidCalledBreathing;

    public void Add(IReadOnlyList<LedSegment> truth, LedTimeline timeline, IEnumerable<string> conditions, string where)
    {
        var conditionList = conditions.ToList();
        foreach (var v in TimelineScore.Score(truth, timeline))
        {
            Segments++;
            if (v.Right) Right++;
            var state = v.Truth.State.ToString();
            Bump(PerState, state, v.Right);
            foreach (var c in conditionList) Bump(PerCondition, c, v.Right);
            var key = (Kind(v.Truth.State), Kind(v.Seen?.State));
            Confusion[key] = Confusion.GetValueOrDefault(key) + 1;
            if (v.Truth.State.Pattern == LedPattern.Solid && timeline.Segments.Any(s => s.State.Pattern == LedPattern.Breathing && TimelineScore.Overlap(s, v.Truth) > TimeSpan.FromMilliseconds(500)))
            {
                SolidCalledBreathing++;
                SolidsCalledBreathing.Add($"{where}: {state} {Range(v.Truth)} seen as " + string.Join(", ", timeline.Segments
                        .Where(s => TimelineScore.Overlap(s, v.Truth) > TimeSpan.Zero).Select(s => $"{s.State} {Range(s)}")));
            }
            if (v.Truth.State.SosCode is { } code)
            {
                SosCodesSeen.Add(code);
                if (v.Right) SosCodesRight.Add(code);
            }
            if (!v.Right && Misses.Count < 400)
                Misses.Add($"{where}: {state} {Range(v.Truth)} seen as {(v.Seen is null ? "nothing" : $"{v.Seen.State} {Range(v.Seen)}")}");
        }
        foreach (var (from, to, error) in TimelineScore.TransitionErrors(truth, timeline))
            Transitions.Add(($"{Kind(from)} -> {Kind(to)}", error));
    }

    public double Accuracy => Segments == 0 ? 1 : Right / (double)Segments;

    public int SosCodesMissed => SosCodesSeen.Count(c => !SosCodesRight.Contains(c));

    private static string Kind(LedState? s) => s is null ? "(nothing)" : TimelineScore.Kind(s);

    private static string Range(LedSegment s) => string.Create(CultureInfo.InvariantCulture, $"{s.Start.TotalSeconds:0.0}-{s.End.TotalSeconds:0.0} s");

    private static void Bump(SortedDictionary<string, (int Total, int Right)> table, string key, bool right)
    {
        var (n, r) = table.GetValueOrDefault(key);
        table[key] = (n + 1, r + (right ? 1 : 0));
    }
}

/// <summary>
/// Labelled LED traces from two models, classified and scored side by side: the project's own (emitter, TCS34725
/// and mux models on the simulated bus, the Core drivers and sampler) and the independent model of
/// <see cref="IndependentLedModel"/>, each over random sequences of every state of spark-core.md section 5 at
/// integration times 12, 19.2 and 24 ms and across room light, gains and calibration. Prints accuracy per state and
/// per condition, the confusion matrix, transition timing errors, and the CPU cost of classifying 16 slots.
/// </summary>
internal static class LedBench
{
    private static readonly double[] Integrations = [12, 19.2, 24];

    private static string Kind(LedState? s) => s is null ? "(nothing)" : TimelineScore.Kind(s);

    /// <summary>Both models' traces for a seed, classified and scored; no printing, no CPU measurement.</summary>
    public static (LedTally Project, LedTally Independent) Score(int seed, bool quick, string model = "both") =>
        (model == "independent" ? new LedTally() : RunProjectModel(seed, quick),
         model == "project" ? new LedTally() : RunIndependentModel(seed, quick ? 60 : 240));

    public static LedBenchReport Run(int seed, bool quick, TextWriter output, string model = "both")
    {
        var (project, independent) = Score(seed, quick, model);
        var cpu = ClassificationCost(seed, output);

        output.WriteLine();
        output.WriteLine("per state                      project model        independent model");
        foreach (var state in project.PerState.Keys.Union(independent.PerState.Keys).Order(StringComparer.Ordinal))
            output.WriteLine($"{state,-30} {Cell(project.PerState, state),-20} {Cell(independent.PerState, state)}");
        output.WriteLine();
        output.WriteLine("per condition                  segments  right");
        foreach (var (name, tally) in new[] { ("project", project), ("independent", independent) })
            foreach (var (condition, (n, r)) in tally.PerCondition)
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name + " " + condition,-38} {n,6}  {r / (double)n,7:P2}"));
        foreach (var (name, tally) in new[] { ("project model", project), ("independent model", independent) })
        {
            output.WriteLine();
            output.WriteLine($"confusion matrix, {name} (rows: truth, columns: the overlapping segment seen)");
            string[] kinds = ["off", "solid", "flashing", "fast flashing", "breathing", "SOS", "fade", "(nothing)"];
            output.WriteLine($"{"",-14}" + string.Concat(kinds.Select(k => $"{k,14}")));
            foreach (var truth in kinds.Where(k => tally.Confusion.Keys.Any(c => c.Truth == k)))
                output.WriteLine($"{truth,-14}" + string.Concat(kinds.Select(seen => $"{tally.Confusion.GetValueOrDefault((truth, seen)),14}")));
        }
        output.WriteLine();
        output.WriteLine("transition timing error (ms)   project: count  median  p95  max   independent: count  median  p95  max");
        foreach (var kind in project.Transitions.Select(t => t.Kind).Union(independent.Transitions.Select(t => t.Kind)).Order(StringComparer.Ordinal))
            output.WriteLine($"{kind,-30} {Errors(project, kind),-34} {Errors(independent, kind)}");

        var sosMissed = independent.SosCodesMissed + project.SosCodesMissed;
        var report = new LedBenchReport(project.Segments, project.Right, independent.Segments, independent.Right,
            project.SolidCalledBreathing + independent.SolidCalledBreathing, sosMissed, cpu);
        output.WriteLine();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"project model:     {project.Right}/{project.Segments} segments right = {report.ProjectAccuracy:P2} (target >= 99.5 %)"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"independent model: {independent.Right}/{independent.Segments} segments right = {report.IndependentAccuracy:P2} (target >= 99.5 %)"));
        output.WriteLine($"SOS codes recognised: project {project.SosCodesRight.Count}/{project.SosCodesSeen.Count}, independent {independent.SosCodesRight.Count}/{independent.SosCodesSeen.Count}");
        output.WriteLine($"solid segments called breathing: {report.SolidCalledBreathing} (target 0)");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"classification of 16 slots at 24 ms, polled every second: {cpu:0.0000} CPU s per trace-second (target <= 0.25)"));
        foreach (var miss in project.Misses.Take(15)) output.WriteLine($"  miss (project): {miss}");
        foreach (var miss in independent.Misses.Take(15)) output.WriteLine($"  miss (independent): {miss}");
        foreach (var miss in project.SolidsCalledBreathing.Concat(independent.SolidsCalledBreathing)) output.WriteLine($"  solid called breathing: {miss}");
        return report;
    }

    private static string Cell(SortedDictionary<string, (int Total, int Right)> table, string key) =>
        table.TryGetValue(key, out var v) ? string.Create(CultureInfo.InvariantCulture, $"{v.Right,4}/{v.Total,-4} {v.Right / (double)v.Total,7:P1}") : "-";

    private static string Errors(LedTally tally, string kind)
    {
        var errors = tally.Transitions.Where(t => t.Kind == kind).Select(t => t.ErrorMs).Order().ToList();
        if (errors.Count == 0) return "-";
        double At(double q) => errors[(int)Math.Min(errors.Count - 1, Math.Floor(q * errors.Count))];
        return string.Create(CultureInfo.InvariantCulture, $"{errors.Count,5} {At(0.5),7:0} {At(0.95),5:0} {errors[^1],5:0}");
    }

    /// <summary>The project's states as its emitter shows them.</summary>
    private static IReadOnlyList<LedProgram> ProjectCatalogue()
    {
        var list = new List<LedProgram> { LedProgram.Off };
        foreach (var c in new[] { SparkColors.White, SparkColors.Blue, SparkColors.Green, SparkColors.Red, SparkColors.Orange, SparkColors.Magenta, SparkColors.Cyan, SparkColors.Yellow })
            list.Add(LedProgram.Solid(c));
        list.Add(LedProgram.Flashing(SparkColors.Green, 100));
        list.Add(LedProgram.Flashing(SparkColors.Cyan, 100));
        list.Add(LedProgram.Flashing(SparkColors.Yellow, 100));
        list.Add(LedProgram.Flashing(SparkColors.Blue, 250));
        list.Add(LedProgram.Flashing(SparkColors.Red, 500));
        foreach (var c in new[] { SparkColors.Cyan, SparkColors.Magenta, SparkColors.White, SparkColors.Red, SparkColors.Blue })
            list.Add(LedProgram.Flashing(c, 50));
        list.Add(LedProgram.Breathing(SparkColors.Cyan));
        list.Add(LedProgram.Breathing(SparkColors.Green));
        for (var code = 1; code <= 12; code++) list.Add(LedProgram.Sos(code));
        return list;
    }

    private static LedTally RunProjectModel(int seed, bool quick)
    {
        var tally = new LedTally();
        var catalogue = ProjectCatalogue();
        var random = new Random(seed);
        double[] ambients = [0, 4, 40];
        var run = 0;
        foreach (var integration in Integrations)
        foreach (var ambient in ambients)
        {
            run++;
            // quick: one run per integration time, each in a different room (dark, dim, lit)
            if (quick && run % 4 != 1) continue;
            var fullScale = run % 2 == 0;
            var byWhite = run % 4 != 3;
            var optics = OpticsSettings.Default with { AmbientCountsPerCycle = ambient, FullScale = fullScale };
            var period = TimeSpan.FromMilliseconds(integration);
            var options = new LedSamplerOptions { Cadence = period, Integration = period, InitialGain = byWhite ? 4 : 16, BufferSize = 20_000 };
            var scripts = new List<IReadOnlyList<LedStep>>();
            for (var slot = 0; slot < 16; slot++)
            {
                var script = new List<LedStep> { new(LedProgram.Off, TimeSpan.FromSeconds(2.5 + 3 * random.NextDouble())) };
                // every SOS code once per run; the other states drawn at random
                var sos = random.Next(1, 13);
                for (var i = 0; i < 14; i++)
                {
                    LedProgram next;
                    if (i == 3 && script[^1].Program.Pattern != LedPattern.Sos) next = LedProgram.Sos((sos + slot) % 12 + 1);
                    else
                        do next = random.Next(catalogue.Count - 10) < 2 ? catalogue[^(1 + random.Next(12))] : catalogue[random.Next(catalogue.Count - 12)];
                        while (next == script[^1].Program || next.Pattern == LedPattern.Sos && script[^1].Program.Pattern == LedPattern.Sos);
                    if (next == script[^1].Program) continue;
                    var seconds = next.Pattern == LedPattern.Sos
                        ? LedEmitter.SosRound(next.SosCode).Sum(p => p.OnMs + p.OffMs) / 1000.0 * random.Next(1, 3)
                        : 2.5 + 11.5 * random.NextDouble();
                    script.Add(new LedStep(next, TimeSpan.FromSeconds(seconds)));
                }
                script.Add(new LedStep(LedProgram.Off, TimeSpan.FromSeconds(2.5)));
                scripts.Add(script);
            }
            var result = LedScenario.Run(scripts, optics, seed + run, options, byWhite);
            var conditions = new[]
            {
                string.Create(CultureInfo.InvariantCulture, $"integration {integration:0.0} ms"),
                $"ambient {ambient:0} counts/cycle",
                fullScale ? "brightness BL13 full" : "brightness 96/256",
                byWhite ? "gain by white" : "gain by dark, autorange",
            };
            for (var slot = 0; slot < scripts.Count; slot++)
                tally.Add(result.Truth[slot], result.Timelines[slot], conditions.Append($"gain {result.Calibrations[slot].Gain}"),
                    string.Create(CultureInfo.InvariantCulture, $"{integration} ms ambient {ambient} slot {slot}"));
        }
        return tally;
    }

    /// <summary>The independent model's conditions, dealt so every combination comes round.</summary>
    public static IEnumerable<IndependentCondition> IndependentConditions(int count, Random random)
    {
        double[] rooms = [0, 0.03, 0.15, 0.5];
        for (var i = 0; i < count; i++)
        {
            var integration = Integrations[i % 3];
            var room = rooms[i / 3 % 4];
            var darkLine = i / 12 % 2 == 0;
            yield return new IndependentCondition(integration, room, 0.04 * random.NextDouble(), darkLine);
        }
    }

    private static LedTally RunIndependentModel(int seed, int traces)
    {
        var tally = new LedTally();
        var random = new Random(seed * 7919 + 17);
        var i = 0;
        foreach (var condition in IndependentConditions(traces, random))
        {
            // every SOS code leads some trace
            var first = IndependentLedModel.Catalogue.Where(s => s.Pattern == LedPattern.Sos).ElementAt(i % 12);
            var trace = IndependentLedModel.Generate(condition, 10, random, first);
            var timeline = LedClassifier.Classify(new LedTrace(trace.Samples, trace.Calibration));
            tally.Add(trace.Truth, timeline,
            [
                string.Create(CultureInfo.InvariantCulture, $"integration {condition.IntegrationMs:0.0} ms"),
                $"room {condition.RoomName}",
                condition.DarkLine ? "with # dark line" : "without # dark line",
                $"gain {trace.Gain}",
                condition.Leak < 0.02 ? "leak < 2 %" : "leak 2-4 %",
            ], string.Create(CultureInfo.InvariantCulture, $"trace {i} ({condition.IntegrationMs} ms, room {condition.RoomName}, {(condition.DarkLine ? "dark line" : "no dark line")}, gain {trace.Gain}, leak {condition.Leak:P1})"));
            i++;
        }
        return tally;
    }

    /// <summary>
    /// CPU seconds per trace-second to keep 16 slots' timelines current at 24 ms cadence the way a rig does: every
    /// second each slot's state is classified from the last <see cref="LedSampler.ContextBefore"/> plus that second.
    /// </summary>
    private static double ClassificationCost(int seed, TextWriter output)
    {
        var random = new Random(seed + 99);
        var traces = Enumerable.Range(0, 16).Select(_ => IndependentLedModel.Generate(new IndependentCondition(24, 0.15, 0.02, true), 12, random)).ToList();
        var seconds = traces.Min(t => t.Samples[^1].Time.TotalSeconds);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        var polls = 0;
        foreach (var trace in traces)
        {
            var classifier = new LedClassifier(trace.Calibration);
            var samples = trace.Samples;
            var first = 0;
            for (var now = 1.0; now <= seconds; now += 1)
            {
                var from = TimeSpan.FromSeconds(now - 1) - LedSampler.ContextBefore;
                while (first < samples.Count && samples[first].Time < from) first++;
                var last = first;
                while (last < samples.Count && samples[last].Time <= TimeSpan.FromSeconds(now)) last++;
                _ = classifier.Classify(samples.Skip(first).Take(last - first).ToList());
                polls++;
            }
        }
        var used = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        var perTraceSecond = used / seconds;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"classification cost: 16 slots x {seconds:0} s of trace, {polls} polls: {used:0.00} CPU s ({wall.Elapsed.TotalSeconds:0.00} s wall) = {perTraceSecond:0.0000} CPU s per trace-second"));
        return perTraceSecond;
    }

    private static string Range(LedSegment s) => string.Create(CultureInfo.InvariantCulture, $"{s.Start.TotalSeconds:0.0}-{s.End.TotalSeconds:0.0} s");
}
