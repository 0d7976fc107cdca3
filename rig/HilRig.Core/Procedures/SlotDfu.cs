using HilRig.Core.Dfu;
using HilRig.Core.Slots;
using HilRig.Core.Spark;

namespace HilRig.Core.Procedures;

/// <summary>DFU sessions on a slot's Core for the procedures that need one besides the readback.</summary>
internal static class SlotDfu
{
    /// <summary>Into DFU by the buttons (unless already there), the DfuSe session opened and its serial checked against the identified Core.</summary>
    public static async Task<DfuSeSession> OpenAsync(CoreLifeContext context, RigSlot slot, string deviceId, DfuHostOptions? options, CancellationToken ct)
    {
        try
        {
            await Choreography.EnterDfuAsync(slot, context.Bus, context.Time, ct);
        }
        catch (ChoreographyException ex)
        {
            throw new LoopRigFault(FailureModes.NoDfu, ex.Message);
        }
        return await OpenHereAsync(context, slot, deviceId, options, ct);
    }

    /// <summary>Opens the DFU device already at the slot and checks its serial.</summary>
    public static async Task<DfuSeSession> OpenHereAsync(CoreLifeContext context, RigSlot slot, string deviceId, DfuHostOptions? options, CancellationToken ct)
    {
        var session = await Guard(() => DfuSeHost.OpenAsync(context.Bus, slot.UsbPath, context.Time, options, ct));
        var expected = SparkIdentity.DfuSerial(deviceId);
        if (!string.Equals(session.Serial, expected, StringComparison.Ordinal))
        {
            session.Dispose();
            throw new LoopRigFault(FailureModes.WrongDevice,
                $"DFU serial {session.Serial} at {slot.UsbPath} does not belong to device {deviceId} (expected {expected}): check the slot's cabling");
        }
        // seen together: should this Core arrive in DFU later (a bad flash factory-reset), it is still known by its id
        context.Links?.Link(session.Serial, deviceId);
        return session;
    }

    /// <summary>A DFU protocol error or a refused request is the rig's problem here (as in screening), never a verdict on the Core.</summary>
    public static async Task<T> Guard<T>(Func<Task<T>> operation)
    {
        try
        {
            return await operation();
        }
        catch (DfuException ex)
        {
            throw new LoopRigFault(FailureModes.UsbTransport, $"DFU protocol error: {ex.Message}");
        }
        catch (DfuRequestRefusedException ex)
        {
            throw new LoopRigFault(FailureModes.UsbTransport, $"DFU request refused: {ex.Message}");
        }
    }

    public static Task Guard(Func<Task> operation) => Guard(async () =>
    {
        await operation();
        return 0;
    });

    /// <summary>
    /// After a DFU leave: waits until the DFU device has gone from the slot (the reset), then until the Core is where a
    /// booted app would be (listening mode or the cloud), or back in DFU, or <paramref name="timeout"/> passed.
    /// </summary>
    public static async Task<CoreWhereabouts> AfterLeaveAsync(CoreLifeContext context, RigSlot slot, string deviceId, TimeSpan timeout, CancellationToken ct)
    {
        var time = context.Time;
        var start = time.GetTimestamp();
        while (Choreography.FindDfu(context.Bus, slot.UsbPath) is not null && time.GetElapsedTime(start) < timeout)
            await Task.Delay(ChoreographyRunner.UsbPollInterval, time, ct);
        var left = timeout - time.GetElapsedTime(start);
        return await context.WaitAsync(slot, deviceId, left > TimeSpan.Zero ? left : TimeSpan.Zero, ct,
            CoreWhereabouts.Listening, CoreWhereabouts.Connected, CoreWhereabouts.Dfu);
    }

    /// <summary>"N byte(s) differ, first at 0x...", or null when equal.</summary>
    public static string? Difference(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, uint address)
    {
        if (actual.SequenceEqual(expected)) return null;
        var n = Math.Min(expected.Length, actual.Length);
        var differ = Math.Abs(expected.Length - actual.Length);
        var first = -1;
        for (var i = 0; i < n; i++)
        {
            if (expected[i] == actual[i]) continue;
            differ++;
            if (first < 0) first = i;
        }
        if (first < 0) first = n;
        return $"{differ} byte(s) differ, first at 0x{address + (uint)first:X8}";
    }
}
