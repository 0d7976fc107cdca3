namespace HilRig.Core.Spark;

/// <summary>A named slot of the external SPI flash that holds a whole application image.</summary>
public sealed record FlashRegion(string Name, uint Start, int Length)
{
    public uint End => Start + (uint)Length;

    public bool Contains(uint address) => address >= Start && address < End;
}

/// <summary>Addresses and sizes of a Spark Core's memories (spark-core.md section 2).</summary>
public static class SparkMemoryMap
{
    // External SST25VF016B, 0-based addresses.
    public const int ExternalFlashSize = 0x200000;
    public const int SpiSectorSize = 0x1000;
    public const int SpiSectorCount = ExternalFlashSize / SpiSectorSize;
    public const uint ReservedAddress = 0x000000;
    public const uint ServerPublicKeyAddress = 0x001000;
    public const int ServerPublicKeyLength = 294;
    public const uint ServerAddressTlvAddress = 0x001180;
    public const int ServerAddressTlvLength = 128;
    public const uint CorePrivateKeyAddress = 0x002000;
    public const int CorePrivateKeyLength = 612;
    public const int ImageRegionSize = 0x20000;
    public const uint FactoryImageAddress = 0x020000;
    public const uint BackupImageAddress = 0x040000;
    public const uint OtaImageAddress = 0x060000;
    public const uint FreeAreaAddress = 0x080000;
    public const int FreeAreaSize = ExternalFlashSize - (int)FreeAreaAddress;

    // Internal STM32F103CB flash.
    public const uint InternalFlashBase = 0x08000000;
    public const int InternalFlashSize = 128 * 1024;
    public const int InternalPageSize = 1024;
    public const uint BootloaderAddress = InternalFlashBase;
    public const int BootloaderMaxSize = 19 * InternalPageSize;

    /// <summary>Pages 0-15 the option bytes can write-protect (BOOTLOADER_FLASH_PAGES).</summary>
    public const int BootloaderProtectablePages = 16;
    public const uint SystemFlagsAddress = 0x08004C00;
    public const uint AppAddress = 0x08005000;
    public const int AppMaxSize = 110592;
    public const int AppPageCount = AppMaxSize / InternalPageSize;
    public const uint AppEndExclusive = AppAddress + AppMaxSize;

    public const uint SramBase = 0x20000000;
    public const uint SramTop = 0x20005000;

    /// <summary>STM32 96-bit unique id (device id) location.</summary>
    public const uint UniqueIdAddress = 0x1FFFF7E8;

    public static readonly FlashRegion FactoryRegion = new("factory", FactoryImageAddress, ImageRegionSize);
    public static readonly FlashRegion BackupRegion = new("backup", BackupImageAddress, ImageRegionSize);
    public static readonly FlashRegion OtaRegion = new("ota", OtaImageAddress, ImageRegionSize);

    /// <summary>The three image slots of the external flash, in address order.</summary>
    public static readonly IReadOnlyList<FlashRegion> ImageRegions = [FactoryRegion, BackupRegion, OtaRegion];
}
