using HilRig.Core.Spark;
using HilRig.Sim.Device.Flash;

namespace HilRig.Sim.Device;

/// <summary>
/// The system-flags page at 0x08004C00 (spark-core.md section 2.2: 16-bit little-endian words, all rewritten
/// together) plus the backup registers the bootloader and app use. BKP registers are plain fields: whether they
/// survive a power loss is the caller's decision (<see cref="ClearBackupRegisters"/>).
/// </summary>
public sealed class SystemFlags
{
    /// <summary>2014 layout: five half-words. The 2013 layout (BL13) lacks Factory_Reset_SysFlag.</summary>
    public const int WordCount2014 = 5;

    public const int WordCount2013 = 4;

    public const ushort UpdateNormal = 0x5000;
    public const ushort UpdateOtaAvailable = 0x0005;
    public const ushort UpdateApplyInterrupted = 0x5555;
    public const ushort FactoryResetRequested = 0xAAAA;
    public const ushort HealthKicked = 0xFFFF;

    /// <summary>+0, unused.</summary>
    public ushort CoreFwVersion { get; set; } = 0xFFFF;

    /// <summary>+2: 0x0001 = wipe the CC3000 Wi-Fi profiles at next app start.</summary>
    public ushort NvmemSparkReset { get; set; } = 0xFFFF;

    /// <summary>+4: FLASH_OTA_Update_SysFlag (0x5000 / 0x0005 / 0x5555).</summary>
    public ushort FlashOtaUpdate { get; set; } = 0xFFFF;

    /// <summary>+6: 0x0001 = an OTA image was just applied.</summary>
    public ushort OtaFlashedStatus { get; set; } = 0xFFFF;

    /// <summary>+8: 0xAAAA = software-requested factory reset (2014 layout only).</summary>
    public ushort FactoryReset { get; set; } = 0xFFFF;

    /// <summary>BKP_DR1: system health written by the app, read by BL14's watchdog recovery chain.</summary>
    public ushort BkpDr1 { get; set; }

    /// <summary>BKP_DR9: standby/stop flags (high nibble 0xA = stop mode, no watchdog).</summary>
    public ushort BkpDr9 { get; set; }

    /// <summary>BKP_DR10: mirror of <see cref="FlashOtaUpdate"/>.</summary>
    public ushort BkpDr10 { get; set; }

    /// <summary>What a power loss does to the backup domain when VBAT is not held up.</summary>
    public void ClearBackupRegisters()
    {
        BkpDr1 = 0;
        BkpDr9 = 0;
        BkpDr10 = 0;
    }

    /// <summary>Load_SystemFlags: read the page (memory-mapped, no time). A 2013 page has no factory-reset word.</summary>
    public void Load(Stm32InternalFlash flash, int wordCount = WordCount2014)
    {
        ArgumentNullException.ThrowIfNull(flash);
        CheckWordCount(wordCount);
        var a = SparkMemoryMap.SystemFlagsAddress;
        CoreFwVersion = flash.ReadHalfWord(a);
        NvmemSparkReset = flash.ReadHalfWord(a + 2);
        FlashOtaUpdate = flash.ReadHalfWord(a + 4);
        OtaFlashedStatus = flash.ReadHalfWord(a + 6);
        FactoryReset = wordCount == WordCount2014 ? flash.ReadHalfWord(a + 8) : (ushort)0xFFFF;
    }

    /// <summary>Save_SystemFlags: page erase then one half-word program per flag; returns the device time.</summary>
    public TimeSpan Save(Stm32InternalFlash flash, int wordCount = WordCount2014)
    {
        ArgumentNullException.ThrowIfNull(flash);
        CheckWordCount(wordCount);
        var a = SparkMemoryMap.SystemFlagsAddress;
        var time = flash.Erase(a).Duration;
        ushort[] words = [CoreFwVersion, NvmemSparkReset, FlashOtaUpdate, OtaFlashedStatus, FactoryReset];
        for (var i = 0; i < wordCount; i++)
            time += flash.ProgramHalfWord(a + (uint)(i * 2), words[i]).Duration;
        return time;
    }

    public override string ToString() =>
        $"flags ota=0x{FlashOtaUpdate:X4} nvmem=0x{NvmemSparkReset:X4} flashed=0x{OtaFlashedStatus:X4} factory=0x{FactoryReset:X4} dr1=0x{BkpDr1:X4} dr10=0x{BkpDr10:X4}";

    private static void CheckWordCount(int wordCount)
    {
        if (wordCount is not (WordCount2013 or WordCount2014))
            throw new ArgumentOutOfRangeException(nameof(wordCount), wordCount, "system flags page has 4 (2013) or 5 (2014) words");
    }
}
