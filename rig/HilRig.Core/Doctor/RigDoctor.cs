using System.Device.I2c;
using HilRig.Core.Chips;
using HilRig.Core.Chips.Mcp23017;
using HilRig.Core.Chips.Tca9548a;
using HilRig.Core.Chips.Tcs34725;
using HilRig.Core.Config;
using HilRig.Core.Led;
using HilRig.Core.Slots;
using HilRig.Core.Spark;
using HilRig.Core.Usb;

namespace HilRig.Core.Doctor;

public enum CheckStatus
{
    Ok,
    Failed,

    /// <summary>Could not be judged because something it needs failed first (named in the detail).</summary>
    NotChecked,
}

/// <summary>One line of the checklist: what was checked, what was seen, and what to do when it failed.</summary>
public sealed record DoctorCheck(string Area, string Subject, CheckStatus Status, string Detail, string? Fix = null);

public sealed record DoctorReport(IReadOnlyList<DoctorCheck> Checks)
{
    public bool AllOk => Checks.All(c => c.Status == CheckStatus.Ok);

    public int Count(CheckStatus status) => Checks.Count(c => c.Status == status);
}

public sealed record DoctorOptions
{
    /// <summary>
    /// Light with the Core off above this (clear counts per ms at 1x gain, the unit of <see cref="SlotCalibration"/>)
    /// is a leak. Room light behind the default sim optics gives about 1.7; a Core's LED at 96/256 gives 30 and more.
    /// A stored calibration raises it to its dark level plus six noise deviations when that is higher.
    /// </summary>
    public double DarkThreshold { get; init; } = 8;

    /// <summary>Time for a switched port or relay to settle (a hub's bPwrOn2PwrGood is at most 510 ms).</summary>
    public TimeSpan Settle { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long the LED is watched for light: longer than a DFU flash period (2 x 100 ms).</summary>
    public TimeSpan Watch { get; init; } = TimeSpan.FromMilliseconds(600);

    public TimeSpan Integration { get; init; } = TimeSpan.FromMilliseconds(24);

    public int Gain { get; init; } = 4;
}

/// <summary>
/// `hilrig doctor`: checks a rig against its config with the same drivers the procedures use: every I2C chip
/// answers with the right identity, every slot's Core comes up at its USB path, its hub port switches power (and
/// VBUS really drops: the Core's own LED is the lamp), its relay cuts power, its sensor sees no light with the
/// Core off, and a sensor calibration is stored. Slots are left powered as they were found.
/// </summary>
public sealed class RigDoctor
{
    private readonly RigConfig _config;
    private readonly IReadOnlyList<RigSlot> _slots;
    private readonly IUsbBus _usb;
    private readonly IRigI2c _i2c;
    private readonly TimeProvider _time;
    private readonly Func<int, SlotCalibration?> _calibration;
    private readonly DoctorOptions _options;
    private readonly List<DoctorCheck> _checks = [];
    private readonly HashSet<(int? Bus, int Address)> _badMuxes = [];
    private readonly Dictionary<int, Tcs34725> _sensors = [];

    public RigDoctor(RigConfig config, IReadOnlyList<RigSlot> slots, IUsbBus usb, IRigI2c i2c, TimeProvider time,
        Func<int, SlotCalibration?> storedCalibration, DoctorOptions? options = null)
    {
        _config = config;
        _slots = slots;
        _usb = usb;
        _i2c = i2c;
        _time = time;
        _calibration = storedCalibration;
        _options = options ?? new DoctorOptions();
    }

    public async Task<DoctorReport> RunAsync(CancellationToken ct = default)
    {
        _checks.Clear();
        CheckExpanders();
        CheckMuxes();
        // Chips shared by slots are always checked; sensors, calibration and the slot checks only for the slots given.
        var checkedSlots = _config.Slots.Where(c => _slots.Any(s => s.Number == c.Number)).OrderBy(s => s.Number).ToList();
        foreach (var slot in checkedSlots)
            await CheckSensorAsync(slot, ct);
        foreach (var slot in checkedSlots)
            CheckCalibration(slot);
        foreach (var slot in _slots.OrderBy(s => s.Number))
            await CheckSlotAsync(slot, _config.Slot(slot.Number), ct);
        return new DoctorReport([.. _checks]);
    }

