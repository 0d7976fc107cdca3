using HilRig.Composition;
using HilRig.Core.Config;
using HilRig.Sim.Rig;
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

    /// <summary>TCP port on 127.0.0.1 for the simulated cloud's REST API (0: any free port); null: the cloud is not served.</summary>
    public int? CloudPort { get; init; }

    /// <summary>The access token the served cloud accepts; null: a random one (see <see cref="SimServeHost.CloudToken"/>).</summary>
    public string? CloudToken { get; init; }

    /// <summary>Where each slot's serial pty is linked, "{slot}" standing for the slot number (e.g. /tmp/hilrig-slot{slot}.tty); null: no ptys.</summary>
    public string? SerialLinks { get; init; }

    /// <summary>The line's operator (feeds slots from a population of Cores); null: Cores change only by control commands.</summary>
    public LineOperatorOptions? Line { get; init; }
}

/// <summary>
/// The simulated rig as a long-running process: the rig session on a real-time clock, its virtual USB bus served to
/// the libusb shim (so dfu-util and uhubctl see the Cores and hubs), the control channel, and (with a cloud port)
/// the simulated cloud's REST API on 127.0.0.1, the Cores' serial ports as one pty per slot, and the line's operator.
/// Each server is started in <see cref="Start"/> and disposed, before the session, in <see cref="DisposeAsync"/>.
/// </summary>
public sealed class SimServeHost : IAsyncDisposable
{
    private int _disposed;

    private readonly CancellationTokenSource _lineStop = new();

    private string? _stateDirectory;

    private SimServeHost(RigSession session, UsbSocketServer usb, SimControlServer control, SimCloudHttpServer? cloud, string? cloudToken,
        SerialPtyServer? serial, SimLineOperator? line)
    {
        Session = session;
        Usb = usb;
        Control = control;
        Cloud = cloud;
        CloudToken = cloudToken;
        Serial = serial;
        Line = line;
    }

    /// <summary>The slots' serial ptys; null when not served.</summary>
    public SerialPtyServer? Serial { get; }

    /// <summary>The line's operator; null when there is none.</summary>
    public SimLineOperator? Line { get; }

    /// <summary>The simulated cloud's REST API (its <see cref="SimCloudHttpServer.Url"/> is HILRIG_CLOUD_URL); null when not served.</summary>
    public SimCloudHttpServer? Cloud { get; }

    /// <summary>The token the served cloud accepts (HILRIG_CLOUD_TOKEN); null when not served.</summary>
    public string? CloudToken { get; }

    public RigSession Session { get; }

    public UsbSocketServer Usb { get; }

    public SimControlServer Control { get; }

    public static SimServeHost Start(RigConfig config, SimServeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var session = RigSession.Open(config, new RigSessionOptions
        {
            Simulator = new SimBackendOptions { Clock = ClockMode.RealTime, Speed = options.Speed, StateDirectory = options.StateDirectory },
        });
        UsbSocketServer? usb = null;
        SimControlServer? control = null;
        SimCloudHttpServer? cloud = null;
        SerialPtyServer? serial = null;
        try
        {
            // Every request from the shim runs on the simulation thread, like the rig's own procedures.
            usb = new UsbSocketServer(session.Usb, options.UsbSocket, work => session.RunAsync(work));
            usb.Start();
            var line = options.Line is { } lineOptions ? new SimLineOperator(session.Sim!, lineOptions) : null;
            // the line goes on as the last process left it: its Cores in their slots, the next Core of the population, its queue
            if (line is not null && options.StateDirectory is { } state) line.Resume(state, keepQueue: true);
            control = new SimControlServer(session, options.ControlSocket, line);
            control.Start();
            if (options.SerialLinks is { } links) serial = SerialPtyServer.Start(session.Sim!, links);
            string? token = null;
            if (options.CloudPort is { } port)
            {
                token = options.CloudToken ?? NewToken();
                // called from the CLI's thread, never the simulation thread, so waiting here blocks nothing simulated
                cloud = SimCloudHttpServer.StartAsync(session.Sim!.Cloud, session.Sim.Scheduler, token, port).GetAwaiter().GetResult();
            }
            var host = new SimServeHost(session, usb, control, cloud, token, serial, line) { _stateDirectory = options.StateDirectory };
            // the operator works on the simulation thread for the host's life
            if (line is not null) _ = session.RunAsync(() => { _ = line.RunAsync(host._lineStop.Token); return Task.CompletedTask; });
            return host;
        }
        catch
        {
            serial?.Dispose();
            if (control is not null) control.DisposeAsync().AsTask().GetAwaiter().GetResult();
            if (usb is not null) usb.DisposeAsync().AsTask().GetAwaiter().GetResult();
            session.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        // Servers first: closing a client's open USB handles runs on the simulation thread, which the session stops.
        await _lineStop.CancelAsync();
        if (Line is { } line && _stateDirectory is { } state)
            await Session.RunAsync(() => { line.Save(state); return Task.CompletedTask; });
        if (Cloud is not null) await Cloud.DisposeAsync();
        Serial?.Dispose();
        await Control.DisposeAsync();
        await Usb.DisposeAsync();
        Session.Dispose();
        _lineStop.Dispose();
    }

    /// <summary>40 hex digits, the shape of a Particle access token.</summary>
    private static string NewToken() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(20));
}
