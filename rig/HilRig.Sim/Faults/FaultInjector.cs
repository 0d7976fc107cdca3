using HilRig.Core.Config;

namespace HilRig.Sim.Faults;

/// <summary>The faults the simulator injects on purpose (<c>sim.faults</c>), by the boundary they hit.</summary>
public enum FaultKind
{
    UsbStall,
    UsbTimeout,
    UsbDisconnect,
    I2cNack,
    ButtonDead,
    Cloud5xx,
    CloudDrop,
    CloudSlow,

    /// <summary>A slot's power relay contact sticks where it was on one switch (the next switch may move it).</summary>
    RelayStuck,

    /// <summary>A worn slot's pogo pins or cable lose contact during a DFU transfer, for longer than the host waits for the Core.</summary>
    WornContact,

    /// <summary>The supply sags during a DFU transfer: the Core resets, drops off the bus and boots its app (not DFU).</summary>
    BrownOut,

    /// <summary>A read of a colour sensor's chip id answers another id (a glitch on the sensor's cable or mux channel).</summary>
    SensorId,
}

public static class FaultKinds
{
    /// <summary>The name a fault has in the ledger, and in the rig's retry records for the faults the rig can tell apart.</summary>
    public static string Name(this FaultKind kind) => kind switch
    {
        FaultKind.UsbStall => "usb-stall",
        FaultKind.UsbTimeout => "usb-timeout",
        FaultKind.UsbDisconnect => "usb-disconnect",
        FaultKind.I2cNack => "i2c-nack",
        FaultKind.ButtonDead => "button-dead",
        FaultKind.Cloud5xx => "cloud-5xx",
        FaultKind.CloudDrop => "cloud-drop",
        FaultKind.RelayStuck => "relay-stuck",
        FaultKind.WornContact => "worn-contact",
        FaultKind.BrownOut => "brown-out",
        FaultKind.SensorId => "sensor-id",
        _ => "cloud-slow",
    };

    /// <summary>
    /// What the rig can see of it: a dropped connection and a stalled chunk stream both reach the rig as a transfer the
    /// cloud failed with the Core back on its old app (`cloud-transfer`); a worn slot's lost contact is a Core that left the
    /// bus mid-transfer (`usb-disconnect`, given up on: it is not back in time); every other kind the rig sees as itself.
    /// </summary>
    public static string RigKind(this FaultKind kind) => kind switch
    {
        FaultKind.CloudDrop or FaultKind.CloudSlow => "cloud-transfer",
        FaultKind.WornContact or FaultKind.BrownOut => "usb-disconnect",
        _ => kind.Name(),
    };

    public static double Rate(this SimFaultSettings settings, FaultKind kind) => kind switch
    {
        FaultKind.UsbStall => settings.UsbStall,
        FaultKind.UsbTimeout => settings.UsbTimeout,
        FaultKind.UsbDisconnect => settings.UsbDisconnect,
        FaultKind.I2cNack => settings.I2cNack,
        FaultKind.ButtonDead => settings.ButtonDead,
        FaultKind.Cloud5xx => settings.Cloud5xx,
        FaultKind.CloudDrop => settings.CloudDrop,
        FaultKind.RelayStuck => settings.RelayStuck,
        FaultKind.WornContact => settings.WornContact,
        FaultKind.BrownOut => settings.BrownOut,
        FaultKind.SensorId => settings.SensorId,
        _ => settings.CloudSlow,
    };
}

/// <summary>One fault the simulator injected: what, on which slot (null: a chip the slots share), when, on what operation.</summary>
public sealed record InjectedFault(FaultKind Kind, int? Slot, DateTimeOffset At, string Operation)
{
    public string Name => Kind.Name();

    public string RigKind => Kind.RigKind();

    public override string ToString() => $"{At:HH:mm:ss.fff} {Name} slot {Slot?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"}: {Operation}";
}

/// <summary>
/// Decides, operation by operation, whether a boundary of the simulator fails on purpose, and keeps the ledger of every
/// fault it injected. One random stream per fault kind and slot, drawn from the sim seed: the same seed places the same
/// faults, and one slot's traffic does not move another slot's faults. Called on the simulation thread (the ledger is
/// also safe to read from another thread).
/// </summary>
public sealed class FaultInjector
{
    private readonly TimeProvider _time;
    private readonly int _seed;
    private readonly Dictionary<(FaultKind, int), Random> _streams = [];
    private readonly List<InjectedFault> _ledger = [];
    private readonly Lock _gate = new();

    public FaultInjector(SimFaultSettings settings, int seed, TimeProvider time)
    {
        Settings = settings;
        _seed = seed;
        _time = time;
    }

    public SimFaultSettings Settings { get; }

    /// <summary>When false nothing is injected (a rig opening and calibrating; the rig session arms it once open); the ledger keeps what was.</summary>
    public bool Armed { get; set; }

    /// <summary>Every fault injected so far, in order.</summary>
    public IReadOnlyList<InjectedFault> Ledger
    {
        get
        {
            lock (_gate) return [.. _ledger];
        }
    }

    /// <summary>Rolls the dice for one operation; true (and a ledger entry) when it is to fail.</summary>
    /// <summary>Whether <see cref="Inject"/> can inject <paramref name="kind"/> at all: a hot path asks before it names its operation.</summary>
    public bool MayInject(FaultKind kind) => Armed && Settings.Rate(kind) > 0;

    public bool Inject(FaultKind kind, int? slot, string operation)
    {
        var rate = Settings.Rate(kind);
        if (rate <= 0 || !Armed) return false;
        var key = (kind, slot ?? 0);
        if (!_streams.TryGetValue(key, out var random))
            _streams[key] = random = new Random(unchecked(_seed * 486_187_739 + ((int)kind + 1) * 7_919 + (slot ?? 0) * 104_729));
        if (random.NextDouble() >= rate) return false;
        lock (_gate) _ledger.Add(new InjectedFault(kind, slot, _time.GetUtcNow(), operation));
        return true;
    }
}
