using HilRig.Core.Led;
using HilRig.Sim.Device;
using HilRig.Sim.Optics;
using HilRig.Sim.Time;

namespace HilRig.Tests.Led;

/// <summary>
/// `hilrig button reset|mode` reads a slot's LED state from the CLI's thread while the rig samples on the
/// simulation thread: reading a timeline must never meet a buffer being changed under it.
/// </summary>
public class LedSamplerConcurrencyTests
{
    [Test]
    public void Timelines_read_from_another_thread_while_the_sampler_runs_never_see_a_buffer_change_under_them()
    {
        using var sim = new SimScheduler();
        var rig = new SimLedRig(sim.Time, 2, OpticsSettings.Default, seed: 5);
        var sampler = new LedSampler(rig.Sensors, sim.Time, new LedSamplerOptions { BufferSize = 256 });
        var done = 0;
        Exception? readerError = null;
        var reads = 0;
        var reader = Task.Run(() =>
        {
            while (Volatile.Read(ref done) == 0)
            {
                try
                {
                    _ = sampler.Timeline(0);
                    _ = sampler.CurrentState(1);
                    _ = sampler.Samples(0).Count;
                    reads++;
                }
                catch (Exception ex)
                {
                    readerError = ex;
                    return;
                }
            }
        });
        LedTimeline last;
        try
        {
            last = sim.Run(async () =>
            {
                await sampler.InitializeAsync();
                rig.Emitters[0].Show(LedProgram.Flashing(SparkColors.Yellow, 100));
                for (var i = 0; i < 4000 && Volatile.Read(ref readerError) is null; i++)
                {
                    await sampler.SampleRoundAsync();
                    await Task.Delay(TimeSpan.FromMilliseconds(24), sim.Time);
                }
                return sampler.Timeline(0);
            });
        }
        finally
        {
            Volatile.Write(ref done, 1);
            reader.Wait();
        }
        Assert.Multiple(() =>
        {
            Assert.That(readerError, Is.Null, () => readerError!.ToString());
            Assert.That(reads, Is.GreaterThan(0), "the reader ran alongside the sampler");
            Assert.That(last.Current?.State.ToString(), Is.EqualTo("flashing yellow"));
        });
    }
}
