using HilRig.Core.Led;

namespace HilRig.Tests.Led;

public class TraceCsvTests
{
    private static LedTrace Parse(string text) => TraceCsv.Read(new StringReader(text), "trace.csv");

    [Test]
    public void A_trace_written_and_read_back_is_the_same_samples_and_calibration()
    {
        var samples = new[]
        {
            new LedSample(TimeSpan.FromMilliseconds(24), 10, 20, 30, 70, 4, 24),
            new LedSample(TimeSpan.FromMilliseconds(48.5), 4000, 3800, 900, 9000, 1, 24),
        };
        var calibration = new SlotCalibration(3, 0.5, 0.25, 0.125, 1.5, 0.01, 4, 24, 120);
        var writer = new StringWriter();
        TraceCsv.Write(writer, samples, calibration);
        var trace = Parse(writer.ToString());
        Assert.That(trace.Samples, Is.EqualTo(samples));
        Assert.That(trace.Calibration!.DarkC, Is.EqualTo(1.5));
        Assert.That(trace.Calibration.LitC, Is.EqualTo(120));
        Assert.That(writer.ToString(), Does.Contain("time_ms,r,g,b,c,gain,integration_ms"));
    }

    [TestCase("time_ms,r,g,b,c,gain,integration_ms\n0,1,2,3,4,3,24\n", "trace.csv:2: field 'gain' is 3; expected 1, 4, 16 or 60")]
    [TestCase("time_ms,r,g,b,c,gain,integration_ms\n0,1,2,3,4,1,24\n24,x,2,3,4,1,24\n", "trace.csv:3: field 'r' is 'x'; expected a whole count 0..65535")]
    [TestCase("time_ms,r,g,b,c,gain,integration_ms\n0,1,2,3,70000,1,24\n", "trace.csv:2: field 'c' is '70000'")]
    [TestCase("time_ms,r,g,b,c,gain,integration_ms\n0,1,2,3,4,1\n", "trace.csv:2: 6 fields; expected 7")]
    [TestCase("time_ms,r,g,b,c,gain,integration_ms\n50,1,2,3,4,1,24\n20,1,2,3,4,1,24\n", "trace.csv:3: field 'time_ms' is 20, earlier than the line before")]
    [TestCase("time_ms,r,g,b,c,gain,integration_ms\n0,1,2,3,4,1,1000\n", "trace.csv:2: field 'integration_ms' is 1000; expected 2.4 .. 614.4")]
    [TestCase("t,r,g,b\n", "trace.csv:1: header is 't,r,g,b'")]
    [TestCase("", "trace.csv: empty trace")]
    public void A_malformed_trace_names_file_line_field_and_what_is_valid(string text, string message)
    {
        var ex = Assert.Throws<TraceFormatException>(() => Parse(text));
        Assert.That(ex!.Message, Does.StartWith(message));
    }
}
