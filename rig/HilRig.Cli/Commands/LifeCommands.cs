using System.CommandLine;
using System.Globalization;
using HilRig.Composition;
using HilRig.Core.Led;
using HilRig.Core.Procedures;
using HilRig.Core.Slots;
using HilRig.Core.Spark;
using HilRig.Core.Usb;
using HilRig.Sim.Device.Firmware;

namespace HilRig.Cli.Commands;

/// <summary>
/// The Core's life by hand: `hilrig power on|off|cycle`, `hilrig button mode|reset`, `hilrig factory-reset`,
/// `hilrig ota`, `hilrig identify`. Exit codes as for screen: 0 ok, 1 the Core failed, 2 bad input, 3 rig fault.
/// </summary>
internal static class LifeCommands
{
    /// <summary>Holding MODE through a RESET this long brings up DFU on any powered Core.</summary>

    /// <summary>How long a cut Core's LED may take to be seen dark (as the power-cycle choreography allows).</summary>

    public static Command Power()
    {
        var power = new Command("power", "switch a slot's power relay (or its hub port's VBUS) and verify it");
        foreach (var action in new[] { "on", "off", "cycle" })
        {
            var config = CommonOptions.Config();
            var slot = SlotOption();
            var via = new Option<string>("--via") { Description = "relay (default) or hub (USB hub port power, VBUS)", DefaultValueFactory = _ => "relay" };
            via.AcceptOnlyFromAmong("relay", "hub");
            var command = new Command(action, action switch
            {
                "on" => "power the slot's Core",
                "off" => "cut the slot's power and verify the Core is gone from USB and dark (a supply that stays on is a rig fault)",
                _ => "power off (verified), wait 1 s, power on",
            });
            command.Options.Add(config);
            slot.AddTo(command);
            command.Options.Add(via);
            command.SetAction((parse, ct) => WithSlot(parse, config, slot, async (session, rigSlot, output) =>
            {
                var hub = parse.GetValue(via) == "hub";
                var start = session.Time.GetTimestamp();
                if (action is "off" or "cycle")
                {
                    var (cut, how) = await session.RunAsync(() => PowerOffVerifiedAsync(session, rigSlot, hub, ct));
                    if (!cut)
                        throw new RigFaultException($"{rigSlot}: power off did not cut the Core's supply: {how} ({(hub ? "the hub does not really switch VBUS?" : "relay contact welded?")})");
                    output.WriteLine($"slot {rigSlot.Number}: power off verified: {how}");
                }
                if (action == "cycle") await session.RunAsync(() => Task.Delay(TimeSpan.FromSeconds(1), session.Time, ct));
                if (action is "on" or "cycle")
                {
                    var seen = await session.RunAsync(() => PowerOnCheckedAsync(session, rigSlot, hub, ct));
                    output.WriteLine($"slot {rigSlot.Number}: power on{seen}");
                }
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"device time {session.Time.GetElapsedTime(start).TotalSeconds:0.000} s"));
                return ExitCodes.Ok;
            }));
            power.Subcommands.Add(command);
        }
        return power;
    }

    private static async Task SetPowerAsync(RigSession session, RigSlot slot, bool hub, bool on, CancellationToken ct)
    {
        if (!hub)
        {
            slot.Control.SetPower(on);
            return;
        }
        var wiring = session.Config.Slot(slot.Number).Usb;
        // the relay stays closed: VBUS alone is switched
        if (!slot.Control.PowerOn) slot.Control.SetPower(true);
        using var hubPower = HubPortPower.Open(session.Usb, wiring.HubPath);
        await hubPower.SetPortPowerAsync(wiring.Port, on, ct);
    }

    /// <summary>
    /// The switch on checked by the one rule (Core's <see cref="RelaySwitch.PowerOnAsync"/>: the Core shows itself by its
    /// LED or on USB, switched again when it does not; nothing after every switch is a rig fault naming the slot). Through
    /// the hub only VBUS is switched. Returns what was seen, for the output line.
    /// </summary>
    private static async Task<string> PowerOnCheckedAsync(RigSession session, RigSlot slot, bool hub, CancellationToken ct)
    {
        if (hub)
        {
            await SetPowerAsync(session, slot, hub, true, ct);
            return "";
        }
        var seen = await RelaySwitch.PowerOnAsync(slot, session.Usb, session.Time, PowerOnExpectation.CoreExpected, ct: ct);
        return seen is null ? "" : $" (checked: {seen})";
    }

    /// <summary>Off, then proof by the one power-off rule (Core's <see cref="PowerOffVerification"/>), with the DFU probe.</summary>
    private static async Task<(bool Cut, string How)> PowerOffVerifiedAsync(RigSession session, RigSlot slot, bool hub, CancellationToken ct)
    {
        await SetPowerAsync(session, slot, hub, false, ct);
        var finding = await PowerOffVerification.VerifyAsync(slot, session.Usb, session.Time, probeDfu: true, ct: ct);
        return (finding.Cut, finding.How(slot.UsbPath, ledSeen: slot.Led is not null, probed: true));
    }

    public static Command Button()
    {
        var button = new Command("button", "press a slot's MODE or RESET line");
        foreach (var which in new[] { "mode", "reset" })
        {
            var config = CommonOptions.Config();
            var slot = SlotOption();
            var hold = new Option<double?>("--hold") { Description = which == "mode" ? "seconds to hold (default 3: listening mode in the app)" : "seconds to hold (default 0.1)" };
            var withReset = new Option<bool>("--with-reset") { Description = "tap RESET right after pressing MODE (3 s: DFU, 10 s: factory reset)" };
            var command = new Command(which, which == "mode" ? "hold MODE, optionally through a RESET" : "pulse RESET");
            command.Options.Add(config);
            slot.AddTo(command);
            command.Options.Add(hold);
            if (which == "mode") command.Options.Add(withReset);
            command.SetAction((parse, ct) =>
            {
                var seconds = parse.GetValue(hold) ?? (which == "mode" ? 3 : 0.1);
                // checked before the rig is opened: bad input drives nothing and writes nothing
                if (seconds is <= 0 or > 60 || double.IsNaN(seconds))
                {
                    parse.InvocationConfiguration.Error.WriteLine($"hilrig: --hold {seconds.ToString(CultureInfo.InvariantCulture)}: valid: seconds, more than 0 and at most 60");
                    return Task.FromResult(ExitCodes.BadInput);
                }
                return WithSlot(parse, config, slot, async (session, rigSlot, output) =>
            {
                var time = session.Time;
                var steps = new List<ChoreographyStep> { new ChoreographyStep.SetPower(true, OnlyIfOff: true) };
                if (!rigSlot.Control.PowerOn) steps.Add(new ChoreographyStep.Wait(Identify.AppStart));
                if (which == "mode")
                {
                    steps.Add(new ChoreographyStep.Mode(true));
                    if (parse.GetValue(withReset)) steps.Add(new ChoreographyStep.PulseReset());
                    steps.Add(new ChoreographyStep.Wait(TimeSpan.FromSeconds(seconds)));
                    steps.Add(new ChoreographyStep.Mode(false));
                }
                else
                {
                    steps.Add(new ChoreographyStep.Wait(TimeSpan.Zero));
                }
                var log = await session.RunAsync(async () =>
                {
                    var done = await ChoreographyRunner.RunAsync(new ChoreographyScript($"button {which}", steps), rigSlot, session.Usb, time, ct);
                    if (which == "reset")
                    {
                        rigSlot.Control.SetReset(true);
                        await Task.Delay(TimeSpan.FromSeconds(seconds), time, ct);
                        rigSlot.Control.SetReset(false);
                    }
                    await Task.Delay(TimeSpan.FromSeconds(1), time, ct);
                    return done;
                });
                foreach (var line in log) output.WriteLine(line);
                var there = session.Usb.GetDevices().FirstOrDefault(d => d.Path == rigSlot.UsbPath);
                output.WriteLine($"slot {rigSlot.Number}: {(there is null ? "nothing on USB" : $"{there.Descriptor.VidPid} on USB ({Describe(there.Descriptor.ProductId)})")}{(rigSlot.Led is { } led ? $", LED {led.Current}" : "")}");
                return ExitCodes.Ok;
            });
            });
            button.Subcommands.Add(command);
        }
        return button;
    }

    public static Command FactoryReset()
    {
        var config = CommonOptions.Config();
        var slot = SlotOption();
        var command = new Command("factory-reset", "factory reset by buttons, expect listening mode, provision Wi-Fi over serial, expect breathing cyan");
        command.Options.Add(config);
        slot.AddTo(command);
        command.SetAction((parse, ct) => WithSlot(parse, config, slot, (session, rigSlot, output) =>
            RunLoopAsync(session, rigSlot, output, (id, c) => new Core.Procedures.FactoryReset(session.Life).RunAsync(rigSlot, id, c), ct)));
        return command;
    }

    public static Command Ota()
    {
        var config = CommonOptions.Config();
        var slot = SlotOption();
        var file = new Argument<FileInfo>("FILE") { Description = "the app binary to flash (e.g. from hilrig image generate)" };
        var command = new Command("ota", "flash an app through the cloud and follow the Core through the OTA to breathing cyan on the new app");
        command.Options.Add(config);
        slot.AddTo(command);
        command.Arguments.Add(file);
        command.SetAction((parse, ct) =>
        {
            var path = parse.GetValue(file)!;
            var err = parse.InvocationConfiguration.Error;
            byte[] image;
            try
            {
                image = File.ReadAllBytes(path.FullName);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                err.WriteLine($"hilrig: {path}: cannot read the image: {ex.Message}");
                return Task.FromResult(ExitCodes.BadInput);
            }
            if (ImageChecks.ValidateApp(image, path.ToString()) is { } bad)
            {
                err.WriteLine($"hilrig: {bad}");
                return Task.FromResult(ExitCodes.BadInput);
            }
            var app = SparkAppImageGenerator.ReadIdentity(image);
            return WithSlot(parse, config, slot, (session, rigSlot, output) =>
                RunLoopAsync(session, rigSlot, output, (id, c) => new Core.Procedures.Ota(session.Life).RunAsync(rigSlot, id, image, app, c), ct));
        });
        return command;
    }

    public static Command IdentifyCommand()
    {
        var config = CommonOptions.Config();
        var slots = CommonOptions.Slots("slots to identify");
        var command = new Command("identify", "read each Core's device id over its listening-mode serial port (`i`)");
        command.Options.Add(config);
        slots.AddTo(command);
        command.SetAction((parse, ct) => WithRig(parse, config, async (session, output) =>
        {
            var selected = session.Select(slots.Get(parse));
            var results = await session.RunAsync(() => Task.WhenAll(selected.Select(s => new Identify(session.Life).RunAsync(s, null, ct))));
            for (var i = 0; i < selected.Count; i++)
            {
                var r = results[i];
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"slot {selected[i].Number}  {(r.Verdict == Verdict.Pass ? r.Signature.Replace("device id ", "", StringComparison.Ordinal) : $"{r.Verdict.ToName()} ({r.FailureMode}): {r.Signature}")}  ({r.DeviceTime.TotalSeconds:0.0} s)"));
            }
            return ExitFor(results);
        }, RigClaim.Slots(parse, slots.Get(parse))));
        return command;
    }

    private static async Task<int> RunLoopAsync(
        RigSession session, RigSlot slot, TextWriter output, Func<string, CancellationToken, Task<LoopResult>> loop, CancellationToken ct)
    {
        var result = await session.RunAsync(async () =>
        {
            var id = await slot.Identity.ReadDeviceIdAsync(ct);
            return id is null
                ? new LoopResult("identify", Verdict.RigFault, FailureModes.SlotEmpty, $"no Core answered `i` in {slot}", TimeSpan.Zero, [])
                : await loop(id, ct);
        });
        var width = Terminal.Width(output);
        foreach (var line in result.Log) output.WriteLine(TextWrap.Paragraph($"  {line}", width, "    "));
        // a timeline is many segments: one wrapped line per segment group, never a 600-column line
        if (result.Timeline is { } timeline) output.WriteLine(TextWrap.Paragraph($"  LED: {timeline}", width, "       "));
        output.WriteLine(TextWrap.Paragraph($"slot {slot.Number}: {result}", width));
        return ExitFor([result]);
    }

    private static int ExitFor(IReadOnlyCollection<LoopResult> results) =>
        results.Any(r => r.Verdict == Verdict.Fail) ? ExitCodes.DutFailed
        : results.Any(r => r.Verdict == Verdict.RigFault) ? ExitCodes.RigFault
        : ExitCodes.Ok;

    private static string Describe(ushort productId) => productId switch
    {
        SparkUsb.DfuProductId => "DFU mode",
        SparkUsb.SerialProductId => "listening mode serial",
        _ => "not a Core",
    };

    private static SlotsOption SlotOption() => CommonOptions.OneSlot("the slot");

    private static Task<int> WithSlot(ParseResult parse, Option<FileInfo> config, SlotsOption slot, Func<RigSession, RigSlot, TextWriter, Task<int>> action) =>
        WithRig(parse, config, (session, output) => action(session, session.Slot(slot.GetOne(parse)), output), RigClaim.OneSlot(parse, slot.GetOne(parse)));

    private static async Task<int> WithRig(ParseResult parse, Option<FileInfo> config, Func<RigSession, TextWriter, Task<int>> action, RigClaim? claim = null)
    {
        var output = parse.InvocationConfiguration.Output;
        var err = parse.InvocationConfiguration.Error;
        if (!ConfigLoading.TryLoad(parse.GetValue(config)!, err, out var rigConfig)) return ExitCodes.BadInput;
        using var open = RigOpening.Open(rigConfig, err, RigOpening.PersistentSim(rigConfig), claim);
        if (open.Session is not { } session) return open.ExitCode;
        try
        {
            return await action(session, output);
        }
        catch (FormatException ex)
        {
            err.WriteLine($"hilrig: {ex.Message}");
            return ExitCodes.BadInput;
        }
        catch (Exception ex) when (ex is RigFaultException or UsbException or ChoreographyException or SlotLineException)
        {
            err.WriteLine($"hilrig: rig fault: {ex.Message}");
            return ExitCodes.RigFault;
        }
    }

    private sealed class RigFaultException(string message) : Exception(message);
}
