using System.Net.Sockets;
using System.Text;
using HilRig.Cli.Serve;
using HilRig.Sim.Device;
using HilRig.Sim.Rig;

namespace HilRig.Tests.Hardware;

/// <summary>The control channel of `hilrig sim serve` over its Unix socket: one command line in, one reply line out.</summary>
[NonParallelizable]
[Category("Integration")] // starts real tools, servers or child processes
public class SimControlChannelTests
{
    // As in RealToolsTests: fast, but far from turning a scheduling stall into a 10 s MODE hold.
    private const double Speed = 10;

    [Test]
    public async Task Power_on_boots_a_fresh_Core_to_listening_mode_and_state_reports_state_LED_bus_and_app()
    {
        await using var rig = ServedRig.Start(TestRigs.DefaultCores(), Speed);
        using var control = await ControlClient.ConnectAsync(rig.Host.Control.SocketPath);

        Assert.That(await control.SendAsync("state 1"), Is.EqualTo("ok slot=1 state=off led=off usb=1-1.1:absent power=off app=-"));
        Assert.That(await control.SendAsync("power 1 on"), Is.EqualTo("ok slot 1 power on"));
        var core = rig.Core(1);
        // a Core fresh from the factory has no Wi-Fi credentials: the app goes to listening mode (flashing blue)
        // and its serial port enumerates for the `i` and `w` dialogues
        Assert.That(await rig.WaitUntilAsync(() => core.Led.Current.Pattern == Core.Led.LedPattern.Flashing
            && rig.Session.Usb.GetDevices().Any(d => d.Path == "1-1.1"), TimeSpan.FromSeconds(5)), Is.True, string.Join(" | ", core.History));
        var app = await rig.OnSimAsync(() => core.RunningApp);

        Assert.That(app, Does.StartWith("tinker "), "the factory app");
        Assert.That(await control.SendAsync("state 1"), Is.EqualTo($"ok slot=1 state=app led=flashing:0000FF usb=1-1.1:1d50:607d power=on app=\"{app}\""));
    }

    [Test]
    public async Task Dfu_puts_the_Core_on_the_bus_in_DFU_mode()
    {
        await using var rig = ServedRig.Start(TestRigs.DefaultCores(), Speed);
        using var control = await ControlClient.ConnectAsync(rig.Host.Control.SocketPath);

        Assert.That(await control.SendAsync("dfu 2"), Is.EqualTo("ok slot 2 in DFU at 1-1.2"));

        Assert.That(await control.SendAsync("state 2"), Is.EqualTo("ok slot=2 state=dfu led=flashing:FFFF00 usb=1-1.2:1d50:607f power=on app=-"));
        Assert.That(await rig.OnSimAsync(() => rig.Core(2).State), Is.EqualTo(CoreState.Dfu));
    }

    [Test]
    public async Task Mode_and_reset_lines_drive_the_buttons_as_a_person_would()
    {
        await using var rig = ServedRig.Start(TestRigs.DefaultCores(), Speed);
        using var control = await ControlClient.ConnectAsync(rig.Host.Control.SocketPath);
        Assert.That(await control.SendAsync("power 3 on"), Is.EqualTo("ok slot 3 power on"));

        // Hold MODE, tap RESET, keep holding past the 3 s DFU threshold (spark-core.md §3.3).
        Assert.That(await control.SendAsync("mode 3 press"), Is.EqualTo("ok slot 3 mode pressed"));
        Assert.That(await control.SendAsync("reset 3 press"), Is.EqualTo("ok slot 3 reset pressed"));
        Assert.That(await rig.OnSimAsync(() => rig.Core(3).State), Is.EqualTo(CoreState.Halted), "RESET held keeps the MCU in reset");
        Assert.That(await control.SendAsync("reset 3 release"), Is.EqualTo("ok slot 3 reset released"));
        await rig.Session.RunAsync(() => Task.Delay(TimeSpan.FromSeconds(4), rig.Session.Time));
        Assert.That(await control.SendAsync("mode 3 release"), Is.EqualTo("ok slot 3 mode released"));

        Assert.That(await rig.WaitUntilAsync(() => rig.Core(3).State == CoreState.Dfu, TimeSpan.FromSeconds(2)), Is.True, string.Join(" | ", rig.Core(3).History));
        Assert.That(await control.SendAsync("reset 3 pulse"), Is.EqualTo("ok slot 3 reset pulsed"));
        Assert.That(await rig.WaitUntilAsync(() => rig.Core(3).State == CoreState.App, TimeSpan.FromSeconds(2)), Is.True, "a plain reset boots the app");
    }

