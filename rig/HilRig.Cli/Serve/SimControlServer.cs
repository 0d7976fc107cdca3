using HilRig.Sim.Serve;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using HilRig.Composition;
using HilRig.Core.Slots;
using HilRig.Core.Config;
using HilRig.Core.Spark;
using HilRig.Sim.Device;
using HilRig.Sim.Rig;

namespace HilRig.Cli.Serve;

/// <summary>
/// The control channel of `hilrig sim serve`: a Unix socket with one command per line and one reply line per
/// command, <c>ok ...</c> or <c>error ...</c> (README, "Simulator as a process"). Buttons and power go through the
/// slot's control lines, exactly as the rig's procedures drive them; every command runs on the simulation thread.
/// </summary>
public sealed class SimControlServer(RigSession session, string socketPath, SimLineOperator? lineOperator = null) : IAsyncDisposable
{
    public const string Help =
        "commands: power N on|off|cycle; mode N press|release; reset N press|release|pulse; dfu N; state N; slots; " +
        "insert N [deviceId] [lot] [flash]; remove N; done N; line; help";

    /// <summary>How long `power N cycle` keeps the slot off (simulated time).</summary>
    public static readonly TimeSpan PowerCycleOff = TimeSpan.FromSeconds(1);

    private UnixSocketListener? _server;

    public string SocketPath { get; } = socketPath;

    public void Start()
    {
        _server = UnixSocketListener.Start(SocketPath, 8, ServeClientAsync);
    }

