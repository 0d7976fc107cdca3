using HilRig.Composition;
using HilRig.Core.Procedures;
using HilRig.Core.Serial;
using HilRig.Sim.Device;

namespace HilRig.Tests.Life;

/// <summary>The listening-mode serial dialogues (spark-core.md §7) and identify over them.</summary>
public class IdentifyTests
{
    [Test]
    public void A_Core_without_Wi_Fi_starts_in_listening_mode_and_answers_i_with_its_device_id()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores()));
        var slot = session.Slot(2);
        var core = session.Sim!.Slot(2).Core;
        var (text, state) = session.RunAsync(async () =>
        {
            slot.Control.SetPower(true);
            await Task.Delay(TimeSpan.FromSeconds(2), session.Time);
            using var link = slot.Serial!.TryOpen()!;
            await link.WriteAsync("i"u8.ToArray());
            var buffer = new byte[100];
            var text = "";
            while (!text.EndsWith("\r\n", StringComparison.Ordinal))
            {
                var n = await link.ReadAsync(buffer, TimeSpan.FromSeconds(1));
                Assert.That(n, Is.GreaterThan(0), $"the Core stopped answering after \"{text}\"" + string.Join("\n", core.History));
                text += System.Text.Encoding.ASCII.GetString(buffer, 0, n);
            }
            return (text, core.Led.Current);
        }).GetAwaiter().GetResult();
        Assert.That(text, Is.EqualTo($"Your core id is {core.DeviceId}\r\n"));
        Assert.That(state, Is.EqualTo(LedProgram.Flashing(SparkColors.Blue, 250)), "listening mode: flashing blue");
    }

    [Test]
    public void Identify_reads_the_device_id_and_it_matches_the_DFU_serial()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores()));
        var slot = session.Slot(4);
        var core = session.Sim!.Slot(4).Core;
        var result = session.RunAsync(() => new Identify(session.Life).RunAsync(slot, core.DfuSerial)).GetAwaiter().GetResult();
        Assert.That(result.Verdict, Is.EqualTo(Verdict.Pass), result.ToString());
        Assert.That(result.Signature, Is.EqualTo($"device id {core.DeviceId}"));
    }
}
