using System.Text.Json.Serialization;

namespace HilRig.Core.Procedures;

/// <summary>What a procedure concluded about the device in a slot.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Verdict>))]
public enum Verdict
{
    [JsonStringEnumMemberName("pass")] Pass,

    /// <summary>The DUT failed: a product defect.</summary>
    [JsonStringEnumMemberName("fail")] Fail,

    /// <summary>The rig could not judge the DUT (USB, sensor, relay, cabling): never counted against the device.</summary>
    [JsonStringEnumMemberName("rig-fault")] RigFault,

    [JsonStringEnumMemberName("skipped")] Skipped,
}

public static class VerdictNames
{
    public static string ToName(this Verdict verdict) => verdict switch
    {
        Verdict.Pass => "pass",
        Verdict.Fail => "fail",
        Verdict.RigFault => "rig-fault",
        _ => "skipped",
    };

    public static Verdict Parse(string name) => name switch
    {
        "pass" => Verdict.Pass,
        "fail" => Verdict.Fail,
        "rig-fault" => Verdict.RigFault,
        "skipped" => Verdict.Skipped,
        _ => throw new FormatException($"'{name}' is not a verdict; valid: pass, fail, rig-fault, skipped"),
    };
}

/// <summary>Failure modes by the names support engineers use.</summary>
public static class FailureModes
{
    public const string BadExternalFlash = "bad-external-flash";
    public const string StuckInDfu = "stuck-in-dfu";
    public const string NoDfu = "no-dfu";
    public const string NoListeningMode = "no-listening-mode";
    public const string OtaTimeout = "ota-timeout";
    public const string WrongDevice = "wrong-device";
    public const string OtaFailed = "ota-failed";
    public const string NoCloud = "no-cloud";
    public const string WrongLed = "wrong-led";

    /// <summary>The bootloader pages did not read back as written (the Core is left in DFU, not reset).</summary>
    public const string BootloaderVerifyFailed = "bootloader-verify-failed";

    /// <summary>The Core shows nothing after a reset: no DFU, no serial, not on the cloud (no bootloader that runs).</summary>
    public const string Bricked = "bricked";

    /// <summary>Recovery over DFU did not bring the Core back to a known-good app (it leaves a soak).</summary>
    public const string Unrecoverable = "unrecoverable";

    /// <summary>Rig faults: what about the rig stopped the judgement.</summary>
    public const string UsbTransport = "usb-transport";
    public const string SlotEmpty = "slot-empty";
    public const string PowerNotCut = "power-not-cut";
    public const string SensorFault = "sensor-fault";

    /// <summary>
    /// Rig fault: the Core's option bytes write-protect bootloader pages 0-15, so this rig cannot flash a bootloader on
    /// it. The Core is not at fault; a rig prepared for bootloader soaks has unlocked Cores.
    /// </summary>
    public const string BootloaderProtected = "bootloader-protected";

    /// <summary>Rig fault: an interrupted procedure's originals wait in the journal for this Core; `hilrig recover` first.</summary>
    public const string JournalPending = "journal-pending";

    /// <summary>Rig fault: a slot's MODE or RESET line does not follow what the rig drives, or its expander does not answer.</summary>
    public const string ButtonFault = "button-fault";

    /// <summary>Rig fault: a slot's relay line does not follow what the rig drives.</summary>
    public const string RelayFault = "relay-fault";

    /// <summary>The cloud API refused the rig's request (token, device id) or did not answer in time.</summary>
    public const string CloudError = "cloud-error";
}

/// <summary>
/// Whose fault a verdict is, typed (issue 14.2): the DUT's, or which part of the rig stopped the judgement. Carried by
/// every finding and stored with its row, so slot health and confirmation never read a signature's text.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<FailureKind>))]
public enum FailureKind
{
    /// <summary>No failure: a pass (or a skipped step).</summary>
    [JsonStringEnumMemberName("none")] None,

    /// <summary>The device under test failed: a product defect.</summary>
    [JsonStringEnumMemberName("dut")] Dut,

    /// <summary>The slot's USB path: cable, hub port, pogo pins, a DFU transfer that broke, the wrong Core on the port.</summary>
    [JsonStringEnumMemberName("usb")] Usb,

    /// <summary>The slot's colour sensor or its mux channel.</summary>
    [JsonStringEnumMemberName("sensor")] Sensor,

    /// <summary>The slot's power relay.</summary>
    [JsonStringEnumMemberName("relay")] Relay,

    /// <summary>The slot's MODE/RESET button lines.</summary>
    [JsonStringEnumMemberName("buttons")] Buttons,

    /// <summary>The cloud refused, dropped or timed out: the world's fault, not the slot's.</summary>
    [JsonStringEnumMemberName("cloud")] Cloud,

    /// <summary>The rig software or its own state (a pending journal, a Core it was not prepared for).</summary>
    [JsonStringEnumMemberName("software")] Software,
}

public static class FailureKinds
{
    private static readonly (FailureKind Kind, string Name)[] Names =
    [
        (FailureKind.None, "none"), (FailureKind.Dut, "dut"), (FailureKind.Usb, "usb"), (FailureKind.Sensor, "sensor"),
        (FailureKind.Relay, "relay"), (FailureKind.Buttons, "buttons"), (FailureKind.Cloud, "cloud"), (FailureKind.Software, "software"),
    ];

    public static string ToName(this FailureKind kind) => Names.First(n => n.Kind == kind).Name;

    public static FailureKind Parse(string name) =>
        Names.FirstOrDefault(n => n.Name == name) is { Name: not null } found ? found.Kind
        : throw new FormatException($"'{name}' is not a failure kind; valid: {string.Join(", ", Names.Select(n => n.Name))}");

    /// <summary>
    /// The kind each procedure's verdict carries: a fail is the DUT's; a rig fault's kind follows from its failure mode,
    /// one of the <see cref="FailureModes"/> constants the procedures set (a closed catalog, never the signature's text).
    /// A rig-fault mode outside the catalog is the rig software's.
    /// </summary>
    public static FailureKind Of(Verdict verdict, string? failureMode) => verdict switch
    {
        Verdict.Fail => FailureKind.Dut,
        Verdict.RigFault => failureMode switch
        {
            FailureModes.UsbTransport or FailureModes.WrongDevice or FailureModes.SlotEmpty => FailureKind.Usb,
            FailureModes.SensorFault => FailureKind.Sensor,
            FailureModes.PowerNotCut or FailureModes.RelayFault => FailureKind.Relay,
            FailureModes.NoDfu or FailureModes.ButtonFault => FailureKind.Buttons,
            FailureModes.CloudError => FailureKind.Cloud,
            _ => FailureKind.Software,
        },
        _ => FailureKind.None,
    };

    /// <summary>The kinds that are the slot's own hardware, and so count against its health (the cloud and the software do not).</summary>
    public static bool IsSlotHardware(this FailureKind kind) => kind is FailureKind.Usb or FailureKind.Sensor or FailureKind.Relay or FailureKind.Buttons;
}
