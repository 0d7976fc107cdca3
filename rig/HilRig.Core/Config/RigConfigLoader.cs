using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace HilRig.Core.Config;

/// <summary>
/// Reads and validates rig-config.yaml. The YAML representation model keeps every node's position, so each problem
/// is reported as file:line:column; all problems are collected before <see cref="ConfigException"/> is thrown.
/// To add a key: give the section's draft class a property and its field table one line; unknown-key and
/// missing-key errors follow from the table.
/// </summary>
public static partial class RigConfigLoader
{
    public const int MaxSlots = 16;

    /// <param name="environment">Looks up environment variables (HILRIG_CLOUD_URL, HILRIG_CLOUD_TOKEN, a token's ${NAME}); default: the process environment.</param>
    /// <exception cref="ConfigException">The file is missing, is not YAML, or breaks the schema (every problem listed).</exception>
    public static RigConfig Load(string path, Func<string, string?>? environment = null)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var reason = e is FileNotFoundException or DirectoryNotFoundException ? "file not found" : e.Message;
            throw new ConfigException([new ConfigError(path, 1, 1, "", $"cannot read the rig config: {reason} (full path {Path.GetFullPath(path)})")]);
        }
        return Parse(text, path, environment);
    }

    /// <summary>Parses config text; <paramref name="file"/> is the name errors carry.</summary>
    public static RigConfig Parse(string yaml, string file, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var stream = new YamlStream();
        var parser = new TrackingParser(new Parser(new StringReader(yaml)));
        try
        {
            stream.Load(parser);
        }
        catch (YamlException e)
        {
            var message = (e.InnerException as YamlException)?.Message ?? e.Message;
            throw new ConfigException([new ConfigError(file, e.Start.Line, e.Start.Column, "", $"not valid YAML: {message}")]);
        }
        catch (InvalidOperationException)
        {
            // The YAML scanner trips on some unterminated flow collections without a position; use the last good one.
            var at = parser.LastGood;
            throw new ConfigException([new ConfigError(file, at.Line, at.Column, "", "not valid YAML: unexpected text after this point (an unclosed [ or { ?)")]);
        }

        var reader = new ConfigReader(file);
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
            throw new ConfigException([new ConfigError(file, 1, 1, "", $"the file is empty; expected keys: {string.Join(", ", RootFields.Select(f => f.Name))}")]);
        if (stream.Documents.Count > 1)
            reader.Error(stream.Documents[1].RootNode, "", "more than one YAML document; a rig config is one document");

        var root = stream.Documents[0].RootNode;
        var rig = new RigDraft();
        reader.ReadMapping(root, "", rig, RootFields);
        CheckResults(reader, rig);
        CheckSlots(reader, rig.Slots);
        CheckScreening(reader, rig.Screening);
        var cores = ResolveCores(reader, rig);
        var cloud = ResolveCloud(reader, root, rig.Cloud, environment);
        var storeConnection = ExpandConnection(reader, rig.Results.Nodes.GetValueOrDefault("connectionString"), "results.connectionString", rig.Results.ConnectionString, environment);
        var fleet = ResolveFleet(reader, rig.Fleet, environment);
        var simLine = rig.Sim.Line?.Build(reader, rig.Sim.Seed ?? 0);

        if (reader.Errors.Count > 0)
            throw new ConfigException(reader.Errors.OrderBy(e => e.Line).ThenBy(e => e.Column).ToList());

        return new RigConfig(
            file,
            rig.RigId!,
            rig.Backend!.Value,
            new ResultsStoreSettings(rig.Results.Kind!.Value, rig.Results.Path, storeConnection),
            rig.Slots.Select(s => s.Build()).OrderBy(s => s.Number).ToList(),
            new SimConfig(rig.Sim.Seed ?? 0, rig.Sim.Bootloader ?? SimBootloader.BL14, cores, rig.Sim.Optics?.Build())
            {
                Firmware = rig.Sim.Firmware ?? SimFirmware.Seed2014,
                WeldedRelays = [.. rig.Sim.WeldedRelays.Distinct().Order()],
                OpenRelays = [.. rig.Sim.OpenRelays.Distinct().Order()],
                WrongSensorIds = [.. rig.Sim.WrongSensorIds.Distinct().Order()],
                WornSlots = [.. rig.Sim.WornSlots.Distinct().Order()],
                Cloud = new SimCloudSettings(rig.Sim.Cloud.LatencyMs ?? SimCloudSettings.Default.LatencyMs, rig.Sim.Cloud.Loss ?? SimCloudSettings.Default.Loss),
                Faults = rig.Sim.Faults.Build(rig.Sim.WornSlots.Count > 0),
                Candidate = new SimCandidateConfig(
                    rig.Sim.Candidate.SpiBusyTimeoutMs ?? SimCandidateConfig.Default.SpiBusyTimeoutMs,
                    rig.Sim.Candidate.StageFactoryReset ?? SimCandidateConfig.Default.StageFactoryReset),
                BootloaderProtected = rig.Sim.BootloaderProtected ?? true,
                Line = simLine,
            },
            HashOf(root))
        {
            Pi = new PiSettings(rig.Pi.GpioChip ?? PiSettings.Default.GpioChip, rig.Pi.I2cBus ?? PiSettings.Default.I2cBus),
            Cloud = cloud,
            Fleet = fleet,
            Line = rig.Line,
            Screening = rig.Screening.Build(),
        };
    }

    // ---- schema tables: one line per key ----

    private static readonly (string, RigBackend)[] Backends = [("sim", RigBackend.Sim), ("pi", RigBackend.Pi)];
    private static readonly (string, ResultsStoreKind)[] StoreKinds = [("sqlite", ResultsStoreKind.Sqlite), ("postgres", ResultsStoreKind.Postgres)];
    private static readonly (string, SimBootloader)[] Bootloaders = [("BL13", SimBootloader.BL13), ("BL14", SimBootloader.BL14), ("candidate", SimBootloader.Candidate)];
    private static readonly (string, SimFirmware)[] Firmwares = [("seed2014", SimFirmware.Seed2014), ("verified", SimFirmware.Verified)];

    private static readonly Field<CloudDraft>[] CloudFields =
    [
        new("latencyMs", false, (r, n, p, d) => d.LatencyMs = r.ReadNumber(n, p, "a latency in ms", v => v is >= 0 and <= 60_000, "a number of milliseconds, 0-60000")),
        new("loss", false, (r, n, p, d) => d.Loss = r.ReadNumber(n, p, "a message loss probability", v => v is >= 0 and < 1, "a probability, 0 <= loss < 1")),
    ];

    private static Field<FaultsDraft> Rate(string name, Action<FaultsDraft, double?> set) =>
        new(name, false, (r, n, p, d) => set(d, r.ReadNumber(n, p, "a fault rate", v => v is >= 0 and <= 0.5, "a probability per operation, 0-0.5 (default 0)")));

    private static readonly Field<FaultsDraft>[] FaultFields =
    [
        Rate("usbStall", (d, v) => d.UsbStall = v),
        Rate("usbTimeout", (d, v) => d.UsbTimeout = v),
        Rate("usbDisconnect", (d, v) => d.UsbDisconnect = v),
        Rate("i2cNack", (d, v) => d.I2cNack = v),
        Rate("buttonDead", (d, v) => d.ButtonDead = v),
        Rate("cloud5xx", (d, v) => d.Cloud5xx = v),
        Rate("cloudDrop", (d, v) => d.CloudDrop = v),
        Rate("cloudSlow", (d, v) => d.CloudSlow = v),
        Rate("relayStuck", (d, v) => d.RelayStuck = v),
        Rate("wornContact", (d, v) => d.WornContact = v),
        Rate("brownOut", (d, v) => d.BrownOut = v),
        Rate("sensorId", (d, v) => d.SensorId = v),
    ];

    private static readonly Field<CandidateDraft>[] CandidateFields =
    [
        new("spiBusyTimeoutMs", false, (r, n, p, d) => d.SpiBusyTimeoutMs = r.ReadNumber(n, p, "an SPI busy timeout",
            v => v > 0 && v <= SimCandidateConfig.MaxSpiBusyTimeoutMs, "milliseconds, > 0 and <= 1000 (default 30; a healthy sector erase takes 18 ms, a { slow: F } chip's F x 25 ms)")),
        new("stageFactoryReset", false, (r, n, p, d) => d.StageFactoryReset = r.ReadBool(n, p)),
    ];

    private static readonly Field<CloudApiDraft>[] CloudApiFields =
    [
        new("url", false, (r, n, p, d) => d.Url = ReadCloudUrl(r, n, p, (n as YamlScalarNode)?.Value)),
        new("token", false, (r, n, p, d) => d.Token = r.ReadString(n, p, "an access token")),
        new("timeoutSeconds", false, (r, n, p, d) => d.TimeoutSeconds = r.ReadNumber(n, p, "a request timeout", v => v is > 0 and <= 600, "seconds, > 0 and <= 600 (default 30)")),
        new("flashTimeoutSeconds", false, (r, n, p, d) => d.FlashTimeoutSeconds = r.ReadNumber(n, p, "a flash request timeout", v => v is > 0 and <= 900, "seconds, > 0 and <= 900 (default 120; spark-server answers a silent device after 90 s)")),
    ];

    private static readonly Field<LineDraft>[] LineFields =
    [
        new("gpio", false, (r, n, p, d) => d.Gpio = r.ReadInt(n, p, 0, 27, "a Pi header BCM line")),
        new("expander", false, (r, n, p, d) => d.Expander = r.ReadInt(n, p, 0x20, 0x27, "an MCP23017 I2C address", hex: true)),
        new("pin", false, (r, n, p, d) => d.Pin = r.ReadInt(n, p, 0, 15, "an MCP23017 pin")),
        new("activeLow", false, (r, n, p, d) => d.ActiveLow = r.ReadBool(n, p)),
    ];

    private static readonly Field<UsbDraft>[] UsbFields =
    [
        new("hub", true, (r, n, p, d) => d.Hub = ReadHubPath(r, n, p)),
        new("port", true, (r, n, p, d) => d.Port = r.ReadInt(n, p, 1, 7, "a hub port")),
    ];

    private static readonly Field<SensorDraft>[] SensorFields =
    [
        new("mux", true, (r, n, p, d) => d.Mux = r.ReadInt(n, p, 0x70, 0x77, "a TCA9548A I2C address", hex: true)),
        new("channel", true, (r, n, p, d) => d.Channel = r.ReadInt(n, p, 0, 7, "a TCA9548A channel")),
        new("bus", false, (r, n, p, d) => d.Bus = r.ReadInt(n, p, 0, 31, "an I2C bus number")),
    ];

    /// <summary>Flash conditions written as a one-key mapping; "healthy" is the only plain word.</summary>
    private static readonly (string Name, string Shape, Func<ConfigReader, YamlNode, string, FlashCondition?> Read)[] FlashConditions =
    [
        ("stuckBits", "{ stuckBits: N }", (r, n, p) => r.ReadInt(n, p, 1, FlashCondition.MaxStuckBits, "a stuck-bit count (integer)") is { } v ? new FlashCondition.StuckBits(v) : null),
        ("badSectors", "{ badSectors: N }", (r, n, p) => r.ReadInt(n, p, 1, FlashCondition.ChipSectors, "a bad-sector count (integer)") is { } v ? new FlashCondition.BadSectors(v) : null),
        ("slow", "{ slow: F }", (r, n, p) => r.ReadNumber(n, p, "a slow-down factor", f => f > 1, "a number > 1 (times the datasheet maximum)") is { } v ? new FlashCondition.Slow(v) : null),
        ("dead", "{ dead: true }", (r, n, p) => r.ReadBool(n, p) switch
        {
            true => new FlashCondition.Dead(),
            false => Fail(r, n, p, "false is not allowed; write { dead: true } or leave the chip healthy"),
            null => null,
        }),
    ];

    private static readonly Field<CoreDraft>[] CoreFields =
    [
        new("slot", true, (r, n, p, d) => d.Slot = r.ReadInt(n, p, 1, MaxSlots, "a slot number")),
        new("deviceId", false, (r, n, p, d) => d.DeviceId = ReadDeviceId(r, n, p)),
        new("lot", true, (r, n, p, d) => d.Lot = r.ReadString(n, p, "a chip lot")),
        new("flash", false, (r, n, p, d) => d.Flash = ReadFlash(r, n, p)),
        new("bootloaderProtected", false, (r, n, p, d) => d.BootloaderProtected = r.ReadBool(n, p)),
    ];

    private static readonly Field<OpticsDraft>[] OpticsFields =
    [
        new("ambient", false, (r, n, p, d) => d.Ambient = r.ReadNumber(n, p, "an ambient light level", v => v is >= 0 and <= 1000, "clear counts per 2.4 ms cycle at 1x gain, 0-1000 (default 4)")),
        new("noise", false, (r, n, p, d) => d.Noise = r.ReadNumber(n, p, "a noise level", v => v is >= 0 and <= 10, "a multiplier on shot noise, 0-10 (0 = noiseless, default 1)")),
        new("crosstalk", false, (r, n, p, d) => d.Crosstalk = r.ReadNumber(n, p, "a crosstalk fraction", v => v is >= 0 and <= 0.5, "a fraction of a neighbouring LED's light, 0-0.5 (default 0.01)")),
        new("fullScale", false, (r, n, p, d) => d.FullScale = r.ReadBool(n, p)),
    ];

    // the simulated line's operator (`hilrig station` on the simulator)
    private static readonly Field<SimLineDraft>[] SimLineFields =
    [
        new("cores", true, (r, n, p, d) => d.Cores = r.ReadInt(n, p, 1, 1_000_000, "a number of Cores")),
        new("lots", false, (r, n, p, d) => d.Lots = r.ReadInt(n, p, 1, 1000, "a number of chip lots")),
        new("badLots", false, (r, n, p, d) => d.BadLots = r.ReadInt(n, p, 0, 1000, "a number of bad chip lots")),
        new("seed", false, (r, n, p, d) => d.Seed = r.ReadInt(n, p, int.MinValue, int.MaxValue, "a seed", valid: "a 32-bit integer")),
        new("handling", false, (r, n, p, d) => d.Handling = r.ReadNumber(n, p, "a handling time", v => v is >= 0 and <= 3600, "seconds per Core the operator spends pulling and dropping in, 0-3600 (default 15)")),
    ];

    private static readonly Field<SimDraft>[] SimFields =
    [
        new("seed", false, (r, n, p, d) => d.Seed = r.ReadInt(n, p, int.MinValue, int.MaxValue, "a seed", valid: "a 32-bit integer")),
        new("bootloader", false, (r, n, p, d) => d.Bootloader = r.ReadChoice(n, p, "a bootloader", Bootloaders)),
        new("firmware", false, (r, n, p, d) => d.Firmware = r.ReadChoice(n, p, "an app firmware generation", Firmwares)),
        new("cloud", false, (r, n, p, d) => r.ReadMapping(n, p, d.Cloud, CloudFields)),
        new("candidate", false, (r, n, p, d) => r.ReadMapping(n, p, d.Candidate, CandidateFields)),
        new("faults", false, (r, n, p, d) => r.ReadMapping(n, p, d.Faults, FaultFields)),
        new("bootloaderProtected", false, (r, n, p, d) => d.BootloaderProtected = r.ReadBool(n, p)),
        new("weldedRelays", false, (r, n, p, d) => ReadSlotList(r, n, p, d.WeldedRelays, "slot numbers whose relay is welded")),
        new("openRelays", false, (r, n, p, d) => ReadSlotList(r, n, p, d.OpenRelays, "slot numbers whose relay never closes")),
        new("wrongSensorIds", false, (r, n, p, d) => ReadSlotList(r, n, p, d.WrongSensorIds, "slot numbers whose colour sensor answers a wrong chip id")),
        new("wornSlots", false, (r, n, p, d) => ReadSlotList(r, n, p, d.WornSlots, "slot numbers with worn pogo pins or cable")),
        new("cores", false, (r, n, p, d) => ReadCores(r, n, p, d)),
        new("optics", false, (r, n, p, d) => r.ReadMapping(n, p, d.Optics = new OpticsDraft(), OpticsFields)),
        new("line", false, (r, n, p, d) => r.ReadMapping(n, p, d.Line = new SimLineDraft { Node = n }, SimLineFields)),
    ];


    private static readonly Field<SlotDraft>[] SlotFields =
    [
        new("slot", true, (r, n, p, d) => d.Number = r.ReadInt(n, p, 1, MaxSlots, "a slot number")),
        new("power", true, (r, n, p, d) => d.Power = ReadLine(r, n, p, activeLowByDefault: false)),
        new("mode", true, (r, n, p, d) => d.Mode = ReadLine(r, n, p, activeLowByDefault: true)),
        new("reset", true, (r, n, p, d) => d.Reset = ReadLine(r, n, p, activeLowByDefault: true)),
        new("usb", true, (r, n, p, d) => d.Usb = ReadUsb(r, n, p)),
        new("sensor", true, (r, n, p, d) => d.Sensor = ReadSensor(r, n, p)),
    ];

    private static readonly Field<ResultsDraft>[] ResultsFields =
    [
        new("kind", true, (r, n, p, d) => d.Kind = r.ReadChoice(n, p, "a results store kind", StoreKinds)),
        new("path", false, (r, n, p, d) => d.Path = r.ReadString(n, p, "a file path")),
        new("connectionString", false, (r, n, p, d) => d.ConnectionString = r.ReadString(n, p, "a connection string")),
    ];

    private static readonly Field<PiDraft>[] PiFields =
    [
        new("gpioChip", false, (r, n, p, d) => d.GpioChip = r.ReadInt(n, p, 0, 15, "a GPIO chip number (/dev/gpiochipN)")),
        new("i2cBus", false, (r, n, p, d) => d.I2cBus = r.ReadInt(n, p, 0, 31, "an I2C bus number (/dev/i2c-N)")),
    ];

    private static readonly Field<FleetDraft>[] FleetFields =
    [
        new("connectionString", true, (r, n, p, d) => d.ConnectionString = r.ReadString(n, p, "a PostgreSQL connection string")),
    ];

    private static readonly Field<ConfirmDraft>[] ConfirmFields =
    [
        new("attempts", false, (r, n, p, d) => d.Attempts = r.ReadInt(n, p, 1, ConfirmPolicy.MaxAttempts, "a number of failing attempts",
            valid: $"1-{ConfirmPolicy.MaxAttempts} (default 2: a DUT failure is final once the device fails again; 1: the first failure is final)")),
        new("changeSlot", false, (r, n, p, d) => d.ChangeSlot = r.ReadBool(n, p)),
    ];

    private static readonly Field<HealthDraft>[] HealthFields =
    [
        new("suspectAfter", false, (r, n, p, d) => d.SuspectAfter = r.ReadInt(n, p, 1, HealthThresholds.MaxStrikes, "a number of devices",
            valid: $"1-{HealthThresholds.MaxStrikes} distinct devices with a slot rig fault or an unconfirmed failure (default 1)")),
        new("quarantineAfter", false, (r, n, p, d) =>
        {
            d.QuarantineNode = n;
            d.QuarantineAfter = r.ReadInt(n, p, 1, HealthThresholds.MaxStrikes, "a number of devices",
                valid: $"1-{HealthThresholds.MaxStrikes} distinct devices, at least suspectAfter (default 3)");
        }),
    ];

    private static readonly Field<ScreeningDraft>[] ScreeningFields =
    [
        new("confirm", false, (r, n, p, d) => r.ReadMapping(n, p, d.Confirm, ConfirmFields)),
        new("health", false, (r, n, p, d) => r.ReadMapping(n, p, d.Health, HealthFields)),
    ];

    private static readonly Field<RigDraft>[] RootFields =
    [
        new("rigId", true, (r, n, p, d) => d.RigId = r.ReadString(n, p, "a rig id")),
        new("backend", true, (r, n, p, d) => d.Backend = r.ReadChoice(n, p, "a backend", Backends)),
        new("results", true, (r, n, p, d) => ReadResults(r, n, p, d.Results)),
        new("slots", true, (r, n, p, d) => ReadSlots(r, n, p, d)),
        new("sim", false, (r, n, p, d) => r.ReadMapping(n, p, d.Sim, SimFields)),
        new("pi", false, (r, n, p, d) => r.ReadMapping(n, p, d.Pi, PiFields)),
        new("cloud", false, (r, n, p, d) =>
        {
            d.Cloud.Node = n;
            d.Cloud.Nodes = r.ReadMapping(n, p, d.Cloud, CloudApiFields);
        }),
        new("line", false, (r, n, p, d) => d.Line = r.ReadString(n, p, "a production line label, e.g. line-2")),
        new("fleet", false, (r, n, p, d) =>
        {
            d.Fleet.Node = n;
            d.Fleet.Nodes = r.ReadMapping(n, p, d.Fleet, FleetFields);
        }),
        new("screening", false, (r, n, p, d) => r.ReadMapping(n, p, d.Screening, ScreeningFields)),
    ];



    // ---- readers ----

    private static void ReadResults(ConfigReader r, YamlNode node, string path, ResultsDraft results)
    {
        results.Node = node;
        results.Nodes = r.ReadMapping(node, path, results, ResultsFields);
    }

    /// <summary>
    /// The central server a rig syncs into: HILRIG_FLEET_CONNECTION (which wins), else fleet.connectionString; null
    /// when neither names one.
    /// </summary>
    private static FleetSettings? ResolveFleet(ConfigReader r, FleetDraft draft, Func<string, string?> environment)
    {
        if (environment(FleetSettings.ConnectionVariable) is { Length: > 0 } fromEnvironment)
            return new FleetSettings(fromEnvironment);
        var text = ExpandConnection(r, draft.Nodes.GetValueOrDefault("connectionString"), "fleet.connectionString", draft.ConnectionString, environment);
        return text is null ? null : new FleetSettings(text);
    }

    /// <summary>Replaces each ${NAME} in a connection string by that environment variable (a password kept out of the file).</summary>
    private static string? ExpandConnection(ConfigReader r, YamlNode? node, string path, string? text, Func<string, string?> environment)
    {
        if (text is null || node is null)
            return text;
        var missing = new List<string>();
        var expanded = EnvironmentReferenceInside().Replace(text, m =>
        {
            var value = environment(m.Groups[1].Value);
            if (value is null)
                missing.Add(m.Groups[1].Value);
            return value ?? "";
        });
        foreach (var name in missing)
            r.Error(node, path, $"${{{name}}} names environment variable {name}, which is not set; export it or write the value itself");
        return missing.Count > 0 ? null : expanded;
    }

    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex EnvironmentReferenceInside();

    private static FlashCondition? Fail(ConfigReader r, YamlNode n, string p, string message)
    {
        r.Error(n, p, message);
        return null;
    }

    private static string FlashValid => "healthy, " + string.Join(", ", FlashConditions.Select(c => c.Shape));

    private static FlashCondition? ReadFlash(ConfigReader r, YamlNode node, string path)
    {
        if (node is YamlScalarNode scalar)
        {
            if (string.Equals(scalar.Value, "healthy", StringComparison.OrdinalIgnoreCase))
                return FlashCondition.Healthy;
            return Fail(r, node, path, $"'{scalar.Value}' is not a flash condition; valid: {FlashValid}");
        }
        if (node is not YamlMappingNode { Children.Count: 1 } map)
            return Fail(r, node, path, $"{ConfigReader.Show(node)} is not one flash condition; valid: {FlashValid}");
        var (keyNode, value) = map.Children.First();
        var key = (keyNode as YamlScalarNode)?.Value;
        foreach (var condition in FlashConditions)
        {
            if (condition.Name == key)
                return condition.Read(r, value, ConfigReader.Join(path, condition.Name));
        }
        return Fail(r, keyNode, ConfigReader.Join(path, key ?? ""), $"'{key}' is not a flash condition; valid: {FlashValid}");
    }

    [GeneratedRegex("^[0-9a-fA-F]{24}$")]
    private static partial Regex DeviceIdPattern();

    [GeneratedRegex(@"^[0-9]+-[0-9]+(\.[0-9]+)*$")]
    private static partial Regex HubPathPattern();

    private static string? ReadDeviceId(ConfigReader r, YamlNode node, string path)
    {
        var text = (node as YamlScalarNode)?.Value;
        if (text is not null && DeviceIdPattern().IsMatch(text))
            return text.ToLowerInvariant();
        r.Error(node, path, $"{(node is YamlScalarNode ? $"'{text}'" : ConfigReader.Show(node))} is not a device id; valid: 24 hex digits, e.g. 55ff6c065075555332071787");
        return null;
    }

    private static string? ReadHubPath(ConfigReader r, YamlNode node, string path)
    {
        var text = (node as YamlScalarNode)?.Value;
        if (text is not null && HubPathPattern().IsMatch(text))
            return text;
        r.Error(node, path, $"{(node is YamlScalarNode ? $"'{text}'" : ConfigReader.Show(node))} is not a USB hub path; valid: bus-port[.port...], e.g. \"1-1\" or \"1-1.4\"");
        return null;
    }

    private static LineDraft ReadLine(ConfigReader r, YamlNode node, string path, bool activeLowByDefault)
    {
        var line = new LineDraft { Node = node, Path = path, ActiveLowByDefault = activeLowByDefault };
        var seen = r.ReadMapping(node, path, line, LineFields);
        if (node is not YamlMappingNode)
            return line;
        var hasGpio = seen.ContainsKey("gpio");
        var hasExpander = seen.ContainsKey("expander");
        if (hasGpio == hasExpander)
            r.Error(node, path, "a line is either { gpio: N } or { expander: 0x20-0x27, pin: 0-15 }, exactly one of gpio/expander");
        else if (hasExpander && !seen.ContainsKey("pin"))
            r.Error(node, ConfigReader.Join(path, "pin"), "missing required key 'pin' for an expander line; valid: 0-15");
        else if (hasGpio && seen.TryGetValue("pin", out var pin))
            r.Error(pin, ConfigReader.Join(path, "pin"), "'pin' belongs to expander lines; a gpio line is just { gpio: N }");
        return line;
    }

    private static UsbDraft ReadUsb(ConfigReader r, YamlNode node, string path)
    {
        var usb = new UsbDraft { Node = node, Path = path };
        r.ReadMapping(node, path, usb, UsbFields);
        return usb;
    }

    private static SensorDraft ReadSensor(ConfigReader r, YamlNode node, string path)
    {
        var sensor = new SensorDraft { Node = node, Path = path };
        r.ReadMapping(node, path, sensor, SensorFields);
        return sensor;
    }

    private static void ReadSlots(ConfigReader r, YamlNode node, string path, RigDraft rig)
    {
        var items = r.ReadSequence(node, path, "slots");
        if (node is YamlSequenceNode && items.Count == 0)
            r.Error(node, path, $"no slots; a rig has 1-{MaxSlots}");
        for (var i = 0; i < items.Count; i++)
        {
            var slot = new SlotDraft { Path = $"{path}[{i}]", Node = items[i] };
            slot.Nodes = r.ReadMapping(items[i], slot.Path, slot, SlotFields);
            rig.Slots.Add(slot);
        }
        if (items.Count > MaxSlots)
            r.Error(node, path, $"{items.Count} slots; a rig has 1-{MaxSlots}");
    }

    private static void ReadSlotList(ConfigReader r, YamlNode node, string path, List<int> into, string what)
    {
        var items = r.ReadSequence(node, path, what);
        for (var i = 0; i < items.Count; i++)
        {
            if (r.ReadInt(items[i], $"{path}[{i}]", 1, MaxSlots, "a slot number") is { } slot) into.Add(slot);
        }
    }

    private static void ReadCores(ConfigReader r, YamlNode node, string path, SimDraft sim)
    {
        var items = r.ReadSequence(node, path, "simulated Cores");
        for (var i = 0; i < items.Count; i++)
        {
            var core = new CoreDraft { Path = $"{path}[{i}]" };
            core.Nodes = r.ReadMapping(items[i], core.Path, core, CoreFields);
            sim.Cores.Add(core);
        }
    }

    private static Uri? ReadCloudUrl(ConfigReader r, YamlNode node, string path, string? text, string? variable = null)
    {
        if (Uri.TryCreate(text, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps)
            && url.Query.Length == 0 && url.Fragment.Length == 0 && url.UserInfo.Length == 0)
            return url.AbsoluteUri.EndsWith('/') ? url : new Uri(url.AbsoluteUri + "/");
        var shown = variable is not null ? $"{variable}={text}" : node is YamlScalarNode ? $"'{text}'" : ConfigReader.Show(node);
        r.Error(node, path, $"{shown} is not a cloud base URL; valid: http:// or https:// with host and optional port and path, no query, e.g. http://127.0.0.1:8080 (a local spark-server)");
        return null;
    }

    [GeneratedRegex(@"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")]
    private static partial Regex EnvironmentReference();

    /// <summary>
    /// The cloud is configured when a URL is known, from cloud.url or HILRIG_CLOUD_URL (which wins); the token from
    /// HILRIG_CLOUD_TOKEN, else cloud.token, which may be "${NAME}" to read it from the environment at load.
    /// </summary>
    private static CloudSettings? ResolveCloud(ConfigReader r, YamlNode root, CloudApiDraft draft, Func<string, string?> environment)
    {
        var at = draft.Node ?? root;
        var url = draft.Url;
        var urlNode = draft.Nodes.GetValueOrDefault("url") ?? at;
        if (environment(CloudSettings.UrlVariable) is { Length: > 0 } envUrl)
            url = ReadCloudUrl(r, urlNode, "cloud.url", envUrl, CloudSettings.UrlVariable);
        else if (draft.Node is YamlMappingNode && !draft.Nodes.ContainsKey("url"))
            r.Error(at, "cloud.url", $"missing required key 'url' (or set {CloudSettings.UrlVariable}), e.g. http://127.0.0.1:8080");

        string? token = null;
        var tokenNode = draft.Nodes.GetValueOrDefault("token") ?? at;
        if (environment(CloudSettings.TokenVariable) is { Length: > 0 } envToken)
            token = envToken;
        else if (draft.Token is { } written && EnvironmentReference().Match(written) is { Success: true } reference)
        {
            var name = reference.Groups[1].Value;
            token = environment(name) is { Length: > 0 } value ? value : null;
            if (token is null)
                r.Error(tokenNode, "cloud.token", $"{written} names environment variable {name}, which is not set; export it or write the token itself");
        }
        else
            token = draft.Token;

        if (url is null) return null;
        if (token is null)
        {
            if (!draft.Nodes.ContainsKey("token"))
                r.Error(at, "cloud.token", $"the cloud at {url} needs an access token: cloud.token (a token or ${{NAME}} of an environment variable) or {CloudSettings.TokenVariable}");
            return null;
        }
        return new CloudSettings(url, token,
            draft.TimeoutSeconds is { } t ? TimeSpan.FromSeconds(t) : CloudSettings.DefaultRequestTimeout,
            draft.FlashTimeoutSeconds is { } f ? TimeSpan.FromSeconds(f) : CloudSettings.DefaultFlashTimeout);
    }

    // ---- cross-field checks ----

    private static void CheckResults(ConfigReader r, RigDraft rig)
    {
        var results = rig.Results;
        if (results.Node is null)
            return;
        if (results.Kind == ResultsStoreKind.Sqlite && results.Path is null)
            r.Error(results.Node, "results.path", "missing required key 'path' for a sqlite store, e.g. results/hilrig.db");
        if (results.Kind == ResultsStoreKind.Postgres && results.ConnectionString is null)
            r.Error(results.Node, "results.connectionString", "missing required key 'connectionString' for a postgres store");
    }

    private static void CheckScreening(ConfigReader r, ScreeningDraft screening)
    {
        var health = screening.Health;
        var suspect = health.SuspectAfter ?? HealthThresholds.Default.SuspectAfter;
        if (health.QuarantineAfter is { } quarantine && quarantine < suspect && health.QuarantineNode is { } node)
            r.Error(node, "screening.health.quarantineAfter", $"{quarantine} is below suspectAfter ({suspect}); valid: at least suspectAfter, e.g. {Math.Max(suspect, 3)}");
    }

    private static void CheckSlots(ConfigReader r, List<SlotDraft> slots)
    {
        var numbers = new Dictionary<int, SlotDraft>();
        var lines = new Dictionary<string, string>(StringComparer.Ordinal);
        var ports = new Dictionary<string, string>(StringComparer.Ordinal);
        var sensors = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var slot in slots)
        {
            if (slot.Number is { } number && !numbers.TryAdd(number, slot))
                r.Error(slot.Nodes["slot"], $"{slot.Path}.slot", $"slot {number} is already {numbers[number].Path}; each slot number once");

            // One physical line drives one thing: a shared relay or button line would act on two Cores.
            foreach (var line in new[] { slot.Power, slot.Mode, slot.Reset })
            {
                if (line?.Identity is not { } id)
                    continue;
                if (!lines.TryAdd(id, line.Path))
                    r.Error(line.Node, line.Path, $"{id} is already wired to {lines[id]}; each line drives one slot input");
            }
            if (slot.Usb is { Hub: { } hub, Port: { } port } usb)
            {
                var key = $"{hub}.{port}";
                if (!ports.TryAdd(key, usb.Path))
                    r.Error(usb.Node, usb.Path, $"hub {hub} port {port} is already {ports[key]}; each slot needs its own hub port");
            }
            if (slot.Sensor is { Mux: { } mux, Channel: { } channel } sensor)
            {
                var key = $"bus {sensor.Bus?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "default"} mux 0x{mux:x2} channel {channel}";
                if (!sensors.TryAdd(key, sensor.Path))
                    r.Error(sensor.Node, sensor.Path, $"mux 0x{mux:x2} channel {channel} is already {sensors[key]}; each slot needs its own sensor channel");
            }
        }
    }

    private static List<SimCoreConfig> ResolveCores(ConfigReader r, RigDraft rig)
    {
        var seed = rig.Sim.Seed ?? 0;
        var slotNumbers = rig.Slots.Where(s => s.Number.HasValue).Select(s => s.Number!.Value).ToHashSet();
        var bySlot = new Dictionary<int, CoreDraft>();
        var ids = new Dictionary<string, CoreDraft>(StringComparer.Ordinal);
        foreach (var core in rig.Sim.Cores)
        {
            if (core.Slot is not { } slot)
                continue;
            if (!slotNumbers.Contains(slot))
                r.Error(core.Nodes["slot"], $"{core.Path}.slot",
                    $"slot {slot} is not in the rig; valid: {string.Join(", ", slotNumbers.Order())}");
            else if (!bySlot.TryAdd(slot, core))
                r.Error(core.Nodes["slot"], $"{core.Path}.slot", $"slot {slot} already has a Core at {bySlot[slot].Path}");
            if (core.DeviceId is { } id && !ids.TryAdd(id, core))
                r.Error(core.Nodes["deviceId"], $"{core.Path}.deviceId", $"device id {id} is already {ids[id].Path}; device ids are unique");
        }

        var cores = new List<SimCoreConfig>();
        foreach (var slot in slotNumbers.Order())
        {
            var core = bySlot.GetValueOrDefault(slot);
            var derived = core?.DeviceId is null;
            var deviceId = core?.DeviceId ?? SimDefaults.DeviceIdFor(seed, slot);
            // A derived id can only collide with one the file spells out.
            if (derived && ids.TryGetValue(deviceId, out var owner))
                r.Error(owner.Nodes["deviceId"], $"{owner.Path}.deviceId", $"device id {deviceId} is the one derived for slot {slot}; choose another");
            cores.Add(new SimCoreConfig(slot, deviceId, core?.Lot ?? SimDefaults.UnlistedLot, core?.Flash ?? FlashCondition.Healthy)
            {
                BootloaderProtected = core?.BootloaderProtected,
            });
        }
        return cores;
    }

    // ---- hash ----

    /// <summary>SHA-256 over a canonical form of the document (mapping keys sorted, comments and layout dropped).</summary>
    private static string HashOf(YamlNode root)
    {
        var canonical = new StringBuilder();
        Canonical(root, canonical);
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToString()));
        return Convert.ToHexStringLower(digest)[..16];
    }

    private static void Canonical(YamlNode node, StringBuilder sb)
    {
        switch (node)
        {
            case YamlScalarNode s:
                sb.Append('"').Append((s.Value ?? "").Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)).Append('"');
                break;
            case YamlSequenceNode seq:
                sb.Append('[');
                foreach (var child in seq.Children)
                {
                    Canonical(child, sb);
                    sb.Append(',');
                }
                sb.Append(']');
                break;
            case YamlMappingNode map:
                sb.Append('{');
                foreach (var (key, value) in map.Children.OrderBy(c => (c.Key as YamlScalarNode)?.Value, StringComparer.Ordinal))
                {
                    Canonical(key, sb);
                    sb.Append(':');
                    Canonical(value, sb);
                    sb.Append(',');
                }
                sb.Append('}');
                break;
        }
    }

    private sealed class TrackingParser(IParser inner) : IParser
    {
        public Mark LastGood { get; private set; } = new(0, 1, 1);

        public ParsingEvent? Current => inner.Current;

        public bool MoveNext()
        {
            if (inner.Current is { } current)
                LastGood = current.End;
            return inner.MoveNext();
        }
    }

    // ---- drafts: what has been read so far, nulls where a value was missing or wrong ----

    private sealed class RigDraft
    {
        public string? RigId { get; set; }
        public RigBackend? Backend { get; set; }
        public ResultsDraft Results { get; } = new();
        public List<SlotDraft> Slots { get; } = [];
        public SimDraft Sim { get; } = new();
        public PiDraft Pi { get; } = new();
        public CloudApiDraft Cloud { get; } = new();
        public FleetDraft Fleet { get; } = new();
        public string? Line { get; set; }
        public ScreeningDraft Screening { get; } = new();
    }

    private sealed class ScreeningDraft
    {
        public ConfirmDraft Confirm { get; } = new();
        public HealthDraft Health { get; } = new();

        public ScreeningPolicy Build() => new(
            new ConfirmPolicy(Confirm.Attempts ?? ScreeningPolicy.Default.Confirm.Attempts, Confirm.ChangeSlot ?? ScreeningPolicy.Default.Confirm.ChangeSlot),
            new HealthThresholds(Health.SuspectAfter ?? HealthThresholds.Default.SuspectAfter, Health.QuarantineAfter ?? HealthThresholds.Default.QuarantineAfter));
    }

    private sealed class ConfirmDraft
    {
        public int? Attempts { get; set; }
        public bool? ChangeSlot { get; set; }
    }

    private sealed class HealthDraft
    {
        public int? SuspectAfter { get; set; }
        public int? QuarantineAfter { get; set; }
        public YamlNode? QuarantineNode { get; set; }
    }

    private sealed class FleetDraft
    {
        public YamlNode? Node { get; set; }
        public Dictionary<string, YamlNode> Nodes { get; set; } = [];
        public string? ConnectionString { get; set; }
    }

    private sealed class CloudApiDraft
    {
        public YamlNode? Node { get; set; }
        public Dictionary<string, YamlNode> Nodes { get; set; } = [];
        public Uri? Url { get; set; }
        public string? Token { get; set; }
        public double? TimeoutSeconds { get; set; }
        public double? FlashTimeoutSeconds { get; set; }
    }

    private sealed class PiDraft
    {
        public int? GpioChip { get; set; }
        public int? I2cBus { get; set; }
    }

    private sealed class ResultsDraft
    {
        public YamlNode? Node { get; set; }
        public Dictionary<string, YamlNode> Nodes { get; set; } = [];
        public ResultsStoreKind? Kind { get; set; }
        public string? Path { get; set; }
        public string? ConnectionString { get; set; }
    }

    private sealed class SlotDraft
    {
        public required string Path { get; init; }
        public required YamlNode Node { get; init; }
        public Dictionary<string, YamlNode> Nodes { get; set; } = [];
        public int? Number { get; set; }
        public LineDraft? Power { get; set; }
        public LineDraft? Mode { get; set; }
        public LineDraft? Reset { get; set; }
        public UsbDraft? Usb { get; set; }
        public SensorDraft? Sensor { get; set; }

        public SlotConfig Build() => new(
            Number!.Value, Power!.Build(), Mode!.Build(), Reset!.Build(),
            new UsbPortWiring(Usb!.Hub!, Usb.Port!.Value),
            new SensorWiring(Sensor!.Mux!.Value, Sensor.Channel!.Value, Sensor.Bus));
    }

    private sealed class LineDraft
    {
        public required YamlNode Node { get; init; }
        public required string Path { get; init; }
        public bool ActiveLowByDefault { get; init; }
        public int? Gpio { get; set; }
        public int? Expander { get; set; }
        public int? Pin { get; set; }
        public bool? ActiveLow { get; set; }

        public string? Identity => Gpio is { } g ? $"gpio {g}"
            : Expander is { } e && Pin is { } p ? $"expander 0x{e:x2} pin {p}"
            : null;

        public ControlLine Build() => Gpio is { } g
            ? new GpioLine(g, ActiveLow ?? ActiveLowByDefault)
            : new ExpanderLine(Expander!.Value, Pin!.Value, ActiveLow ?? ActiveLowByDefault);
    }

    private sealed class UsbDraft
    {
        public required YamlNode Node { get; init; }
        public required string Path { get; init; }
        public string? Hub { get; set; }
        public int? Port { get; set; }
    }

    private sealed class SensorDraft
    {
        public required YamlNode Node { get; init; }
        public required string Path { get; init; }
        public int? Mux { get; set; }
        public int? Channel { get; set; }
        public int? Bus { get; set; }
    }

    private sealed class SimDraft
    {
        public int? Seed { get; set; }
        public SimBootloader? Bootloader { get; set; }
        public SimFirmware? Firmware { get; set; }
        public CloudDraft Cloud { get; } = new();
        public CandidateDraft Candidate { get; } = new();
        public FaultsDraft Faults { get; } = new();
        public bool? BootloaderProtected { get; set; }
        public List<int> WeldedRelays { get; } = [];
        public List<int> OpenRelays { get; } = [];
        public List<int> WrongSensorIds { get; } = [];
        public List<int> WornSlots { get; } = [];
        public List<CoreDraft> Cores { get; } = [];
        public OpticsDraft? Optics { get; set; }
        public SimLineDraft? Line { get; set; }
    }

    private sealed class SimLineDraft
    {
        public required YamlNode Node { get; init; }
        public int? Cores { get; set; }
        public int? Lots { get; set; }
        public int? BadLots { get; set; }
        public int? Seed { get; set; }
        public double? Handling { get; set; }

        public SimLineConfig? Build(ConfigReader r, int simSeed)
        {
            if (Cores is not { } cores) return null;
            var lots = Lots ?? SimLineConfig.DefaultLots;
            var bad = BadLots ?? Math.Min(1, lots);
            if (bad > lots)
            {
                r.Error(Node, "sim.line.badLots", $"{bad} bad lots of {lots}; valid: 0-{lots} (at most sim.line.lots)");
                return null;
            }
            return new SimLineConfig(cores, lots, bad, Seed ?? simSeed, TimeSpan.FromSeconds(Handling ?? SimLineConfig.DefaultHandling.TotalSeconds));
        }
    }

    private sealed class OpticsDraft
    {
        public double? Ambient { get; set; }
        public double? Noise { get; set; }
        public double? Crosstalk { get; set; }
        public bool? FullScale { get; set; }

        public SimOpticsConfig Build()
        {
            var d = SimOpticsConfig.Default;
            return new SimOpticsConfig(Ambient ?? d.Ambient, Noise ?? d.Noise, Crosstalk ?? d.Crosstalk, FullScale ?? d.FullScale);
        }
    }

    private sealed class FaultsDraft
    {
        public double? UsbStall { get; set; }
        public double? UsbTimeout { get; set; }
        public double? UsbDisconnect { get; set; }
        public double? I2cNack { get; set; }
        public double? ButtonDead { get; set; }
        public double? Cloud5xx { get; set; }
        public double? CloudDrop { get; set; }
        public double? CloudSlow { get; set; }
        public double? RelayStuck { get; set; }
        public double? WornContact { get; set; }
        public double? BrownOut { get; set; }

        public double? SensorId { get; set; }

        public SimFaultSettings Build(bool wornSlots) => new(UsbStall ?? 0, UsbTimeout ?? 0, UsbDisconnect ?? 0, I2cNack ?? 0, ButtonDead ?? 0,
            Cloud5xx ?? 0, CloudDrop ?? 0, CloudSlow ?? 0, RelayStuck ?? 0, WornContact ?? (wornSlots ? SimFaultSettings.DefaultWornContact : 0), BrownOut ?? 0, SensorId ?? 0);
    }

    private sealed class CandidateDraft
    {
        public double? SpiBusyTimeoutMs { get; set; }
        public bool? StageFactoryReset { get; set; }
    }

    private sealed class CloudDraft
    {
        public double? LatencyMs { get; set; }
        public double? Loss { get; set; }
    }

    private sealed class CoreDraft
    {
        public required string Path { get; init; }
        public Dictionary<string, YamlNode> Nodes { get; set; } = [];
        public int? Slot { get; set; }
        public string? DeviceId { get; set; }
        public string? Lot { get; set; }
        public FlashCondition? Flash { get; set; }
        public bool? BootloaderProtected { get; set; }
    }
}
