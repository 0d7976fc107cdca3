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
        var format = new Option<string>("--format") { Description = "Output: table or json", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "json");
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
            output.WriteLine(pr.GetValue(format) == "json" ? ToJson(timeline) : LedClassifier.FormatTable(timeline));
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    internal static string ToJson(LedTimeline timeline)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("timeline", timeline.ToString());
            json.WriteStartArray("segments");
            foreach (var s in timeline.Segments)
            {
                json.WriteStartObject();
                json.WriteNumber("start_s", Math.Round(s.Start.TotalSeconds, 3));
                json.WriteNumber("end_s", Math.Round(s.End.TotalSeconds, 3));
                json.WriteString("state", s.State.ToString());
                json.WriteString("color", s.State.Color.ToString().ToLowerInvariant());
                json.WriteString("pattern", s.State.Pattern.ToString().ToLowerInvariant());
                if (s.State.Period is { } period) json.WriteNumber("period_ms", Math.Round(period.TotalMilliseconds));
                else json.WriteNull("period_ms");
                if (s.State.SosCode is { } code) json.WriteNumber("sos_code", code);
                else json.WriteNull("sos_code");
                json.WriteNumber("confidence", Math.Round(s.Confidence, 2));
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
