using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using HilRig.Core.Led;

namespace HilRig.Cli.Commands;

/// <summary><c>hilrig led ...</c>: LED observation. <c>watch</c>, <c>record</c> and <c>calibrate</c> need the composed rig (<see cref="LedRigCommands"/>).</summary>
internal static class LedCommand
{
    public static Command Create()
    {
        var led = new Command("led", "Watch, record and classify a slot's LED");
        led.Subcommands.Add(Classify());
        led.Subcommands.Add(RigClaim.Leased(LedRigCommands.Watch()));
        led.Subcommands.Add(RigClaim.Leased(LedRigCommands.Record()));
        led.Subcommands.Add(RigClaim.Leased(LedRigCommands.Calibrate()));
        return led;
    }

    private static Command Classify()
    {
        var file = new Argument<string>("trace") { Description = "Trace CSV (time_ms,r,g,b,c,gain,integration_ms) as written by 'hilrig led record'" };
        var format = CommonOptions.Format();
        var command = new Command("classify", "Classify a recorded colour-sensor trace into LED state segments");
        command.Arguments.Add(file);
        command.Options.Add(format);
        command.SetAction((ParseResult pr, CancellationToken ct) =>
        {
            var output = pr.InvocationConfiguration.Output;
            var error = pr.InvocationConfiguration.Error;
            var path = pr.GetValue(file)!;
            LedTimeline timeline;
            try
            {
                // two passes, each streaming: check every line and find the calibration (or estimate the dark level),
                // then classify in chunks; memory stays bounded whatever the trace's length, and bad input is found
                // before anything is printed
                if (!File.Exists(path)) throw new TraceFormatException($"{path}: no such trace file");
                SlotCalibration? calibration = null;
                var dark = new DarkEstimator();
                using (var reader = new StreamReader(path))
                    foreach (var sample in TraceCsv.ReadSamples(reader, path, c => calibration = c))
                        dark.Add(sample);
                calibration ??= dark.Estimate();
                using var again = new StreamReader(path);
                timeline = new LedTimeline([.. StreamingClassifier.Classify(TraceCsv.ReadSamples(again, path), calibration)]);
            }
            catch (TraceFormatException ex)
            {
                error.WriteLine($"hilrig: {ex.Message}");
                return Task.FromResult(ExitCodes.BadInput);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                error.WriteLine($"hilrig: {path}: cannot read trace: {ex.Message}");
                return Task.FromResult(ExitCodes.BadInput);
            }
            switch (CommonOptions.ParseFormat(pr.GetValue(format)))
            {
                case OutputFormat.Json:
                    output.WriteLine(ToJson(timeline));
                    break;
                case OutputFormat.Csv:
                    output.Write(Csv.Records(Rows(timeline)));
                    break;
                default:
                    var table = new TextTable().Column("start s", right: true, wrap: false).Column("end s", right: true, wrap: false)
                        .Column("state").Column("period ms", right: true, wrap: false).Column("confidence", right: true, wrap: false);
                    foreach (var r in Rows(timeline))
                        table.Row(r.StartSeconds.ToString("0.000", CultureInfo.InvariantCulture), r.EndSeconds.ToString("0.000", CultureInfo.InvariantCulture), r.State,
                            r.PeriodMs?.ToString("0", CultureInfo.InvariantCulture) ?? "-", r.Confidence.ToString("0.00", CultureInfo.InvariantCulture));
                    output.Write(table.For(output));
                    break;
            }
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    /// <summary>One row per segment, as every export names them (camelCase, units in the name).</summary>
    internal sealed record SegmentRow(double StartSeconds, double EndSeconds, string State, string Color, string Pattern, double? PeriodMs, int? SosCode, double Confidence);

    internal static IReadOnlyList<SegmentRow> Rows(LedTimeline timeline) =>
    [
        .. timeline.Segments.Select(s => new SegmentRow(
            Math.Round(s.Start.TotalSeconds, 3), Math.Round(s.End.TotalSeconds, 3), s.State.ToString(),
            s.State.Color.ToString().ToLowerInvariant(), s.State.Pattern.ToString().ToLowerInvariant(),
            s.State.Period is { } period ? Math.Round(period.TotalMilliseconds) : null, s.State.SosCode, Math.Round(s.Confidence, 2))),
    ];

    /// <summary>The JSON export: the timeline as words, then its segments (camelCase, as every hilrig JSON).</summary>
    internal static string ToJson(LedTimeline timeline) =>
        JsonSerializer.Serialize(new { timeline = timeline.ToString(), segments = Rows(timeline) }, Json.Options);
}
