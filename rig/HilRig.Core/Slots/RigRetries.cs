namespace HilRig.Core.Slots;

/// <summary>
/// One transient fault of the rig that a driver or procedure noticed: retried (<see cref="GaveUp"/> false), or the last
/// one, after which it gave up and the step became a rig fault. <see cref="Kind"/> names what the rig saw: usb-stall,
/// usb-timeout, usb-disconnect, i2c-nack, button-dead, cloud-5xx, cloud-transfer.
/// </summary>
public sealed record RigRetry(string Kind, int? Slot, DateTimeOffset At, string What, bool GaveUp = false)
{
    public override string ToString() => $"{Kind}{(GaveUp ? " (gave up)" : " (retried)")}: {What}";
}

/// <summary>
/// Where the rig's drivers (DFU host, I2C, button and relay lines, cloud client) record the transient faults they
/// retry. A procedure on a slot opens a scope (<see cref="Begin"/>); what is recorded inside it, across awaits, is the
/// slot's, and the procedure takes it into the row it stores (<see cref="RigRetryScope.Drain"/>). Outside a scope a
/// record is dropped: there is no row to carry it.
/// </summary>
public static class RigRetries
{
    private static readonly AsyncLocal<RigRetryScope?> Current = new();

    /// <summary>Starts recording for <paramref name="slot"/> in this async flow; dispose to stop.</summary>
    public static RigRetryScope Begin(int slot, TimeProvider time)
    {
        var scope = new RigRetryScope(slot, time, Current.Value);
        Current.Value = scope;
        return scope;
    }

    /// <summary>The scope this flow records into, if any.</summary>
    public static RigRetryScope? Scope => Current.Value;

    public static void Record(string kind, string what, bool gaveUp = false) => Current.Value?.Add(kind, what, gaveUp);

    internal static void End(RigRetryScope scope, RigRetryScope? outer)
    {
        if (ReferenceEquals(Current.Value, scope)) Current.Value = outer;
    }
}

/// <summary>One slot's retry records, in the order they happened.</summary>
public sealed class RigRetryScope : IDisposable
{
    private readonly TimeProvider _time;
    private readonly RigRetryScope? _outer;
    private readonly List<RigRetry> _all = [];
    private readonly List<RigRetry> _pending = [];
    private readonly Lock _gate = new();

    internal RigRetryScope(int slot, TimeProvider time, RigRetryScope? outer)
    {
        Slot = slot;
        _time = time;
        _outer = outer;
    }

    public int Slot { get; }

    /// <summary>Everything recorded in this scope.</summary>
    public IReadOnlyList<RigRetry> All
    {
        get
        {
            lock (_gate) return [.. _all];
        }
    }

    internal void Add(string kind, string what, bool gaveUp)
    {
        var retry = new RigRetry(kind, Slot, _time.GetUtcNow(), what, gaveUp);
        lock (_gate)
        {
            _all.Add(retry);
            _pending.Add(retry);
        }
    }

    /// <summary>What was recorded since the last drain (for the row a step stores).</summary>
    public IReadOnlyList<RigRetry> Drain()
    {
        lock (_gate)
        {
            var taken = _pending.ToList();
            _pending.Clear();
            return taken;
        }
    }

    public void Dispose() => RigRetries.End(this, _outer);
}