    private void Add(string area, string subject, CheckStatus status, string detail, string? fix = null) =>
        _checks.Add(new DoctorCheck(area, subject, status, detail, status == CheckStatus.Failed ? fix : null));

    // ---- I2C chips ----

    private void CheckExpanders()
    {
        var users = _config.Slots
            .SelectMany(s => new[] { (s.Number, "power", s.Power), (s.Number, "mode", s.Mode), (s.Number, "reset", s.Reset) })
            .Where(u => u.Item3 is ExpanderLine)
            .GroupBy(u => ((ExpanderLine)u.Item3).Address)
            .OrderBy(g => g.Key);
        foreach (var expander in users)
        {
            var subject = $"MCP23017 0x{expander.Key:x2}";
            var lines = $"{expander.Count()} slot line(s) of slot(s) {string.Join(",", expander.Select(u => u.Number).Distinct())}";
            try
            {
                // IOCON answers at 0x0A and 0x0B alike with BANK = 0: a chip that mirrors them is an MCP23017 as set up.
                var device = _i2c.Open(expander.Key);
                var iocon = new byte[2];
                device.WriteRead([Mcp23017Registers.Iocon], iocon);
                if (iocon[0] != iocon[1] || (iocon[0] & 0x80) != 0)
                    Add("i2c", subject, CheckStatus.Failed, $"answers on {_i2c.Describe()} but IOCON reads 0x{iocon[0]:x2}/0x{iocon[1]:x2} at 0x0A/0x0B: not an MCP23017 in BANK 0",
                        $"check that the chip at 0x{expander.Key:x2} is an MCP23017 (A2..A0 address pins) and that nothing else shares the address");
                else
                    Add("i2c", subject, CheckStatus.Ok, $"answers on {_i2c.Describe()} (IOCON 0x{iocon[0]:x2}); drives {lines}");
            }
            catch (IOException ex)
            {
                Add("i2c", subject, CheckStatus.Failed, $"no answer on {_i2c.Describe()}: {ex.Message}",
                    $"check the expander's power, SDA/SCL wiring and address pins (A2..A0 = 0x{expander.Key - 0x20:x}); `i2cdetect -y {I2cBusNumber(null)}` should show {expander.Key:x2}");
            }
        }
    }

    private void CheckMuxes()
    {
        foreach (var mux in _config.Slots.Select(s => (s.Sensor.I2cBus, s.Sensor.MuxAddress)).Distinct().OrderBy(m => m.MuxAddress))
        {
            var subject = $"TCA9548A 0x{mux.MuxAddress:x2}";
            try
            {
                var driver = Mux(mux.I2cBus, mux.MuxAddress);
                driver.Select(0);
                driver.DeselectAll();
                Add("i2c", subject, CheckStatus.Ok, $"answers on {_i2c.Describe(mux.I2cBus)}; its control register reads back what was written");
            }
            catch (Exception ex) when (ex is SensorException or IOException)
            {
                _badMuxes.Add(mux);
                Add("i2c", subject, CheckStatus.Failed, $"on {_i2c.Describe(mux.I2cBus)}: {ex.Message}",
                    $"check the mux's power, SDA/SCL wiring, RESET pin (pulled high) and address pins (A2..A0 = {mux.MuxAddress - 0x70}); `i2cdetect -y {I2cBusNumber(mux.I2cBus)}` should show {mux.MuxAddress:x2}");
            }
        }
    }

