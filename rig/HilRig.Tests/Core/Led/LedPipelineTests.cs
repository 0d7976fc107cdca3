using HilRig.Core.Led;
using HilRig.Sim.Device;
using HilRig.Sim.Optics;

namespace HilRig.Tests.Led;

/// <summary>Scripts through the whole path: emitter, sensor and mux models, drivers, sampler, classifier.</summary>
public class LedPipelineTests
{
    private static LedStep Step(LedProgram program, double seconds) => new(program, TimeSpan.FromSeconds(seconds));

    private static LedScenarioResult RunOne(params LedStep[] script) =>
        LedScenario.Run([script], OpticsSettings.Default, seed: 7);

    private static readonly object[] States =
    [
        new object[] { LedProgram.Flashing(SparkColors.Yellow, 100), "flashing yellow" },
        new object[] { LedProgram.Flashing(SparkColors.Magenta, 50), "fast flashing magenta" },
        new object[] { LedProgram.Flashing(SparkColors.Blue, 250), "flashing blue" },
        new object[] { LedProgram.Flashing(SparkColors.White, 50), "fast flashing white" },
        new object[] { LedProgram.Flashing(SparkColors.Green, 100), "flashing green" },
        new object[] { LedProgram.Breathing(SparkColors.Cyan), "breathing cyan" },
        new object[] { LedProgram.Solid(SparkColors.Orange), "solid orange" },
        new object[] { LedProgram.Solid(SparkColors.Magenta), "solid magenta" },
        new object[] { LedProgram.Sos(1), "SOS 1 (red)" },
        new object[] { LedProgram.Sos(8), "SOS 8 (red)" },
    ];

    [TestCaseSource(nameof(States))]
    public void A_state_shown_between_dark_stretches_is_named_as_users_say_it(LedProgram program, string expected)
    {
        var result = RunOne(Step(LedProgram.Off, 2), Step(program, 12), Step(LedProgram.Off, 2));
        var timeline = result.Timelines[0];
        TestContext.Out.WriteLine(timeline);
        var names = timeline.Segments.Where(s => s.Duration > TimeSpan.FromSeconds(1)).Select(s => s.State.ToString()).ToList();
        Assert.That(names, Is.EqualTo(new[] { "off", expected, "off" }), timeline.ToString());
        var shown = timeline.Segments.Single(s => s.State.ToString() == expected);
        var truth = result.Truth[0][1];
        // a breathing LED rises out of the dark slowly: its first few percent are indistinguishable from off
        var tolerance = TimeSpan.FromMilliseconds(program.Pattern == LedPattern.Breathing ? 400 : 200);
        Assert.That((shown.Start - truth.Start).Duration(), Is.LessThan(tolerance), "start of the state");
    }
}
