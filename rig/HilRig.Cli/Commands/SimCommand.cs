using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using HilRig.Cli.Serve;
using HilRig.Sim.Rig;

namespace HilRig.Cli.Commands;

/// <summary><c>hilrig sim ...</c>: the simulated rig as a process for outside tools; one subcommand per way of serving it.</summary>
internal static class SimCommand
{
    public static Command Create()
    {
        var sim = new Command("sim", "The simulator: the rig as a process for real tools (serve), production histories (fleet) and populations (export-lots)");
        sim.Subcommands.Add(RigClaim.Leased(Serve()));
        foreach (var command in SimFleetCommand.Subcommands()) sim.Subcommands.Add(command);
        return sim;
    }

    /// <summary>Where the libusb shim is: copied next to hilrig by the HilRig.Hardware build.</summary>
    public static string ShimDirectory => Path.Combine(AppContext.BaseDirectory, "usbshim");

    private static Command Serve()
    {
        var config = CommonOptions.Config();
        var socket = new Option<string>("--socket") { Description = "Unix socket for the virtual USB bus (default: $XDG_RUNTIME_DIR or /tmp, hilrig-usb.sock)" };
        var control = new Option<string>("--control") { Description = "Unix socket for the control channel (default: next to --socket, hilrig-control.sock)" };
        var envFile = new Option<string>("--env-file") { Description = "file to write HILRIG_USB_SOCKET, HILRIG_CONTROL_SOCKET and LD_LIBRARY_PATH to, for `source` (default: hilrig-sim.env next to the socket)" };
        var speed = new Option<double>("--speed") { Description = "simulated seconds per wall-clock second (1 = real time)", DefaultValueFactory = _ => 1.0 };
        var seconds = new Option<double?>("--seconds") { Description = "stop after this many wall-clock seconds (default: run until SIGINT/SIGTERM)" };
        var cloudPort = new Option<int?>("--cloud-port") { Description = "serve the simulated cloud's REST API on 127.0.0.1:N (0: any free port); HILRIG_CLOUD_URL and HILRIG_CLOUD_TOKEN go to the env file" };
        var cloudToken = new Option<string?>("--cloud-token") { Description = "the access token the served cloud accepts (default: a random one, written to the env file)" };
        var serial = new Option<string>("--serial") { Description = "where each slot's serial pty is linked, {slot} for the slot number (default: next to --socket, hilrig-slot{slot}.tty)" };
        var lineCores = new Option<int?>("--line-cores") { Description = "start the line's operator: feed this many Cores from a seeded population into the slots (they start empty), one slot at a time" };
        var lineLots = new Option<int>("--line-lots") { Description = "chip lots the operator's Cores come from", DefaultValueFactory = _ => 4 };
        var lineBadLots = new Option<int>("--line-bad-lots") { Description = "of them, lots with high defect rates", DefaultValueFactory = _ => 1 };
        var lineSeed = new Option<int?>("--line-seed") { Description = "the population's seed (default: sim.seed)" };
        var lineHandling = new Option<double>("--line-handling") { Description = "seconds of simulated time the operator spends per slot (pull the finished Core, drop the next in)", DefaultValueFactory = _ => 15 };
        var lineDwell = new Option<double?>("--line-dwell") { Description = "pull a Core this many simulated seconds after it went in (default: only on `done N` over the control channel)" };
        var command = new Command("serve", "Run the simulated rig in real time: its USB bus on a Unix socket for the libusb shim (dfu-util, uhubctl) and a control channel for buttons, power and state");
        command.Options.Add(config);
        command.Options.Add(socket);
        command.Options.Add(control);
        command.Options.Add(envFile);
        command.Options.Add(speed);
        command.Options.Add(seconds);
        command.Options.Add(cloudPort);
        command.Options.Add(cloudToken);
        command.Options.Add(serial);
        command.Options.Add(lineCores);
        command.Options.Add(lineLots);
        command.Options.Add(lineBadLots);
        command.Options.Add(lineSeed);
        command.Options.Add(lineHandling);
        command.Options.Add(lineDwell);
        command.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var output = pr.InvocationConfiguration.Output;
            var error = pr.InvocationConfiguration.Error;
            var speedValue = pr.GetValue(speed);
            if (!(speedValue > 0) || double.IsInfinity(speedValue))
            {
                error.WriteLine($"hilrig: --speed {speedValue.ToString(CultureInfo.InvariantCulture)}: must be a positive number (1 = real time)");
                return ExitCodes.BadInput;
            }
            var secondsValue = pr.GetValue(seconds);
            if (secondsValue is { } s && !(s > 0))
            {
                error.WriteLine($"hilrig: --seconds {s.ToString(CultureInfo.InvariantCulture)}: must be a positive number of seconds");
                return ExitCodes.BadInput;
            }
            var cloudPortValue = pr.GetValue(cloudPort);
            if (cloudPortValue is { } cp && cp is < 0 or > 65535)
            {
                error.WriteLine($"hilrig: --cloud-port {cp.ToString(CultureInfo.InvariantCulture)}: valid: a TCP port 1-65535, or 0 for any free port");
                return ExitCodes.BadInput;
            }
            var cloudTokenValue = pr.GetValue(cloudToken);
            if (cloudTokenValue is not null && (cloudTokenValue.Length == 0 || cloudTokenValue.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))))
            {
                error.WriteLine("hilrig: --cloud-token: must be a non-empty token without spaces (it goes in an Authorization: Bearer header)");
                return ExitCodes.BadInput;
            }
            if (cloudTokenValue is not null && cloudPortValue is null)
            {
                error.WriteLine("hilrig: --cloud-token: only with --cloud-port N (the cloud is served only then)");
                return ExitCodes.BadInput;
            }
            var lineError = ReadLine(pr, lineCores, lineLots, lineBadLots, lineSeed, lineHandling, lineDwell, out var lineSpec);
            if (lineError is not null)
            {
                error.WriteLine("hilrig: " + lineError);
                return ExitCodes.BadInput;
            }
            if (!ConfigLoading.TryLoad(pr.GetValue(config)!, error, out var rig)) return ExitCodes.BadInput;
            if (lineSpec is not null && pr.GetValue(lineSeed) is null) lineSpec = lineSpec with { Seed = rig.Sim.Seed };

            var folder = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") is { Length: > 0 } xdg && Directory.Exists(xdg) ? xdg : Path.GetTempPath();
            var usbSocket = Path.GetFullPath(pr.GetValue(socket) ?? Path.Combine(folder, "hilrig-usb.sock"));
            var controlSocket = Path.GetFullPath(pr.GetValue(control) ?? Path.Combine(Path.GetDirectoryName(usbSocket)!, "hilrig-control.sock"));
            var envPath = Path.GetFullPath(pr.GetValue(envFile) ?? Path.Combine(Path.GetDirectoryName(usbSocket)!, "hilrig-sim.env"));
            foreach (var (name, path) in new[] { ("--socket", usbSocket), ("--control", controlSocket) })
            {
                if (System.Text.Encoding.UTF8.GetByteCount(path) > 107)
                {
                    error.WriteLine($"hilrig: {name} {path}: a Unix socket path holds at most 107 bytes; choose a shorter path (e.g. under /tmp)");
                    return ExitCodes.BadInput;
                }
                if (Path.GetDirectoryName(path) is { } dir && !Directory.Exists(dir))
                {
                    error.WriteLine($"hilrig: {name} {path}: folder {dir} does not exist");
                    return ExitCodes.BadInput;
                }
            }
            var serialLinks = Path.GetFullPath(pr.GetValue(serial) ?? Path.Combine(Path.GetDirectoryName(usbSocket)!, "hilrig-slot{slot}.tty"));
            if (!serialLinks.Contains("{slot}", StringComparison.Ordinal))
            {
                error.WriteLine($"hilrig: --serial {serialLinks}: must contain {{slot}} (one pty link per slot), e.g. /tmp/hilrig-slot{{slot}}.tty");
                return ExitCodes.BadInput;
            }
            if (Path.GetDirectoryName(serialLinks) is { } serialDir && !Directory.Exists(serialDir))
            {
                error.WriteLine($"hilrig: --serial {serialLinks}: folder {serialDir} does not exist");
                return ExitCodes.BadInput;
            }
            if (usbSocket == controlSocket)
            {
                error.WriteLine($"hilrig: --control {controlSocket}: must differ from the USB socket");
                return ExitCodes.BadInput;
            }

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            // Both signals end the run the same way: servers closed, then the simulation, state saved.
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });

            // the served rig is every slot, for as long as it serves
            var leased = RigOpening.TryLease(rig, error, RigClaim.WholeRig(pr), out var lease, out _);
            if (lease is null) return leased;
            using var held = lease;
            SimServeHost host;
            try
            {
                host = SimServeHost.Start(rig, new SimServeOptions
                {
                    UsbSocket = usbSocket,
                    ControlSocket = controlSocket,
                    Speed = speedValue,
                    StateDirectory = RigOpening.PersistentSim(rig).Simulator.StateDirectory,
                    CloudPort = cloudPortValue,
                    CloudToken = cloudTokenValue,
                    SerialLinks = OperatingSystem.IsLinux() ? serialLinks : null,
                    Line = lineSpec,
                });
            }
            catch (Composition.BackendUnavailableException ex)
            {
                error.WriteLine($"hilrig: {ex.Message}");
                return ExitCodes.BadInput;
            }
            catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException or UnauthorizedAccessException)
            {
                var where = cloudPortValue is { } p ? $"{usbSocket} / {controlSocket} / 127.0.0.1:{p.ToString(CultureInfo.InvariantCulture)}" : $"{usbSocket} / {controlSocket}";
                error.WriteLine($"hilrig: cannot serve on {where}: {ex.Message}");
                return ExitCodes.RigFault;
            }

            await using (host)
            {
                List<string> env =
                [
                    $"HILRIG_USB_SOCKET={usbSocket}",
                    $"HILRIG_CONTROL_SOCKET={controlSocket}",
                    $"LD_LIBRARY_PATH={ShimDirectory}",
                    "export HILRIG_USB_SOCKET HILRIG_CONTROL_SOCKET LD_LIBRARY_PATH",
                ];
                if (host.Cloud is { } served)
                {
                    env.Add($"{Core.Config.CloudSettings.UrlVariable}={served.Url}");
                    env.Add($"{Core.Config.CloudSettings.TokenVariable}={host.CloudToken}");
                    env.Add($"export {Core.Config.CloudSettings.UrlVariable} {Core.Config.CloudSettings.TokenVariable}");
                }
                // owner-only: it may carry the cloud's token
                WriteOwnerOnly(envPath, string.Join('\n', env) + "\n");
                output.WriteLine($"hilrig sim serve: {rig.Slots.Count} slots of {rig.RigId}, speed x{speedValue.ToString(CultureInfo.InvariantCulture)}");
                output.WriteLine($"usb socket:     {usbSocket}");
                output.WriteLine($"control socket: {controlSocket}");
                if (host.Cloud is { } cloudServer) output.WriteLine($"cloud:          {cloudServer.Url}   (Particle REST API; token in the env file)");
                output.WriteLine($"env file:       {envPath}   (source it, then run dfu-util / uhubctl -S)");
                if (host.Serial is { } ptys)
                    output.WriteLine($"serial ptys:    {serialLinks}   ({string.Join(", ", ptys.Devices.Select(d => $"{d.Key}={d.Value}"))})");
                if (host.Line is { } op) output.WriteLine($"line operator:  {op.Describe()}");
                output.WriteLine(secondsValue is { } limit ? $"serving for {limit.ToString(CultureInfo.InvariantCulture)} s" : "serving until SIGINT/SIGTERM");
                output.Flush();
                try
                {
                    if (secondsValue is { } limit2) await Task.Delay(TimeSpan.FromSeconds(limit2), TimeProvider.System, stop.Token);
                    else await Task.Delay(Timeout.InfiniteTimeSpan, TimeProvider.System, stop.Token);
                }
                catch (OperationCanceledException)
                {
                    // SIGINT / SIGTERM
                }
            }
            TryDelete(envPath);
            output.WriteLine("hilrig sim serve: stopped");
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The operator's options from --line-*; null spec without --line-cores. Returns a one-line error or null.</summary>
    private static string? ReadLine(ParseResult pr, Option<int?> cores, Option<int> lots, Option<int> badLots, Option<int?> seed,
        Option<double> handling, Option<double?> dwell, out LineOperatorOptions? spec)
    {
        spec = null;
        var inv = CultureInfo.InvariantCulture;
        if (pr.GetValue(cores) is not { } n)
        {
            foreach (var o in new Option[] { lots, badLots, seed, handling, dwell })
                if (pr.GetResult(o) is { Implicit: false }) return $"{o.Name}: only with --line-cores N (the operator runs only then)";
            return null;
        }
        if (n < 1) return $"--line-cores {n.ToString(inv)}: must be at least 1";
        var l = pr.GetValue(lots);
        if (l < 1) return $"--line-lots {l.ToString(inv)}: must be at least 1";
        var b = pr.GetValue(badLots);
        if (b < 0 || b > l) return $"--line-bad-lots {b.ToString(inv)}: must be 0-{l.ToString(inv)} (at most --line-lots)";
        var h = pr.GetValue(handling);
        if (!(h >= 0) || double.IsInfinity(h)) return $"--line-handling {h.ToString(inv)}: must be a number of seconds >= 0";
        var d = pr.GetValue(dwell);
        if (d is { } dv && (!(dv > 0) || double.IsInfinity(dv))) return $"--line-dwell {dv.ToString(inv)}: must be a positive number of seconds";
        spec = new LineOperatorOptions(n, l, b, pr.GetValue(seed) ?? 0, TimeSpan.FromSeconds(h), d is { } x ? TimeSpan.FromSeconds(x) : null);
        return null;
    }

    private static void WriteOwnerOnly(string path, string text)
    {
        var temp = path + ".partial";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var file = new FileStream(temp, options))
            file.Write(System.Text.Encoding.UTF8.GetBytes(text));
        File.Move(temp, path, overwrite: true);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // a stale env file names sockets that no longer exist; harmless
        }
    }
}
