namespace HilRig.Sim.Device.Bootloader;

/// <summary>Which bootloader build a Core carries (spark-core.md section 3).</summary>
public enum BootloaderKind
{
    /// <summary>2013-11 build on early Kickstarter Cores: no watchdog chain, no software factory reset, factory reset backs up first.</summary>
    BL13,

    /// <summary>2014-08 build: IWDG recovery chain, 0xAAAA software factory reset, 5-word flags page.</summary>
    BL14,

    /// <summary>
    /// A new build under soak: BL14's behaviour with configurable defects (<see cref="BootloaderBuild"/>): by default
    /// its factory reset stages the factory image through the backup slot, and its SPI-flash busy wait gives up after
    /// 30 ms: a sector erase that takes longer is abandoned while the chip is still busy, the chip ignores the commands
    /// that follow, and the staged copy has holes (slow chips fail, healthy ones do not).
    /// </summary>
    Candidate,
}

/// <summary>The RCC reset flag the bootloader sees.</summary>
public enum ResetCause
{
    PowerOn,
    ResetPin,
    Software,
    IndependentWatchdog,
}

public enum DfuReason
{
    /// <summary>The update flag was none of 0x5000 / 0x0005 / 0x5555 (e.g. a blank flags page).</summary>
    InvalidFlags,

    /// <summary>MODE held from reset for 3-10 s.</summary>
    ModeButton,

    /// <summary>The app area's word 0 failed the stack-pointer check ("yellow flash of death").</summary>
    NoValidApp,

    /// <summary>BL14 watchdog chain step 3: the app area was erased.</summary>
    WatchdogChainExhausted,
}

/// <summary>Work the bootloader did before its outcome, in order.</summary>
public enum BootAction
{
    WatchdogRecovery,
    OtaApply,
    FactoryReset,
    BackupRestore,
    AppAreaErased,
    FinishUpdate,
}

/// <summary>How a bootloader run ended.</summary>
public abstract record BootOutcome
{
    private BootOutcome()
    {
    }

    public IReadOnlyList<BootAction> Actions { get; init; } = [];

    /// <summary>Outcomes are equal when they are the same kind with the same actions in order (and equal fields).</summary>
    public virtual bool Equals(BootOutcome? other) =>
        other is not null && EqualityContract == other.EqualityContract && Actions.SequenceEqual(other.Actions);

    public override int GetHashCode() => HashCode.Combine(EqualityContract, Actions.Count);

    protected virtual bool PrintMembers(System.Text.StringBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Append("Actions = [").AppendJoin(", ", Actions).Append(']');
        return true;
    }

    /// <summary>The bootloader stays in DFU with flashing yellow until reset.</summary>
    public sealed record EnterDfu(DfuReason Reason) : BootOutcome;

    /// <summary>
    /// The bootloader jumped to the app area. <paramref name="Image"/> is the whole 108 KiB app area;
    /// <paramref name="Plausible"/> is false when word 0 passed the SP check but the image is not a Spark build
    /// (the CPU runs garbage). <paramref name="WatchdogTimeout"/> is the IWDG started before the jump (BL14), or null.
    /// </summary>
    public sealed record RunApp(byte[] Image, bool Plausible, TimeSpan? WatchdogTimeout) : BootOutcome;

    /// <summary>Finish_Update ran: flags 0x5000, USB D+ off, system reset. The caller runs the bootloader again.</summary>
    public sealed record Reset : BootOutcome;

    /// <summary>An SPI flash operation never cleared BUSY; the CPU spins with the LED as it was until power or reset.</summary>
    public sealed record Hung(string Operation) : BootOutcome;
}