    private async Task CheckSensorAsync(SlotConfig slot, CancellationToken ct)
    {
        var subject = $"slot {slot.Number} sensor";
        var where = $"mux 0x{slot.Sensor.MuxAddress:x2} channel {slot.Sensor.Channel}";
        if (_badMuxes.Contains((slot.Sensor.I2cBus, slot.Sensor.MuxAddress)))
        {
            Add("i2c", subject, CheckStatus.NotChecked, $"behind {where}, which did not answer");
            return;
        }
        try
        {
            SelectSensor(slot);
            var sensor = new Tcs34725(_i2c.Open(Tcs34725Registers.DefaultAddress, slot.Sensor.I2cBus), _time, $"slot {slot.Number}");
            var id = sensor.ReadRegister(Tcs34725Registers.Id);
            if (id is not (Tcs34725Registers.IdTcs34725 or Tcs34725Registers.IdTcs34727))
            {
                Add("i2c", subject, CheckStatus.Failed, $"TCS34725 at 0x29 behind {where} answered ID 0x{id:x2}; expected 0x44 (TCS34725) or 0x4D (TCS34727)",
                    $"fit a TCS34725 on {where} (a TCS34721/3 answers at 0x39, other parts with other IDs)");
                return;
            }
            await sensor.InitializeAsync(_options.Integration, _options.Gain, ct);
            _sensors[slot.Number] = sensor;
            Add("i2c", subject, CheckStatus.Ok, $"TCS34725 behind {where} answers ID 0x{id:x2} and completes an integration");
        }
        catch (Exception ex) when (ex is SensorException or IOException)
        {
            Add("i2c", subject, CheckStatus.Failed, $"behind {where}: {ex.Message}",
                $"check the sensor board's cable to {where} (SDA/SCL/3V3/GND) and that the channel is the one in the config");
        }
    }

    private void CheckCalibration(SlotConfig slot)
    {
        var subject = $"slot {slot.Number} calibration";
        var calibration = _calibration(slot.Number);
        if (calibration is null)
            Add("sensor", subject, CheckStatus.Failed, "no stored sensor calibration for this slot",
                $"run `hilrig led calibrate --slots {slot.Number}` with the slot's Core seated (it measures dark with the Core off)");
        else
            Add("sensor", subject, CheckStatus.Ok, $"stored: dark C {calibration.DarkC:0.##} counts/ms (noise {calibration.DarkNoiseC:0.##}), gain {calibration.Gain}x");
    }

    // ---- per slot: USB, hub port power, relay, dark ----

    private async Task CheckSlotAsync(RigSlot slot, SlotConfig wiring, CancellationToken ct)
    {
        // A sensor that failed its own check is reported there; USB, power and relay checks run on the timed
        // choreographies instead of waiting on an LED observer that can only report the same fault again.
        if (!_sensors.ContainsKey(slot.Number)) slot = slot with { Led = null };
        bool wasOn;
        try
        {
            wasOn = slot.Control.PowerOn;
        }
        catch (IOException ex)
        {
            LinesFailed(slot, wiring, ex);
            return;
        }
        var cutByRelayCheck = false;
        try
        {
            var coreSeen = await CheckCoreAppearsAsync(slot, ct);
            await CheckHubPortAsync(slot, wiring, coreSeen, ct);
            if (coreSeen)
            {
                // Back into DFU: a flashing yellow LED is what the relay and dark checks look for.
                try { await Choreography.EnterDfuAsync(slot, _usb, _time, ct); }
                catch (ChoreographyException) { coreSeen = false; }
            }
            cutByRelayCheck = coreSeen;
            await CheckRelayAndDarkAsync(slot, wiring, coreSeen, ct);
        }
        catch (Exception ex) when (ex is IOException or SlotLineException)
        {
            // An expander that stops answering mid-way: the slot's lines cannot be driven.
            LinesFailed(slot, wiring, ex);
            cutByRelayCheck = false;
        }
        finally
        {
            try
            {
                slot.Control.SetMode(false);
                slot.Control.SetReset(false);
                if (!wasOn || !cutByRelayCheck) slot.Control.SetPower(wasOn);
            }
            catch (Exception ex) when (ex is IOException or SlotLineException)
            {
                // already reported above
            }
        }
        if (wasOn && cutByRelayCheck) await RestorePowerAsync(slot, wiring, ct);
    }

