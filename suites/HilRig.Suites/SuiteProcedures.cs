using HilRig.Composition;
using HilRig.Core.Procedures;
using HilRig.Core.Slots;
using HilRig.Fixtures;

namespace HilRig.Suites;

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
