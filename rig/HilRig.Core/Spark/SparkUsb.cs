namespace HilRig.Core.Spark;

/// <summary>USB identities of a Spark Core (spark-core.md §4).</summary>
public static class SparkUsb
{
    public const ushort VendorId = 0x1d50;

    /// <summary>The bootloader's DFU mode.</summary>
    public const ushort DfuProductId = 0x607f;

    /// <summary>The application's CDC serial port (listening mode).</summary>
    public const ushort SerialProductId = 0x607d;

    public const int SpiAltSetting = 1;

    public const int InternalAltSetting = 0;
}