    /// <summary>
    /// The slot was found powered and the relay check cut a Core that was up: switching it back on is checked by the one
    /// rule (the Core shows itself, switched again through a checked cut when it does not). Nothing of it after every
    /// switch is the relay's: a contact that does not close, reported on the slot's relay line.
    /// </summary>
    private async Task RestorePowerAsync(RigSlot slot, SlotConfig wiring, CancellationToken ct)
    {
        var relay = RelayLine(slot);
        try
        {
            await RelaySwitch.PowerOnAsync(slot, _usb, _time, PowerOnExpectation.WasUp, _sensors.ContainsKey(slot.Number) ? async c =>
            {
                var light = await MaxLightAsync(wiring, c);
                return light > DarkThreshold(slot.Number) ? $"LED lit ({light:0.#} counts/ms)" : null;
            } : null, ct);
        }
        catch (Exception ex) when (ex is SlotLineException or IOException or SensorException)
        {
            var subject = $"slot {slot.Number} relay";
            var detail = $"switching the slot back on ({relay}) as it was found: {ex.Message}";
            const string Fix = "the relay does not close: check its contact and driver (replace the relay), then run doctor again";
            var index = _checks.FindIndex(c => c.Subject == subject);
            if (index < 0)
                Add("power", subject, CheckStatus.Failed, detail, Fix);
            else
                _checks[index] = _checks[index] with
                {
                    Status = CheckStatus.Failed,
                    Detail = _checks[index].Status == CheckStatus.Ok ? detail : $"{_checks[index].Detail}; {detail}",
                    Fix = _checks[index].Fix ?? Fix,
                };
        }
    }

    private void LinesFailed(RigSlot slot, SlotConfig wiring, Exception ex) =>
        Add("power", $"slot {slot.Number} lines", CheckStatus.Failed, $"driving power/MODE/RESET ({wiring.Power.Describe()}, {wiring.Mode.Describe()}, {wiring.Reset.Describe()}) failed: {ex.Message}",
            "fix the I2C expander first (see its check above), then run doctor again");

    private async Task<bool> CheckCoreAppearsAsync(RigSlot slot, CancellationToken ct)
    {
        var subject = $"slot {slot.Number} USB";
        try
        {
            await Choreography.EnterDfuAsync(slot, _usb, _time, ct);
            var dfu = Choreography.FindDfu(_usb, slot.UsbPath)!;
            Add("usb", subject, CheckStatus.Ok, $"Core in DFU mode ({dfu.Descriptor.VidPid}) at {slot.UsbPath} after power on and MODE+RESET");
            return true;
        }
        catch (Exception ex) when (ex is ChoreographyException or UsbException)
        {
            var serial = _usb.GetDevices().FirstOrDefault(d => d.Path == slot.UsbPath
                && d.Descriptor.VendorId == SparkUsb.VendorId && d.Descriptor.ProductId == SparkUsb.SerialProductId);
            if (serial is not null)
            {
                Add("usb", subject, CheckStatus.Ok, $"Core's serial port ({serial.Descriptor.VidPid}) at {slot.UsbPath}; it did not enter DFU ({ex.Message})");
                return false;
            }
            var elsewhere = _usb.GetDevices().Where(d => d.Descriptor.VendorId == SparkUsb.VendorId && d.Path != slot.UsbPath && _config.Slots.All(s => s.Usb.DevicePath != d.Path)).Select(d => d.Path).ToList();
            Add("usb", subject, CheckStatus.Failed, ex.Message,
                elsewhere.Count > 0
                    ? $"a Core shows up at {string.Join(", ", elsewhere)}, which no slot uses: plug slot {slot.Number}'s cable into {slot.UsbPath} or fix usb: in the config"
                    : $"seat a Core in slot {slot.Number}, check its USB cable to {slot.UsbPath}, and that the power relay ({RelayLine(slot)}) clicks");
            return false;
        }
    }

