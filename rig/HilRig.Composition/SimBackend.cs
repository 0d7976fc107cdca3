using HilRig.Core.Config;
using HilRig.Sim.Rig;
using HilRig.Sim.Time;

namespace HilRig.Composition;

/// <summary>Simulator-only knobs; a Pi ignores them.</summary>
public sealed record SimBackendOptions
{
    /// <summary>Simulator clock: virtual (default) or real time with a speed factor, for real tools.</summary>
    public ClockMode Clock { get; init; } = ClockMode.Virtual;

    public double Speed { get; init; } = 1.0;

    /// <summary>Where the simulated Cores' flash is kept between sessions; null: factory-fresh Cores every time.</summary>
    public string? StateDirectory { get; init; }
}

/// <summary>The simulator as a backend: its models are the devices.</summary>
internal static class SimBackend
{
    public static RigDevices Open(RigConfig config, SimBackendOptions options)
    {
        var sim = SimRig.Build(config, options.Clock, options.Speed);
        if (options.StateDirectory is { } stateDir) SimRigState.Load(sim, stateDir);
        return Devices(sim, RunFacts.Simulated(config), slot => new SimSlotSerial(sim.Slot(slot.Number).Core), sim.Cloud) with
        {
            Lot = n => sim.Slot(n).Core.Spec.Lot,
            // Stop the clock first so nothing changes the flash while it is saved.
            Stop = sim.Dispose,
            Release = () => { if (options.StateDirectory is { } dir) SimRigState.Save(sim, dir); },
        };
    }

    /// <summary>The simulator's clock and thread, shared by the sim backend and a Pi over simulated devices.</summary>
    internal static RigDevices Devices(SimRig sim, RunFacts facts, Func<SlotConfig, Core.Serial.ISlotSerial> serial, Core.Cloud.ICloud? cloud) => new()
    {
        Time = sim.Time,
        Header = sim.Gpio,
        // The simulated rig has one bus; a sensor's bus number names a Pi bus and means nothing here.
        I2cBus = _ => sim.I2c,
        DescribeI2c = _ => $"simulated {sim.I2c.Name}",
        Usb = sim.Usb,
        Serial = serial,
        Cloud = cloud,
        Facts = facts,
        Run = sim.Scheduler.RunAsync,
        SamplingPacing = sim.Scheduler.Time.Background,
        Simulator = sim,
    };
}
