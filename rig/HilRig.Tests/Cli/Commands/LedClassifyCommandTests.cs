using HilRig.Cli;
using HilRig.Core.Led;
using HilRig.Sim.Device;
using HilRig.Sim.Optics;

namespace HilRig.Tests.Led;

[NonParallelizable]
public class LedClassifyCommandTests
{
    private string _dir = "";

    [SetUp]
    public void CreateDirectory()
    {
        _dir = Path.Combine(Path.GetTempPath(), "hilrig-led-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Hilrig(params string[] args)
    {
        var (stdout, stderr) = (Console.Out, Console.Error);
        using var o = new StringWriter();
        using var e = new StringWriter();
        Console.SetOut(o);
        Console.SetError(e);
        try
        {
            var code = Program.Main(args).GetAwaiter().GetResult();
            return (code, o.ToString(), e.ToString());
        }
        finally
        {
            Console.SetOut(stdout);
            Console.SetError(stderr);
        }
    }

    [Test]
    public void A_recorded_trace_classifies_to_the_same_segments_every_time()
    {
        LedStep[] dfu = [new(LedProgram.Off, TimeSpan.FromSeconds(2)), new(LedProgram.Flashing(SparkColors.Yellow, 100), TimeSpan.FromSeconds(6)), new(LedProgram.Off, TimeSpan.FromSeconds(2))];
        var result = LedScenario.Run([dfu], OpticsSettings.Default, seed: 4);
        var path = Path.Combine(_dir, "trace.csv");
        TraceCsv.Write(path, result.Samples[0], result.Calibrations[0]);

        var first = Hilrig("led", "classify", path);
        var second = Hilrig("led", "classify", path);
        var json = Hilrig("led", "classify", path, "--format", "json");

        Assert.That(first.Code, Is.EqualTo(ExitCodes.Ok), first.Err);
        Assert.That(second.Out, Is.EqualTo(first.Out));
        Assert.That(first.Out, Does.Contain("flashing yellow"));
        Assert.That(json.Out, Does.Contain("\"state\": \"flashing yellow\"").And.Contain("\"periodMs\": 10"));
    }

    [Test]
    public void A_malformed_trace_is_bad_input_naming_file_and_line()
    {
        var path = Path.Combine(_dir, "bad.csv");
        File.WriteAllText(path, "time_ms,r,g,b,c,gain,integration_ms\n0,1,2,3,4,1,24\n24,1,2,3,4,2,24\n");
        var (code, _, err) = Hilrig("led", "classify", path);
        Assert.That(code, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(err.Trim(), Is.EqualTo($"hilrig: {path}:3: field 'gain' is 2; expected 1, 4, 16 or 60"));
    }

    [Test]
    public void A_missing_trace_file_is_bad_input()
    {
        var (code, _, err) = Hilrig("led", "classify", Path.Combine(_dir, "none.csv"));
        Assert.That(code, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(err, Does.Contain("none.csv: no such trace file"));
    }
}
