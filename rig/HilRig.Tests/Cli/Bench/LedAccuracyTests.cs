using HilRig.Cli.Bench;

namespace HilRig.Tests.Led;

/// <summary>
/// `hilrig bench led --quick` on seeds not used while the classifier was developed (it was tuned looking at seed 1):
/// each model's accuracy must not slip below what those seeds reach now, less a small margin, and no solid light may
/// be called breathing. The targets of issue 18 (99.5 % on each model) are what the bench prints against.
/// </summary>
public class LedAccuracyTests
{
    [TestCase("project", 2, 0.985)]
    [TestCase("project", 3, 0.985)]
    [TestCase("independent", 2, 0.91)]
    [TestCase("independent", 3, 0.91)]
    public void Accuracy_on_held_out_seeds_does_not_slip(string model, int seed, double floor)
    {
        var output = new StringWriter();
        var report = LedBench.Run(seed, quick: true, output, model);
        TestContext.Out.WriteLine(output.ToString());
        var (segments, accuracy) = model == "project"
            ? (report.ProjectSegments, report.ProjectAccuracy)
            : (report.IndependentSegments, report.IndependentAccuracy);
        Assert.Multiple(() =>
        {
            Assert.That(segments, Is.GreaterThanOrEqualTo(600), "a quick grid still spans every integration time and room");
            Assert.That(accuracy, Is.GreaterThanOrEqualTo(floor));
            Assert.That(report.SosCodesMissed, Is.Zero, "every SOS code recognised somewhere");
        });
    }
}