    [Test]
    public async Task Power_cycle_and_off_cut_the_Core()
    {
        await using var rig = ServedRig.Start(TestRigs.DefaultCores(), Speed);
        using var control = await ControlClient.ConnectAsync(rig.Host.Control.SocketPath);
        Assert.That(await control.SendAsync("dfu 4"), Does.StartWith("ok"));

        Assert.That(await control.SendAsync("power 4 cycle"), Is.EqualTo("ok slot 4 power on"));
        var history = await rig.OnSimAsync(() => rig.Core(4).History.ToList());
        Assert.That(history.Count(h => h.EndsWith("power off", StringComparison.Ordinal)), Is.EqualTo(1), string.Join(" | ", history));
        Assert.That(await control.SendAsync("power 4 off"), Is.EqualTo("ok slot 4 power off"));
        Assert.That(await control.SendAsync("state 4"), Is.EqualTo("ok slot=4 state=off led=off usb=1-1.4:absent power=off app=-"));
    }

    [TestCase("bogus 1", "error unknown command 'bogus'; " + SimControlServer.Help)]
    [TestCase("power 9 on", "error slot '9' is not on this rig; valid: 1,2,3,4,5,6,7,8")]
    [TestCase("power 1 sideways", "error 'sideways' is not valid here; usage: power N on|off|cycle")]
    [TestCase("state", "error usage: state N")]
    [TestCase("reset 1", "error usage: reset N press|release|pulse")]
    [TestCase("help", "ok " + SimControlServer.Help)]
    [TestCase("insert 1", "error slot 1 holds Core 55ffa982ac61b12a178dd712; remove 1 first")]
    [TestCase("insert 9", "error slot '9' is not on this rig; valid: 1,2,3,4,5,6,7,8")]
    [TestCase("insert 1 SST25-1 stuckBits: 0", "error flash 'stuckBits: 0' is not a flash condition; valid: " + FlashWords.Valid)]
    [TestCase("insert 1 SST25-1 slow", "error flash 'slow' is not a flash condition; valid: " + FlashWords.Valid)]
    [TestCase("remove 1 now", "error usage: remove N")]
    [TestCase("done 1", "error no operator on this line (sim serve --line-cores N starts one)")]
    [TestCase("line", "error no operator on this line (sim serve --line-cores N starts one)")]
    [TestCase("slots", "ok 1=1-1.1 2=1-1.2 3=1-1.3 4=1-1.4 5=1-2.1 6=1-2.2 7=1-2.3 8=1-2.4")]
    public async Task Every_line_gets_one_reply_line(string command, string reply)
    {
        await using var rig = ServedRig.Start(TestRigs.DefaultCores(), Speed);
        using var control = await ControlClient.ConnectAsync(rig.Host.Control.SocketPath);

        Assert.That(await control.SendAsync(command), Is.EqualTo(reply));
        Assert.That(await control.SendAsync("state 1"), Does.StartWith("ok slot=1 "), "the connection stays usable after an error");
    }

    [Test]
    public async Task Remove_empties_the_slot_and_insert_drops_in_a_Core_of_the_given_lot_and_flash()
    {
        await using var rig = ServedRig.Start(TestRigs.DefaultCores(), Speed);
        using var control = await ControlClient.ConnectAsync(rig.Host.Control.SocketPath);
        Assert.That(await control.SendAsync("dfu 2"), Does.StartWith("ok"));
        var pulled = rig.Core(2).DeviceId;

        Assert.That(await control.SendAsync("remove 2"), Is.EqualTo($"ok slot 2 empty, pulled {pulled}"));
        Assert.That(await control.SendAsync("state 2"), Is.EqualTo("ok slot=2 state=empty led=off usb=1-1.2:absent power=off app=-"));
        Assert.That(await control.SendAsync("remove 2"), Is.EqualTo("error slot 2 is empty"));
        Assert.That(await control.SendAsync("insert 2 55ff0000000000000000cafe SST25-1402B { badSectors: 2 }"),
            Is.EqualTo("ok slot 2 holds 55ff0000000000000000cafe lot=SST25-1402B flash=badSectors: 2"));
        var core = rig.Core(2);
        Assert.That((core.Spec.Lot, core.Spec.Flash), Is.EqualTo(("SST25-1402B", (Core.Config.FlashCondition)new Core.Config.FlashCondition.BadSectors(2))));
        // the relay stayed on (dfu powered the slot): the new Core boots into its app at once
        Assert.That(await rig.WaitUntilAsync(() => core.State == CoreState.App, TimeSpan.FromSeconds(3)), Is.True, string.Join(" | ", core.History));

        // the pulled Core comes back with its memories (and its own lot); one without an id gets a seeded one
        Assert.That(await control.SendAsync("remove 2"), Does.StartWith("ok slot 2 empty"));
        Assert.That(await control.SendAsync($"insert 2 {pulled}"), Is.EqualTo($"ok slot 2 holds {pulled} lot=SST25-1348A flash=healthy (put back)"));
        Assert.That(await control.SendAsync("remove 2"), Does.StartWith("ok"));
        Assert.That(await control.SendAsync("insert 2"), Does.Match("^ok slot 2 holds 5[45]ff[0-9a-f]{20} lot=unlisted flash=healthy$"));
    }

