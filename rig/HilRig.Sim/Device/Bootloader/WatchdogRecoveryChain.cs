namespace HilRig.Sim.Device.Bootloader;

public enum WatchdogRecoveryAction
{
    /// <summary>The app got far enough (or health was unknown): boot as usual.</summary>
    BootNormally,
    RestoreBackup,
    FactoryReset,
    EraseAppAndEnterDfu,
}

/// <summary>One row of BL14's recovery table: BKP_DR1 at an IWDG reset, what the bootloader does, DR1 afterwards.</summary>
public sealed record WatchdogRecoveryStep(ushort Health, WatchdogRecoveryAction Action, ushort HealthAfter);

/// <summary>
/// BL14's response to an IWDG reset while BKP_DR1 != 0xFFFF (spark-core.md section 3.2). The app model reports
/// how far it got by leaving its health value in DR1 before the watchdog bites: below
/// <see cref="AppStartedHealth"/> means "crashed before SparkCoreConfig" and walks the chain.
/// </summary>
public static class WatchdogRecoveryChain
{
    /// <summary>The bootloader's value before the jump.</summary>
    public const ushort BootloaderJumped = 1;

    /// <summary>The app entered SparkCoreConfig; from here on a watchdog reset boots normally.</summary>
    public const ushort AppStartedHealth = 4;

    public static readonly IReadOnlyList<WatchdogRecoveryStep> Steps =
    [
        new(1, WatchdogRecoveryAction.RestoreBackup, 2),
        new(2, WatchdogRecoveryAction.FactoryReset, 3),
        new(3, WatchdogRecoveryAction.EraseAppAndEnterDfu, 0xFFFF),
    ];

    public static WatchdogRecoveryStep For(ushort health) =>
        Steps.FirstOrDefault(step => step.Health == health) ?? new WatchdogRecoveryStep(health, WatchdogRecoveryAction.BootNormally, 0xFFFF);
}
