using HilRig.Composition;
using HilRig.Core.Config;
using HilRig.Sim.Serve;
using HilRig.Sim.Time;

namespace HilRig.Cli.Serve;

public sealed record SimServeOptions
{
    /// <summary>Unix socket the virtual USB bus is served on (the libusb shim's HILRIG_USB_SOCKET).</summary>
    public required string UsbSocket { get; init; }

    /// <summary>Unix socket of the line-based control channel (buttons, power, state).</summary>
    public required string ControlSocket { get; init; }

    /// <summary>Simulated seconds per wall-clock second; 1 = real time.</summary>
    public double Speed { get; init; } = 1.0;

    /// <summary>Where the Cores' flash is kept between runs; null: factory-fresh Cores.</summary>
    public string? StateDirectory { get; init; }
}

/// <summary>
/// The simulated rig as a long-running process: the rig session on a real-time clock, its virtual USB bus served to
/// the libusb shim (so dfu-util and uhubctl see the Cores and hubs), and the control channel. The Cores' serial
/// ports (ptys) and the simulated cloud join here when they exist: each is one more server started in
/// <see cref="Start"/> and disposed, before the session, in <see cref="DisposeAsync"/>.
/// </summary>
public sealed class SimServeHost : IAsyncDisposable
{
    private int _disposed;

    private SimServeHost(RigSession session, UsbSocketServer usb, SimControlServer control)
    {
        Session = session;
        Usb = usb;
        Control = control;
    }

    public RigSession Session { get; }

    public UsbSocketServer Usb { get; }

    public SimControlServer Control { get; }

    public static SimServeHost Start(RigConfig config, SimServeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var session = RigSession.Open(config, new RigSessionOptions
        {
            SimClock = ClockMode.RealTime,
            SimSpeed = options.Speed,
            SimStateDirectory = options.StateDirectory,
        });
        UsbSocketServer? usb = null;
        try
        {
            // Every request from the shim runs on the simulation thread, like the rig's own procedures.
            usb = new UsbSocketServer(session.Usb, options.UsbSocket, work => session.RunAsync(work));
            usb.Start();
            var control = new SimControlServer(session, options.ControlSocket);
            control.Start();
            return new SimServeHost(session, usb, control);
        }
        catch
        {
            if (usb is not null) usb.DisposeAsync().AsTask().GetAwaiter().GetResult();
            session.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        // Servers first: closing a client's open USB handles runs on the simulation thread, which the session stops.
        await Control.DisposeAsync();
        await Usb.DisposeAsync();
        Session.Dispose();
    }
}
