using System.Text.RegularExpressions;
using HilRig.Core.Procedures;
using HilRig.Fixtures;
using NUnit.Framework.Interfaces;
using NUnit.Framework.Internal;

namespace HilRig.Tests.Suites;

/// <summary>How an NUnit outcome and a procedure's verdict become an Allure status and a failure message.</summary>
public class OutcomeMappingTests
{
    public static void SampleMethod() { }

    private static string StatusOf(ResultState state, string message = "m")
    {
        var method = new TestMethod(new MethodWrapper(typeof(OutcomeMappingTests), nameof(SampleMethod)));
        var result = method.MakeTestResult();
        result.SetResult(state, message);
        return TestOutcome.FromContext(new TestContext.ResultAdapter(result)).AllureStatus;
    }

    [Test]
    public void A_failed_check_is_failed_and_an_exception_or_failed_set_up_is_broken()
    {
        Assert.Multiple(() =>
        {
            Assert.That(StatusOf(ResultState.Success), Is.EqualTo("passed"));
            Assert.That(StatusOf(ResultState.Failure), Is.EqualTo("failed"));
            Assert.That(StatusOf(ResultState.Error), Is.EqualTo("broken"), "a rig fault is thrown, so NUnit reports an error");
            Assert.That(StatusOf(ResultState.SetUpFailure), Is.EqualTo("broken"));
            Assert.That(StatusOf(ResultState.Cancelled), Is.EqualTo("broken"));
            Assert.That(StatusOf(ResultState.Ignored), Is.EqualTo("skipped"));
            Assert.That(StatusOf(ResultState.Inconclusive), Is.EqualTo("skipped"));
        });
    }

    private static SlotReport Report(Verdict verdict, string? mode, string signature) =>
        new(4, "55ff00000000000000000004", "SST25-1348A", "dfu-readback", verdict, mode, signature, TimeSpan.FromSeconds(3),
            [new ProcedureStep("enter DFU", TimeSpan.Zero, TimeSpan.FromSeconds(3))]);

    [Test]
    public void A_rig_fault_is_thrown_as_an_error_and_a_DUT_failure_fails_the_assertion()
    {
        var rigFault = Assert.Throws<RigFaultException>(() => RigRun.Judge(Report(Verdict.RigFault, FailureModes.NoDfu, "no DFU device appeared at 1-1.4")))!;
        Assert.That(rigFault.Message, Does.StartWith("rig fault (no-dfu): no DFU device appeared at 1-1.4"));
        Assert.That(rigFault.Message, Does.Contain("slot 4, device 55ff00000000000000000004, lot SST25-1348A"));

        var dut = Assert.Throws<AssertionException>(() => RigRun.Judge(Report(Verdict.Fail, FailureModes.BadExternalFlash, "12 bit error(s)")))!;
        Assert.That(dut.Message, Does.StartWith("DUT failure (bad-external-flash): 12 bit error(s)"));
        Assert.That(dut.Message, Does.Contain("bit-error map: none"), "a failure without a readback says so");

        Assert.DoesNotThrow(() => RigRun.Judge(Report(Verdict.Pass, null, "no bit errors")));
    }

    [Test]
    public void Allure_categories_tell_rig_faults_from_DUT_failures_by_the_message()
    {
        // Allure 2 matches messageRegex against the whole message; NUnit prefixes an error with the exception type.
        var rigFaultMessage = "HilRig.Fixtures.RigFaultException : " + FailureText.For(Report(Verdict.RigFault, FailureModes.UsbTransport, "USB failed"));
        var dutMessage = FailureText.For(Report(Verdict.Fail, FailureModes.BadExternalFlash, "12 bit error(s)"));
        const string rigRegex = "(?s).*" + FailureText.RigFaultPrefix + ".*";
        const string dutRegex = "(?s)" + FailureText.DutFailurePrefix + ".*";
        Assert.That(Regex.IsMatch(rigFaultMessage, $"^(?:{rigRegex})$"), Is.True);
        Assert.That(Regex.IsMatch(dutMessage, $"^(?:{dutRegex})$"), Is.True);
        Assert.That(Regex.IsMatch(dutMessage, $"^(?:{rigRegex})$"), Is.False, "a DUT failure is never filed as a rig fault");
    }
}
