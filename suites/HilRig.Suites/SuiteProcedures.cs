using System.Globalization;
using HilRig.Composition;
using HilRig.Core.Procedures;
using HilRig.Core.Slots;
using HilRig.Fixtures;

namespace HilRig.Suites;

/// <summary>
/// Screening as shipped: the DFU readback, then the Core must leave DFU and boot its (restored) application,
/// because a Core left in DFU does not go out ship-ready.
/// </summary>
public sealed class ShipReadyScreening : ISlotProcedure
{
    public static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(3);

    private readonly ScreeningProcedure _screening = new("screening");

    public string Test => "screening";

    public async Task<SlotReport> RunAsync(RigSession session, RigSlot slot, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(slot);
        var report = await _screening.RunAsync(session, slot, ct);
        if (report.Verdict != Verdict.Pass) return report;
        var start = session.Time.GetTimestamp();
        while (Choreography.FindDfu(session.Usb, slot.UsbPath) is not null)
        {
            if (session.Time.GetElapsedTime(start) > BootTimeout)
                return report with
                {
                    Verdict = Verdict.Fail,
                    FailureMode = FailureModes.StuckInDfu,
                    Signature = string.Create(CultureInfo.InvariantCulture, $"still in DFU {BootTimeout.TotalSeconds:0} s after DFU leave: the Core did not boot its application"),
                };
            await Task.Delay(TimeSpan.FromMilliseconds(100), session.Time, ct);
        }
        var booted = session.Time.GetElapsedTime(start);
        return report with
        {
            DeviceTime = report.DeviceTime + booted,
            Steps = [.. report.Steps, new ProcedureStep("boot application", report.DeviceTime, report.DeviceTime + booted)],
        };
    }
}

/// <summary>Repeats a procedure on one slot: the first cycle that does not pass ends the soak with its verdict.</summary>
public sealed class SoakProcedure(ISlotProcedure cycle, int cycles) : ISlotProcedure
{
    public string Test => "soak";

    public async Task<SlotReport> RunAsync(RigSession session, RigSlot slot, CancellationToken ct)
    {
        var steps = new List<ProcedureStep>();
        var elapsed = TimeSpan.Zero;
        SlotReport? last = null;
        for (var n = 1; n <= cycles; n++)
        {
            last = await cycle.RunAsync(session, slot, ct);
            steps.Add(new ProcedureStep($"cycle {n}: {last.Verdict.ToName()}", elapsed, elapsed + last.DeviceTime));
            elapsed += last.DeviceTime;
            if (last.Verdict != Verdict.Pass)
                return last with { Test = Test, Steps = steps, DeviceTime = elapsed, Signature = $"cycle {n} of {cycles}: {last.Signature}" };
        }
        return last! with { Test = Test, Steps = steps, DeviceTime = elapsed, Signature = $"{cycles} of {cycles} cycles passed" };
    }
}
