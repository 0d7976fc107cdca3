using System.Buffers.Binary;
using HilRig.Core.Spark;
using HilRig.Sim.Device.Flash;

namespace HilRig.Sim.Device.Bootloader;

/// <summary>
/// The Spark Core bootloader's power-up / reset decision (spark-core.md section 3, BL14 with BL13's differences),
/// run on device time: flags, watchdog recovery chain, MODE button countdown, OTA apply / factory reset / backup
/// restore on the flash models, stack-pointer check and jump. One call = one pass from reset to an outcome.
/// </summary>
public sealed class SparkBootloader
{
    /// <summary>The countdown runs on the 1 ms SysTick; polling every 10 ms keeps the 3 s / 10 s edges within 10 ms.</summary>
    public static readonly TimeSpan ButtonPollInterval = TimeSpan.FromMilliseconds(10);

    public static readonly TimeSpan DfuHoldTime = TimeSpan.FromSeconds(3);
    public static readonly TimeSpan FactoryResetHoldTime = TimeSpan.FromSeconds(10);

    /// <summary>BL14 starts the IWDG before the jump: LSI 40 kHz, prescaler 256, reload 781 ≈ 5 s.</summary>
    public static readonly TimeSpan AppWatchdogTimeout = TimeSpan.FromSeconds(5);

    /// <summary>rgbled toggle periods: 100 ms for DFU, 50 ms while rewriting flash.</summary>
    public const int DfuToggleMs = 100;

    public const int UpdateToggleMs = 50;

    private const uint ExternalWordStride = 4;

    private readonly Stm32InternalFlash _internal;
    private readonly SparkSpiFlashDriver _external;
    private readonly SystemFlags _flags;
    private readonly ILedOutput _led;
    private readonly TimeProvider _time;
    private readonly List<BootAction> _actions = [];
    private TimeSpan _pending;

    /// <summary>Device time of this run so far (spent and pending), for the SPI busy timeout's bookkeeping.</summary>
    private TimeSpan _elapsed;

    /// <summary>Until when (in <see cref="_elapsed"/> time) the SPI chip is still busy with an operation the driver gave up on.</summary>
    private TimeSpan _spiBusyUntil;

    public SparkBootloader(
        BootloaderKind kind,
        Stm32InternalFlash internalFlash,
        SparkSpiFlashDriver externalFlash,
        SystemFlags flags,
        ILedOutput led,
        TimeProvider time)
        : this(kind switch
        {
            BootloaderKind.BL13 => BootloaderBuild.BL13,
            BootloaderKind.Candidate => BootloaderBuild.Candidate(HilRig.Core.Config.SimCandidateConfig.Default),
            _ => BootloaderBuild.BL14,
        }, internalFlash, externalFlash, flags, led, time)
    {
    }

    public SparkBootloader(
        BootloaderBuild build,
        Stm32InternalFlash internalFlash,
        SparkSpiFlashDriver externalFlash,
        SystemFlags flags,
        ILedOutput led,
        TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(build);
        ArgumentNullException.ThrowIfNull(internalFlash);
        ArgumentNullException.ThrowIfNull(externalFlash);
        ArgumentNullException.ThrowIfNull(flags);
        ArgumentNullException.ThrowIfNull(led);
        ArgumentNullException.ThrowIfNull(time);
        Build = build;
        _internal = internalFlash;
        _external = externalFlash;
        _flags = flags;
        _led = led;
        _time = time;
    }

    public BootloaderBuild Build { get; }

    public BootloaderKind Kind => Build.Kind;

    /// <summary>The candidate is built on BL14: flags page, watchdog chain and software factory reset as BL14.</summary>
    private bool IsBl14Family => Build.IsBl14Family;

    private int FlagWords => Build.FlagWords;