    [Test]
    public async Task The_line_operator_fills_the_empty_slots_and_swaps_a_Core_on_done()
    {
        var line = new LineOperatorOptions(Cores: 12, Lots: 3, BadLots: 1, Seed: 5, Handling: TimeSpan.FromSeconds(1));
        await using var rig = ServedRig.Start(TestRigs.DefaultCores(), Speed, o => o with { Line = line });
        using var control = await ControlClient.ConnectAsync(rig.Host.Control.SocketPath);
        var op = rig.Host.Line!;

        Assert.That(await rig.WaitUntilAsync(() => op.Fed == 8, TimeSpan.FromSeconds(20)), Is.True, string.Join("\n", op.Log));
        var first = rig.Core(3).DeviceId;
        Assert.That(first, Is.EqualTo(op.Population.Device(2).DeviceId), "slot 3 got the third Core of the population");
        Assert.That(await control.SendAsync("line"), Does.StartWith("ok fed=8 pulled=8 population=12 handling=1s dwell=- queue=-"));
        Assert.That(await control.SendAsync("done 3"), Is.EqualTo("ok slot 3 queued for the operator"));
        Assert.That(await rig.WaitUntilAsync(() => op.Fed == 9, TimeSpan.FromSeconds(5)), Is.True);
        Assert.That(rig.Core(3).DeviceId, Is.EqualTo(op.Population.Device(8).DeviceId));
        Assert.That(await rig.OnSimAsync(() => rig.Session.Sim!.Shelved(first)), Is.Not.Null, "the pulled Core is kept aside");
    }

    [Test]
    public async Task A_DFU_that_does_not_come_is_an_error_line_not_a_dropped_connection()
    {
        await using var rig = ServedRig.Start(TestRigs.DefaultCores(), Speed);
        using var control = await ControlClient.ConnectAsync(rig.Host.Control.SocketPath);
        // Rig fault: the hub port never powers the Core's USB side, so no DFU device can appear.
        await rig.OnSimAsync(() =>
        {
            rig.Session.Sim!.Slot(5).Hub.SetPortPower(1, false);
            return true;
        });

        var reply = await control.SendAsync("dfu 5");

        // the slot's LED observer sees the unpowered Core stay dark before the bus is even looked at
        Assert.That(reply, Does.StartWith("error slot 5 (1-2.1): enter DFU: "));
        Assert.That(reply, Does.Contain("expected flashing yellow within 6.5 s; saw ").And.EndWith(" off"));
        Assert.That(reply, Does.Not.Contain("\n"));
        Assert.That(await control.SendAsync("state 5"), Does.StartWith("ok slot=5 "), "the connection stays usable after the error");
    }
}

/// <summary>A line client for the control socket, like `socat - UNIX-CONNECT:...`.</summary>
internal sealed class ControlClient : IDisposable
{
    private readonly Socket _socket;
    private readonly StreamReader _reader;
    private readonly StreamWriter _writer;

    private ControlClient(Socket socket)
    {
        _socket = socket;
        var stream = new NetworkStream(socket, ownsSocket: false);
        _reader = new StreamReader(stream, Encoding.UTF8);
        _writer = new StreamWriter(stream, new UTF8Encoding(false)) { NewLine = "\n", AutoFlush = true };
    }

    public static async Task<ControlClient> ConnectAsync(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        return new ControlClient(socket);
    }

    public async Task<string> SendAsync(string line)
    {
        await _writer.WriteLineAsync(line);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await _reader.ReadLineAsync(timeout.Token) ?? throw new IOException($"control channel closed after '{line}'");
    }

    public void Dispose()
    {
        _reader.Dispose();
        _writer.Dispose();
        _socket.Dispose();
    }
}