    private async Task CheckHubPortAsync(RigSlot slot, SlotConfig wiring, bool coreSeen, CancellationToken ct)
    {
        var subject = $"slot {slot.Number} hub port";
        var where = $"hub {wiring.Usb.HubPath} port {wiring.Usb.Port}";
        HubPortPower hub;
        try
        {
            hub = HubPortPower.Open(_usb, wiring.Usb.HubPath);
        }
        catch (UsbException ex)
        {
            Add("usb", subject, CheckStatus.Failed, $"{where}: {ex.Message}",
                $"check the hub's upstream cable and power supply; `lsusb -t` shows the hub paths (usb.hub in the config must match)");
            return;
        }
        using (hub)
        {
            try
            {
                var before = await hub.GetPortStatusAsync(wiring.Usb.Port, ct);
                await hub.SetPortPowerAsync(wiring.Usb.Port, on: false, ct);
                await Task.Delay(_options.Settle, _time, ct);
                var off = await hub.GetPortStatusAsync(wiring.Usb.Port, ct);
                var litWhileOff = coreSeen && _sensors.ContainsKey(slot.Number) ? await MaxLightAsync(wiring, ct) : (double?)null;
                await hub.SetPortPowerAsync(wiring.Usb.Port, on: true, ct);
                await Task.Delay(_options.Settle, _time, ct);
                var on = await hub.GetPortStatusAsync(wiring.Usb.Port, ct);
                if (!before.Powered) await hub.SetPortPowerAsync(wiring.Usb.Port, on: false, ct);

                const string HubFix = "use a hub with real per-port power switching (uhubctl's list of hubs verified to cut VBUS), or check the hub's own power supply";
                if (off.Powered || !on.Powered)
                    Add("usb", subject, CheckStatus.Failed, $"{where} does not switch: status {off} after ClearPortFeature(PORT_POWER), {on} after SetPortFeature", HubFix);
                else if (litWhileOff is { } light && light > DarkThreshold(slot.Number))
                    Add("usb", subject, CheckStatus.Failed, $"{where} reports power off but the Core's LED stays lit ({light:0.#} counts/ms): VBUS is not cut", HubFix);
                else
                    Add("usb", subject, CheckStatus.Ok, $"{where} switches power (port status {off} after ClearPortFeature, {on} after SetPortFeature){(litWhileOff is null ? "" : "; the Core went dark with VBUS off")}");
            }
            catch (Exception ex) when (ex is UsbException or SensorException)
            {
                Add("usb", subject, CheckStatus.Failed, $"{where}: {ex.Message}",
                    "check the hub's cable and permissions (udev rule for hub power control, scripts/pi/install.sh)");
            }
        }
    }