    /// <summary>
    /// Runs the bootloader from reset. <paramref name="modePressed"/> is the MODE button (true = held), sampled
    /// once after the flags are read and then every <see cref="ButtonPollInterval"/> while held.
    /// </summary>
    public async Task<BootOutcome> RunAsync(ResetCause cause, Func<bool> modePressed, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(modePressed);
        _actions.Clear();
        _pending = TimeSpan.Zero;
        _elapsed = _spiBusyUntil = TimeSpan.Zero;
        var start = _time.GetTimestamp();
        _led.Show(LedProgram.Off);
        Spend(_external.Init());

        _flags.Load(_internal, FlagWords);
        bool FlagIs(ushort value) => _flags.BkpDr10 == value || _flags.FlashOtaUpdate == value;
        bool otaAvailable = false, restoreBackup = false, factoryReset = false, dfu = false, wipeWifi = false;
        var dfuReason = DfuReason.InvalidFlags;
        if (!FlagIs(SystemFlags.UpdateNormal))
        {
            if (FlagIs(SystemFlags.UpdateOtaAvailable)) otaAvailable = true;
            else if (FlagIs(SystemFlags.UpdateApplyInterrupted)) restoreBackup = true;
            else dfu = true;
        }
        if (IsBl14Family && _flags.FactoryReset == SystemFlags.FactoryResetRequested) factoryReset = true;

        if (IsBl14Family && cause == ResetCause.IndependentWatchdog && _flags.BkpDr1 != SystemFlags.HealthKicked)
        {
            // The app died before kicking the watchdog: its stored intentions no longer count.
            otaAvailable = restoreBackup = factoryReset = false;
            var step = WatchdogRecoveryChain.For(_flags.BkpDr1);
            _flags.BkpDr1 = step.HealthAfter;
            _flags.OtaFlashedStatus = 0;
            if (step.Action != WatchdogRecoveryAction.BootNormally) _actions.Add(BootAction.WatchdogRecovery);
            switch (step.Action)
            {
                case WatchdogRecoveryAction.RestoreBackup:
                    restoreBackup = true;
                    break;
                case WatchdogRecoveryAction.FactoryReset:
                    factoryReset = true;
                    break;
                case WatchdogRecoveryAction.EraseAppAndEnterDfu:
                    EraseAppArea();
                    _actions.Add(BootAction.AppAreaErased);
                    dfu = true;
                    dfuReason = DfuReason.WatchdogChainExhausted;
                    break;
            }
        }
        await Flush(cancellationToken);

        if (modePressed())
        {
            while (true)
            {
                await Task.Delay(ButtonPollInterval, _time, cancellationToken);
                if (!modePressed()) break;
                var held = _time.GetElapsedTime(start);
                if (held >= DfuHoldTime && !dfu)
                {
                    dfu = true;
                    dfuReason = DfuReason.ModeButton;
                    otaAvailable = restoreBackup = factoryReset = false;
                    _led.Show(LedProgram.Flashing(SparkColors.Yellow, DfuToggleMs));
                }
                if (held >= FactoryResetHoldTime)
                {
                    factoryReset = true;
                    wipeWifi = true;
                    dfu = false;
                    break;
                }
            }
        }

        if (otaAvailable)
            return await ApplyOta(cancellationToken);
        if (factoryReset)
            return await ResetToFactory(wipeWifi, cancellationToken);
        if (!dfu)
        {
            if (restoreBackup)
            {
                _actions.Add(BootAction.BackupRestore);
                var hung = await Restore(SparkMemoryMap.BackupImageAddress, SparkColors.Red, cancellationToken);
                return hung ?? await FinishUpdate(cancellationToken);
            }
            if (IsBl14Family && _flags.BkpDr1 == SystemFlags.HealthKicked) _flags.BkpDr1 = WatchdogRecoveryChain.BootloaderJumped;
            if (AppImage.PassesStackPointerCheck(_internal.ReadWord(SparkMemoryMap.AppAddress)))
            {
                var image = _internal.View(SparkMemoryMap.AppAddress, SparkMemoryMap.AppMaxSize).ToArray();
                var stopMode = (_flags.BkpDr9 >> 12) == 0xA;
                TimeSpan? watchdog = IsBl14Family && !stopMode ? AppWatchdogTimeout : null;
                return new BootOutcome.RunApp(image, new AppImage(image).LooksLikeSparkApp, watchdog) { Actions = [.. _actions] };
            }
            dfuReason = DfuReason.NoValidApp;
        }

        _led.Show(LedProgram.Flashing(SparkColors.Yellow, DfuToggleMs));
        return new BootOutcome.EnterDfu(dfuReason) { Actions = [.. _actions] };
    }

