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
