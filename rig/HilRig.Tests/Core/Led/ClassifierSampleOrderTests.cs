using HilRig.Core.Led;
using HilRig.Sim.Device;
using HilRig.Sim.Optics;

namespace HilRig.Tests.Led;

/// <summary>The classifier's input order: the sampler gives samples in time order; callers of the API may not.</summary>
public class ClassifierSampleOrderTests
{
    [Test]
    public void Samples_out_of_time_order_give_the_timeline_of_the_same_samples_in_order()
    {
        var result = LedScenario.Run(
            [[new LedStep(LedProgram.Off, TimeSpan.FromSeconds(2)), new LedStep(LedProgram.Breathing(SparkColors.Cyan), TimeSpan.FromSeconds(10)),
              new LedStep(LedProgram.Flashing(SparkColors.Yellow, 100), TimeSpan.FromSeconds(6))]],
            OpticsSettings.Default, seed: 3);
        var samples = result.Samples[0];
        var classifier = new LedClassifier(result.Calibrations[0]);
        var inOrder = classifier.Classify(samples);
        var shuffled = samples.OrderBy(s => s.R ^ s.G).ToList();
        Assert.That(shuffled.Select(s => s.Time), Is.Not.Ordered, "the test needs samples out of order");

        var fromShuffled = classifier.Classify(shuffled);

        Assert.That(fromShuffled.ToString(), Is.EqualTo(inOrder.ToString()));
        Assert.That(inOrder.ToString(), Does.Contain("breathing cyan").And.Contain("flashing yellow"));
    }
}