    private async Task<BootOutcome> ApplyOta(CancellationToken cancellationToken)
    {
        _actions.Add(BootAction.OtaApply);
        _led.Show(LedProgram.Flashing(SparkColors.Magenta, UpdateToggleMs));
        if (await Backup(cancellationToken) is { } hung) return hung;
        _flags.FlashOtaUpdate = SystemFlags.UpdateApplyInterrupted;
        Spend(_flags.Save(_internal, FlagWords));
        _flags.BkpDr10 = SystemFlags.UpdateApplyInterrupted;
        if (await Restore(SparkMemoryMap.OtaImageAddress, SparkColors.Magenta, cancellationToken) is { } hungRestore) return hungRestore;
        _flags.OtaFlashedStatus = 1;
        return await FinishUpdate(cancellationToken);
    }

    private async Task<BootOutcome> ResetToFactory(bool wipeWifi, CancellationToken cancellationToken)
    {
        _actions.Add(BootAction.FactoryReset);
        _led.Show(LedProgram.Flashing(SparkColors.White, UpdateToggleMs));
        if (wipeWifi) _flags.NvmemSparkReset = 0x0001;
        if (Kind == BootloaderKind.BL13 && await Backup(cancellationToken) is { } hung) return hung;
        var source = SparkMemoryMap.FactoryImageAddress;
        if (Build.StagesFactoryReset)
        {
            if (await StageFactoryImage(cancellationToken) is { } hungStage) return hungStage;
            source = SparkMemoryMap.BackupImageAddress;
        }
        if (await Restore(source, SparkColors.White, cancellationToken) is { } hungRestore) return hungRestore;
        if (IsBl14Family) _flags.FactoryReset = 0xFFFF;
        return await FinishUpdate(cancellationToken);
    }

    private async Task<BootOutcome> FinishUpdate(CancellationToken cancellationToken)
    {
        _actions.Add(BootAction.FinishUpdate);
        _flags.FlashOtaUpdate = SystemFlags.UpdateNormal;
        Spend(_flags.Save(_internal, FlagWords));
        _flags.BkpDr10 = SystemFlags.UpdateNormal;
        await Flush(cancellationToken);
        return new BootOutcome.Reset { Actions = [.. _actions] };
    }

    /// <summary>FLASH_Backup: erase the backup slot's 32 sectors, then copy the running app word by word.</summary>
    private async Task<BootOutcome?> Backup(CancellationToken cancellationToken)
    {
        const uint slot = SparkMemoryMap.BackupImageAddress;
        for (var sector = 0; sector < SparkMemoryMap.ImageRegionSize / SparkMemoryMap.SpiSectorSize; sector++)
        {
            var at = slot + (uint)(sector * SparkMemoryMap.SpiSectorSize);
            if (!SpiCommand(() => _external.Erase(at)))
                return await Hang("backup sector erase", cancellationToken);
            await Flush(cancellationToken);
        }
        for (var offset = 0; offset < SparkMemoryMap.AppMaxSize; offset += (int)ExternalWordStride)
        {
            var at = (uint)offset;
            if (!SpiCommand(() => _external.Write(slot + at, _internal.View(SparkMemoryMap.AppAddress + at, 4))))
                return await Hang("backup write", cancellationToken);
            if (offset % SparkMemoryMap.InternalPageSize == 0) await Flush(cancellationToken);
        }
        await Flush(cancellationToken);
        return null;
    }

    /// <summary>
    /// A staging factory reset (a candidate build's): factory slot to backup slot, sector by sector, each sector erased
    /// then programmed word by word; the restore then copies from the backup slot. The busy timeout bites here.
    /// </summary>
    private async Task<BootOutcome?> StageFactoryImage(CancellationToken cancellationToken)
    {
        const uint slot = SparkMemoryMap.BackupImageAddress;
        var sectorSize = SparkMemoryMap.SpiSectorSize;
        var word = new byte[4];
        for (var sector = 0; sector < SparkMemoryMap.ImageRegionSize / sectorSize; sector++)
        {
            var at = (uint)(sector * sectorSize);
            if (!SpiCommand(() => _external.Erase(slot + at)))
                return await Hang("staging sector erase", cancellationToken);
            for (var offset = 0u; offset < sectorSize && at + offset < SparkMemoryMap.AppMaxSize; offset += 4)
            {
                SpiRead(SparkMemoryMap.FactoryImageAddress + at + offset, word);
                var to = slot + at + offset;
                if (!SpiCommand(() => _external.Write(to, word)))
                    return await Hang("staging write", cancellationToken);
            }
            await Flush(cancellationToken);
        }
        return null;
    }