    private async Task ServeClientAsync(Socket socket, CancellationToken ct)
    {
        await using var stream = new NetworkStream(socket, ownsSocket: true);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        await using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { NewLine = "\n", AutoFlush = true };
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var line = await reader.ReadLineAsync(ct);
                if (line is null) return;
                if (string.IsNullOrWhiteSpace(line)) continue;
                await writer.WriteLineAsync(await ExecuteAsync(line, ct));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // the client went away or the server is stopping
        }
    }

    /// <summary>Runs one command line and returns its reply line.</summary>
    public async Task<string> ExecuteAsync(string line, CancellationToken ct = default)
    {
        var words = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0) return "error empty command; " + Help;
        var verb = words[0].ToLowerInvariant();
        try
        {
            return verb switch
            {
                "help" => "ok " + Help,
                "slots" => "ok " + string.Join(' ', session.Slots.Select(s => $"{s.Number}={s.UsbPath}")),
                "power" => await OnSlotAsync(words, ["on", "off", "cycle"], PowerAsync, ct),
                "mode" => await OnSlotAsync(words, ["press", "release"], ModeAsync, ct),
                "reset" => await OnSlotAsync(words, ["press", "release", "pulse"], ResetAsync, ct),
                "dfu" => await OnSlotAsync(words, null, DfuAsync, ct),
                "state" => await OnSlotAsync(words, null, StateAsync, ct),
                "insert" => await InsertAsync(words),
                "remove" => await OnSlotAsync(words, null, RemoveAsync, ct),
                "done" => await OnSlotAsync(words, null, DoneAsync, ct),
                "line" => words.Length == 1
                    ? lineOperator is null ? "error no operator on this line (sim serve --line-cores N starts one)" : "ok " + await session.RunAsync(() => Task.FromResult(lineOperator.Describe()))
                    : "error usage: line",
                _ => $"error unknown command '{words[0]}'; {Help}",
            };
        }
        catch (ChoreographyException ex)
        {
            return "error " + ex.Message;
        }
        catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException)
        {
            return $"error the simulation failed or is stopping: {ex.Message}";
        }
    }

    private async Task<string> OnSlotAsync(string[] words, string[]? actions, Func<RigSlot, string?, CancellationToken, Task<string>> work, CancellationToken ct)
    {
        var usage = actions is null ? $"{words[0]} N" : $"{words[0]} N {string.Join('|', actions)}";
        var expected = actions is null ? 2 : 3;
        if (words.Length != expected) return $"error usage: {usage}";
        if (!int.TryParse(words[1], NumberStyles.None, CultureInfo.InvariantCulture, out var number) || session.Slots.All(s => s.Number != number))
            return $"error slot '{words[1]}' is not on this rig; valid: {string.Join(",", session.Slots.Select(s => s.Number))}";
        var action = actions is null ? null : words[2].ToLowerInvariant();
        if (action is not null && !actions!.Contains(action)) return $"error '{words[2]}' is not valid here; usage: {usage}";
        var slot = session.Slot(number);
        return await session.RunAsync(() => work(slot, action, ct));
    }

    /// <summary>insert N [deviceId] [lot] [flash]: a Core dropped into empty slot N (a pulled device id comes back as it was).</summary>
    private async Task<string> InsertAsync(string[] words)
    {
        const string usage = "usage: insert N [deviceId] [lot] [flash], flash as in sim.cores (healthy, stuckBits: 12, ...)";
        if (words.Length < 2) return "error " + usage;
        if (!int.TryParse(words[1], NumberStyles.None, CultureInfo.InvariantCulture, out var number) || session.Slots.All(s => s.Number != number))
            return $"error slot '{words[1]}' is not on this rig; valid: {string.Join(",", session.Slots.Select(s => s.Number))}";
        var rest = words.Skip(2).ToList();
        string? deviceId = null;
        if (rest.Count > 0 && SparkIdentity.Validate(rest[0]) is null)
        {
            deviceId = rest[0].ToLowerInvariant();
            rest.RemoveAt(0);
        }
        string? lot = null;
        if (rest.Count > 0 && !IsFlashWord(rest[0]))
        {
            lot = rest[0];
            rest.RemoveAt(0);
        }
        if (!FlashWords.TryParse(string.Join(' ', rest), out var flash, out var flashError)) return "error " + flashError;
        var sim = session.Sim!;
        return await session.RunAsync(() =>
        {
            var slot = sim.Slot(number);
            if (slot.Occupied) return Task.FromResult($"error slot {number} holds Core {slot.Core.DeviceId}; remove {number} first");
            var id = deviceId ?? sim.NewDeviceId();
            var shelved = sim.Shelved(id);
            var core = sim.Insert(number, id, lot ?? shelved?.Spec.Lot ?? SimDefaults.UnlistedLot, flash);
            return Task.FromResult($"ok slot {number} holds {core.DeviceId} lot={core.Spec.Lot} flash={FlashWords.Describe(core.Spec.Flash)}{(shelved is null ? "" : " (put back)")}");
        });
    }

    private static bool IsFlashWord(string word) =>
        word.TrimStart('{').Split(':')[0] is "" or "healthy" or "stuckBits" or "badSectors" or "slow" or "dead";

    private Task<string> RemoveAsync(RigSlot slot, string? action, CancellationToken ct)
    {
        var core = session.Sim!.Remove(slot.Number);
        return Task.FromResult(core is null ? $"error slot {slot.Number} is empty" : $"ok slot {slot.Number} empty, pulled {core.DeviceId}");
    }

    private Task<string> DoneAsync(RigSlot slot, string? action, CancellationToken ct)
    {
        if (lineOperator is null) return Task.FromResult("error no operator on this line (sim serve --line-cores N starts one)");
        return Task.FromResult(lineOperator.Done(slot.Number) ? $"ok slot {slot.Number} queued for the operator" : $"ok slot {slot.Number} already queued");
    }

    private async Task<string> PowerAsync(RigSlot slot, string? action, CancellationToken ct)
    {
        switch (action)
        {
            case "on":
                slot.Control.SetPower(true);
                break;
            case "off":
                slot.Control.SetPower(false);
                break;
            default:
                slot.Control.SetPower(false);
                await Task.Delay(PowerCycleOff, session.Time, ct);
                slot.Control.SetPower(true);
                break;
        }
        return $"ok slot {slot.Number} power {(slot.Control.PowerOn ? "on" : "off")}";
    }

    private Task<string> ModeAsync(RigSlot slot, string? action, CancellationToken ct)
    {
        slot.Control.SetMode(action == "press");
        return Task.FromResult($"ok slot {slot.Number} mode {(action == "press" ? "pressed" : "released")}");
    }

    private async Task<string> ResetAsync(RigSlot slot, string? action, CancellationToken ct)
    {
        switch (action)
        {
            case "press":
                slot.Control.SetReset(true);
                return $"ok slot {slot.Number} reset pressed";
            case "release":
                slot.Control.SetReset(false);
                return $"ok slot {slot.Number} reset released";
            default:
                await Choreography.ResetAsync(slot, session.Time, ct);
                return $"ok slot {slot.Number} reset pulsed";
        }
    }

    private async Task<string> DfuAsync(RigSlot slot, string? action, CancellationToken ct)
    {
        await Choreography.EnterDfuAsync(slot, session.Usb, session.Time, ct);
        return $"ok slot {slot.Number} in DFU at {slot.UsbPath}";
    }

    private Task<string> StateAsync(RigSlot slot, string? action, CancellationToken ct) =>
        Task.FromResult("ok " + Describe(slot));

    /// <summary>One line: Core state, LED program, USB presence, running app.</summary>
    public string Describe(RigSlot slot)
    {
        var simSlot = session.Sim!.Slot(slot.Number);
        if (!simSlot.Occupied) return $"slot={slot.Number} state=empty led=off usb={slot.UsbPath}:absent power=off app=-";
        var core = simSlot.Core;
        var device = session.Usb.GetDevices().FirstOrDefault(d => d.Path == slot.UsbPath);
        var led = core.Led.Current;
        var ledText = led.Pattern == Core.Led.LedPattern.Off ? "off" : $"{led.Pattern.ToString().ToLowerInvariant()}:{led.Rgb:X6}";
        var usb = device is null ? "absent" : device.Descriptor.VidPid;
        var app = core.RunningApp is null ? "-" : $"\"{core.RunningApp}\"";
        return $"slot={slot.Number} state={core.State.ToString().ToLowerInvariant()} led={ledText} usb={slot.UsbPath}:{usb} power={(core.Powered ? "on" : "off")} app={app}";
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }
}
