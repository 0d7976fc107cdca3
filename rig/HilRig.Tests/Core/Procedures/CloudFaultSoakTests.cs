using HilRig.Core.Procedures;
using HilRig.Tests.Cli;

namespace HilRig.Tests.Procedures;

/// <summary>Issue 14.6 in a soak: a cloud losing messages costs OTAs as the cloud's rig faults, never a failure of a healthy Core.</summary>
public class CloudFaultSoakTests
{
    /// <remarks>Two cycles of eight slots, 16 OTAs through the lossy cloud: with this seed the rig gives up on one of them as the cloud's fault, which is what the soak must then make of it.</remarks>
    [Test]
    public void A_two_cycle_soak_on_a_cloud_losing_three_messages_in_ten_records_no_failure_on_healthy_Cores()
    {
        var (exit, output, error) = CliHarness.Run("soak", "--cycles", "2", "--format", "json", "--config", CloudFaultTests.LossyConfig(0.3));
        TestContext.Out.WriteLine(error);
        Assert.That(exit, Is.Not.EqualTo(1), "no DUT failure: " + error);
        using var doc = System.Text.Json.JsonDocument.Parse(output);
        var rows = doc.RootElement.GetProperty("rows").EnumerateArray().ToList();
        Assert.That(rows.Where(r => r.GetProperty("verdict").GetString() == "fail"), Is.Empty, output);
        Assert.That(rows.Where(r => r.GetProperty("verdict").GetString() == "rig-fault").Select(r => r.GetProperty("failureMode").GetString()),
            Is.All.EqualTo(FailureModes.CloudError), "only the cloud's faults, as rig faults");
        var cloudFaults = rows.Where(r => r.GetProperty("verdict").GetString() == "rig-fault").ToList();
        Assert.That(cloudFaults, Is.Not.Empty, "the lossy cloud cost at least one OTA, so the run shows what the soak makes of it");
        Assert.That(cloudFaults.Select(r => r.GetProperty("signature").GetString()), Is.All.Contain("the cloud link is at fault"),
            "judged the cloud's only after the Core's OTA region read back clean over DFU");
        Assert.That(rows.Count(r => r.GetProperty("test").GetString() == "ota"), Is.EqualTo(16), "the soak went on through every cycle of every slot");
    }
}