    /// <summary>
    /// One SPI erase or program as the driver runs it: send the command, then poll RDSR until BUSY clears. False when
    /// BUSY never clears and the driver waits forever (a dead chip under a build without a timeout).
    /// With a busy timeout (a candidate build) the poll gives up after the timeout while the chip is still busy. The
    /// SST25VF016B answers only RDSR while busy, so a command sent then is ignored (a sector not erased, a word not
    /// programmed) and its poll waits out the rest of the busy time, again at most the timeout.
    /// </summary>
    private bool SpiCommand(Func<FlashOpResult> command)
    {
        if (Build.SpiBusyTimeout is not { } timeout)
        {
            var result = command();
            if (result.Hung) return false;
            Spend(result.Duration);
            return true;
        }
        if (_elapsed < _spiBusyUntil)
        {
            Spend(Min(_spiBusyUntil - _elapsed, timeout));
            return true;
        }
        var issuedAt = _elapsed;
        var done = command();
        if (done.Hung)
        {
            _spiBusyUntil = TimeSpan.MaxValue;
            Spend(timeout);
        }
        else if (done.Duration > timeout)
        {
            _spiBusyUntil = issuedAt + done.Duration;
            Spend(timeout);
        }
        else
        {
            Spend(done.Duration);
        }
        return true;
    }

    /// <summary>An SPI read; a chip that is still busy ignores READ and MISO reads all ones (inferred: the line idles high).</summary>
    private void SpiRead(uint address, Span<byte> destination)
    {
        if (_elapsed < _spiBusyUntil)
        {
            destination.Fill(0xFF);
            Spend(TimeSpan.FromMicroseconds((4 + destination.Length) * (SparkSpiFlashDriver.SpiMicrosPerByte + SparkSpiFlashDriver.DriverOverheadMicrosPerByte)));
            return;
        }
        Spend(_external.Read(address, destination));
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>
    /// FLASH_Restore: erase the 108 app pages, then copy 108 KiB from the slot a word at a time, with no check.
    /// The CPU stalls on flash fetches during each page erase, so SysTick barely advances and the 50 ms toggle
    /// looks solid until programming starts.
    /// </summary>
    private async Task<BootOutcome?> Restore(uint slot, uint color, CancellationToken cancellationToken)
    {
        _led.Show(LedProgram.Solid(color));
        EraseAppArea();
        await Flush(cancellationToken);
        _led.Show(LedProgram.Flashing(color, UpdateToggleMs));
        var word = new byte[4];
        for (var offset = 0; offset < SparkMemoryMap.AppMaxSize; offset += 4)
        {
            SpiRead(slot + (uint)offset, word);
            Spend(_internal.ProgramWord(SparkMemoryMap.AppAddress + (uint)offset, BinaryPrimitives.ReadUInt32LittleEndian(word)).Duration);
            if (offset % SparkMemoryMap.InternalPageSize == 0) await Flush(cancellationToken);
        }
        await Flush(cancellationToken);
        return null;
    }

    private void EraseAppArea()
    {
        for (var page = 0; page < SparkMemoryMap.AppPageCount; page++)
            Spend(_internal.Erase(SparkMemoryMap.AppAddress + (uint)(page * SparkMemoryMap.InternalPageSize)).Duration);
    }

    private async Task<BootOutcome> Hang(string operation, CancellationToken cancellationToken)
    {
        await Flush(cancellationToken);
        return new BootOutcome.Hung(operation) { Actions = [.. _actions] };
    }

    private void Spend(TimeSpan duration)
    {
        _pending += duration;
        _elapsed += duration;
    }

    private async Task Flush(CancellationToken cancellationToken)
    {
        if (_pending <= TimeSpan.Zero) return;
        var wait = _pending;
        _pending = TimeSpan.Zero;
        await HilRig.Sim.Time.DeviceDelay.WaitAsync(_time, wait, cancellationToken);
    }
}
