using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using HilRig.Cli.Serve;

namespace HilRig.Cli.Commands;

/// <summary><c>hilrig sim ...</c>: the simulated rig as a process for outside tools; one subcommand per way of serving it.</summary>
internal static class SimCommand
{
    public static Command Create()
    {
        var sim = new Command("sim", "The simulator: the rig as a process for real tools (serve), production histories (fleet) and populations (export-lots)");
        sim.Subcommands.Add(Serve());
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
        var command = new Command("serve", "Run the simulated rig in real time: its USB bus on a Unix socket for the libusb shim (dfu-util, uhubctl) and a control channel for buttons, power and state");
        command.Options.Add(config);
        command.Options.Add(socket);
        command.Options.Add(control);
        command.Options.Add(envFile);
        command.Options.Add(speed);
        command.Options.Add(seconds);
        command.Options.Add(cloudPort);
        command.Options.Add(cloudToken);
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
            if (!ConfigLoading.TryLoad(pr.GetValue(config)!, error, out var rig)) return ExitCodes.BadInput;

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
            if (usbSocket == controlSocket)
            {
                error.WriteLine($"hilrig: --control {controlSocket}: must differ from the USB socket");
                return ExitCodes.BadInput;
            }

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            // Both signals end the run the same way: servers closed, then the simulation, state saved.
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });

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
                // Serial ptys per slot are served here when they exist.
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