    private async Task CheckRelayAndDarkAsync(RigSlot slot, SlotConfig wiring, bool coreSeen, CancellationToken ct)
    {
        slot.Control.SetPower(false);
        double? light = null;
        string? sensorProblem = null;
        // the one power-off rule, with the doctor's own raw dark measurement (the sampler may be what is broken)
        var finding = await PowerOffVerification.VerifyAsync(slot, _usb, _time, probeDfu: false, async c =>
        {
            if (!_sensors.ContainsKey(slot.Number)) return null;
            try { light = await MaxLightAsync(wiring, c); }
            catch (SensorException ex) { sensorProblem = ex.Message; }
            return light > DarkThreshold(slot.Number) ? $"still lights its LED ({light:0.#} counts/ms)" : null;
        }, _options.Settle, ct);
        var stillOnUsb = finding.StillOnUsb is not null;
        var threshold = DarkThreshold(slot.Number);
        var lit = finding.StillLit is not null;
        var relay = RelayLine(slot);

        if (!coreSeen)
            Add("power", $"slot {slot.Number} relay", CheckStatus.NotChecked, "no Core came up in this slot to switch off");
        else if (!finding.Cut)
            Add("power", $"slot {slot.Number} relay", CheckStatus.Failed,
                $"power off ({relay}) but the Core {(stillOnUsb ? $"is still on USB at {slot.UsbPath}" : "")}{(stillOnUsb && lit ? " and " : "")}{(lit ? $"still lights its LED ({light:0.#} counts/ms)" : "")}",
                $"the relay does not cut the Core's supply: check for a welded contact, the relay driver and that power: in the config names the right line ({relay})");
        else
            Add("power", $"slot {slot.Number} relay", CheckStatus.Ok, $"power off ({relay}) takes the Core off USB{(light is null ? "" : " and its LED goes dark")}");

        var subject = $"slot {slot.Number} dark";
        if (light is null)
            Add("sensor", subject, CheckStatus.NotChecked, sensorProblem ?? "the slot's sensor did not pass its check");
        else if (!lit)
            Add("sensor", subject, CheckStatus.Ok, $"{light:0.##} counts/ms with the Core off (threshold {threshold:0.##})");
        else if (coreSeen && stillOnUsb)
            Add("sensor", subject, CheckStatus.Failed, $"{light:0.#} counts/ms with the power off (threshold {threshold:0.##}): the Core is still powered", "fix the relay (see above), then run doctor again");
        else
            Add("sensor", subject, CheckStatus.Failed, $"{light:0.#} counts/ms with the Core off (threshold {threshold:0.##}): light reaches the sensor from outside",
                "close the enclosure or shade the slot from room light and neighbouring LEDs, then `hilrig led calibrate` again");
    }

    private double DarkThreshold(int slot) =>
        _calibration(slot) is { } c ? Math.Max(_options.DarkThreshold, c.DarkC + 6 * c.DarkNoiseC) : _options.DarkThreshold;

    /// <summary>The brightest clear-channel reading over the watch time, in counts per ms at 1x gain.</summary>
    private async Task<double> MaxLightAsync(SlotConfig slot, CancellationToken ct)
    {
        var sensor = _sensors[slot.Number];
        var max = 0.0;
        var start = _time.GetTimestamp();
        while (_time.GetElapsedTime(start) < _options.Watch)
        {
            await Task.Delay(sensor.IntegrationTime, _time, ct);
            // Reselect on every read: other slots' sensors answer at the same address.
            SelectSensor(slot);
            var counts = sensor.ReadCounts();
            max = Math.Max(max, counts.C / (sensor.Gain * sensor.IntegrationTime.TotalMilliseconds));
        }
        return max;
    }

    private void SelectSensor(SlotConfig slot)
    {
        foreach (var other in _config.Slots.Select(s => (s.Sensor.I2cBus, s.Sensor.MuxAddress)).Distinct())
        {
            if (other != (slot.Sensor.I2cBus, slot.Sensor.MuxAddress) && !_badMuxes.Contains(other))
                Mux(other.I2cBus, other.MuxAddress).DeselectAll();
        }
        Mux(slot.Sensor.I2cBus, slot.Sensor.MuxAddress).Select(slot.Sensor.Channel);
    }

    private readonly Dictionary<(int?, int), Tca9548a> _muxes = [];

    private Tca9548a Mux(int? bus, int address)
    {
        if (!_muxes.TryGetValue((bus, address), out var mux))
        {
            I2cDevice device = _i2c.Open(address, bus);
            mux = new Tca9548a(device, $"mux 0x{address:x2}");
            _muxes[(bus, address)] = mux;
        }
        return mux;
    }

    private int I2cBusNumber(int? bus) => bus ?? _config.Pi.I2cBus;

    private string RelayLine(RigSlot slot) => _config.Slot(slot.Number).Power.Describe();
}
