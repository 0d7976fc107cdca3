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

    [Test]
    public void A_Core_on_the_cloud_is_identified_through_MODE_3_s_and_goes_back_to_breathing_cyan()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores()));
        var slot = session.Slot(7);
        var core = session.Sim!.Slot(7).Core;
        var (id, led, transcript) = session.RunAsync(async () =>
        {
            var log = new List<string>();
            slot.Control.SetPower(true);
            await Task.Delay(TimeSpan.FromSeconds(2), session.Time);
            await WifiProvisioning.ProvisionAsync(session.Life, slot, core.DeviceId, log, CancellationToken.None);
            var id = await new Identify(session.Life).ReadDeviceIdAsync(slot);
            await Task.Delay(TimeSpan.FromSeconds(6), session.Time);
            return (id, core.Led.Current, string.Join("\n", log));
        }).GetAwaiter().GetResult();
        Assert.That(transcript, Does.Contain(ListeningModeSerial.SsidPrompt).And.Contain("hilrig-test").And.Contain(ListeningModeSerial.SavingLine));
        Assert.That(core.Nvmem.Ssids, Is.EqualTo(new[] { "hilrig-test" }), "the `w` dialogue stored the credentials");
        Assert.That(id, Is.EqualTo(core.DeviceId));
        Assert.That(core.History, Has.Some.Contains("app: listening mode"));
        Assert.That(led, Is.EqualTo(LedProgram.Breathing(SparkColors.Cyan)), "RESET after `i`: back on the cloud");
    }
}
