using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace HilRig.Hardware.Usb;

/// <summary>
/// The libusb-1.0 entry points we use, bound from one loaded library. The library is chosen by an explicit path,
/// else <see cref="SetDefaultLibraryPath"/>, else env <c>HILRIG_LIBUSB_PATH</c>, else the system's
/// <c>libusb-1.0.so.0</c>. Each library gets its own set of function pointers instead of a process-wide
/// DllImport resolver, so one process can use the system libusb and the HilRig shim side by side (the tests do).
/// </summary>
public sealed unsafe class LibUsbNative
{
    public const string DefaultLibraryName = "libusb-1.0.so.0";
    public const string LibraryPathVariable = "HILRIG_LIBUSB_PATH";

    private static readonly ConcurrentDictionary<string, LibUsbNative> Loaded = new(StringComparer.Ordinal);
    private static string? s_defaultPath;

    internal readonly delegate* unmanaged<nint*, int> Init;
    internal readonly delegate* unmanaged<nint, void> Exit;
    internal readonly delegate* unmanaged<nint, nint**, nint> GetDeviceList;
    internal readonly delegate* unmanaged<nint*, int, void> FreeDeviceList;
    internal readonly delegate* unmanaged<nint, nint> RefDevice;
    internal readonly delegate* unmanaged<nint, void> UnrefDevice;
    internal readonly delegate* unmanaged<nint, byte> GetBusNumber;
    internal readonly delegate* unmanaged<nint, byte> GetDeviceAddress;
    internal readonly delegate* unmanaged<nint, byte*, int, int> GetPortNumbers;
    internal readonly delegate* unmanaged<nint, LibUsbDeviceDescriptor*, int> GetDeviceDescriptor;
    internal readonly delegate* unmanaged<nint, byte, LibUsbConfigDescriptor**, int> GetConfigDescriptor;
    internal readonly delegate* unmanaged<LibUsbConfigDescriptor*, void> FreeConfigDescriptor;
    internal readonly delegate* unmanaged<nint, nint*, int> Open;
    internal readonly delegate* unmanaged<nint, void> Close;
    internal readonly delegate* unmanaged<nint, int, int> ClaimInterface;
    internal readonly delegate* unmanaged<nint, int, int> ReleaseInterface;
    internal readonly delegate* unmanaged<nint, int, int, int> SetInterfaceAltSetting;
    internal readonly delegate* unmanaged<nint, int> ResetDevice;
    internal readonly delegate* unmanaged<nint, byte, byte, ushort, ushort, byte*, ushort, uint, int> ControlTransfer;
    internal readonly delegate* unmanaged<nint, LibUsbBosDescriptor**, int> GetBosDescriptor;
    internal readonly delegate* unmanaged<LibUsbBosDescriptor*, void> FreeBosDescriptor;
    internal readonly delegate* unmanaged<int, byte*> ErrorName;
    internal readonly delegate* unmanaged<LibUsbVersion*> GetVersion;

    private LibUsbNative(string path, nint library)
    {
        LibraryPath = path;
        Init = (delegate* unmanaged<nint*, int>)Export(library, path, "libusb_init");
        Exit = (delegate* unmanaged<nint, void>)Export(library, path, "libusb_exit");
        GetDeviceList = (delegate* unmanaged<nint, nint**, nint>)Export(library, path, "libusb_get_device_list");
        FreeDeviceList = (delegate* unmanaged<nint*, int, void>)Export(library, path, "libusb_free_device_list");
        RefDevice = (delegate* unmanaged<nint, nint>)Export(library, path, "libusb_ref_device");
        UnrefDevice = (delegate* unmanaged<nint, void>)Export(library, path, "libusb_unref_device");
        GetBusNumber = (delegate* unmanaged<nint, byte>)Export(library, path, "libusb_get_bus_number");
        GetDeviceAddress = (delegate* unmanaged<nint, byte>)Export(library, path, "libusb_get_device_address");
        GetPortNumbers = (delegate* unmanaged<nint, byte*, int, int>)Export(library, path, "libusb_get_port_numbers");
        GetDeviceDescriptor = (delegate* unmanaged<nint, LibUsbDeviceDescriptor*, int>)Export(library, path, "libusb_get_device_descriptor");
        GetConfigDescriptor = (delegate* unmanaged<nint, byte, LibUsbConfigDescriptor**, int>)Export(library, path, "libusb_get_config_descriptor");
        FreeConfigDescriptor = (delegate* unmanaged<LibUsbConfigDescriptor*, void>)Export(library, path, "libusb_free_config_descriptor");
        Open = (delegate* unmanaged<nint, nint*, int>)Export(library, path, "libusb_open");
        Close = (delegate* unmanaged<nint, void>)Export(library, path, "libusb_close");
        ClaimInterface = (delegate* unmanaged<nint, int, int>)Export(library, path, "libusb_claim_interface");
        ReleaseInterface = (delegate* unmanaged<nint, int, int>)Export(library, path, "libusb_release_interface");
        SetInterfaceAltSetting = (delegate* unmanaged<nint, int, int, int>)Export(library, path, "libusb_set_interface_alt_setting");
        ResetDevice = (delegate* unmanaged<nint, int>)Export(library, path, "libusb_reset_device");
        ControlTransfer = (delegate* unmanaged<nint, byte, byte, ushort, ushort, byte*, ushort, uint, int>)Export(library, path, "libusb_control_transfer");
        GetBosDescriptor = (delegate* unmanaged<nint, LibUsbBosDescriptor**, int>)Export(library, path, "libusb_get_bos_descriptor");
        FreeBosDescriptor = (delegate* unmanaged<LibUsbBosDescriptor*, void>)Export(library, path, "libusb_free_bos_descriptor");
        ErrorName = (delegate* unmanaged<int, byte*>)Export(library, path, "libusb_error_name");
        GetVersion = (delegate* unmanaged<LibUsbVersion*>)Export(library, path, "libusb_get_version");
        IsHilRigShim = NativeLibrary.TryGetExport(library, "hilrig_usbshim_protocol_version", out _);
    }

    /// <summary>
    /// True when the library is the HilRig libusb shim (rig/HilRig.UsbShim) rather than a real libusb. Note that
    /// glibc matches a bare library name against the soname of libraries already loaded, so once the shim is
    /// loaded by path, loading plain "libusb-1.0.so.0" in the same process returns the shim.
    /// </summary>
    public bool IsHilRigShim { get; }

    /// <summary>The path or name the library was loaded from.</summary>
    public string LibraryPath { get; }

    /// <summary>The library's own version, e.g. "1.0.26.11724".</summary>
    public string Version
    {
        get
        {
            var v = GetVersion();
            return $"{v->Major}.{v->Minor}.{v->Micro}.{v->Nano}";
        }
    }

    /// <summary>The library used when no path is passed to <see cref="Load"/>; null restores env/system lookup.</summary>
    public static void SetDefaultLibraryPath(string? path) => Volatile.Write(ref s_defaultPath, path);

    /// <summary>Resolves which library <see cref="Load"/> would use for <paramref name="path"/>.</summary>
    public static string ResolvePath(string? path = null)
    {
        if (!string.IsNullOrWhiteSpace(path)) return path;
        var configured = Volatile.Read(ref s_defaultPath);
        if (!string.IsNullOrWhiteSpace(configured)) return configured;
        var fromEnv = Environment.GetEnvironmentVariable(LibraryPathVariable);
        return string.IsNullOrWhiteSpace(fromEnv) ? DefaultLibraryName : fromEnv;
    }

    /// <summary>Loads (once per path) the libusb library and binds its functions.</summary>
    public static LibUsbNative Load(string? path = null)
    {
        var resolved = ResolvePath(path);
        return Loaded.GetOrAdd(resolved, static p =>
        {
            if (p.Contains('/', StringComparison.Ordinal) && !File.Exists(p))
                throw new DllNotFoundException($"libusb library '{p}' does not exist (set {LibraryPathVariable} to the full path of a libusb-1.0.so.0)");
            nint library;
            try
            {
                library = NativeLibrary.Load(p);
            }
            catch (DllNotFoundException ex)
            {
                throw new DllNotFoundException($"cannot load libusb library '{p}' (install libusb-1.0-0 or set {LibraryPathVariable} to the full path of a libusb-1.0.so.0): {ex.Message}", ex);
            }
            return new LibUsbNative(p, library);
        });
    }

    internal string DescribeError(int code)
    {
        var name = ErrorName(code);
        return name is null ? code.ToString(System.Globalization.CultureInfo.InvariantCulture) : Marshal.PtrToStringUTF8((nint)name) ?? "";
    }

    private static nint Export(nint library, string path, string name)
    {
        if (NativeLibrary.TryGetExport(library, name, out var address)) return address;
        throw new EntryPointNotFoundException($"'{path}' does not export {name}; is it a libusb-1.0 library?");
    }
}

[StructLayout(LayoutKind.Sequential)]
internal struct LibUsbDeviceDescriptor
{
    public byte Length;
    public byte DescriptorType;
    public ushort BcdUsb;
    public byte DeviceClass;
    public byte DeviceSubClass;
    public byte DeviceProtocol;
    public byte MaxPacketSize0;
    public ushort VendorId;
    public ushort ProductId;
    public ushort BcdDevice;
    public byte ManufacturerIndex;
    public byte ProductIndex;
    public byte SerialNumberIndex;
    public byte NumConfigurations;
}

[StructLayout(LayoutKind.Explicit, Size = 32)]
internal unsafe struct LibUsbEndpointDescriptor
{
    [FieldOffset(0)] public byte Length;
    [FieldOffset(1)] public byte DescriptorType;
    [FieldOffset(2)] public byte EndpointAddress;
    [FieldOffset(3)] public byte Attributes;
    [FieldOffset(4)] public ushort MaxPacketSize;
    [FieldOffset(6)] public byte Interval;
    [FieldOffset(7)] public byte Refresh;
    [FieldOffset(8)] public byte SynchAddress;
    [FieldOffset(16)] public byte* Extra;
    [FieldOffset(24)] public int ExtraLength;
}

[StructLayout(LayoutKind.Explicit, Size = 40)]
internal unsafe struct LibUsbInterfaceDescriptor
{
    [FieldOffset(0)] public byte Length;
    [FieldOffset(1)] public byte DescriptorType;
    [FieldOffset(2)] public byte InterfaceNumber;
    [FieldOffset(3)] public byte AlternateSetting;
    [FieldOffset(4)] public byte NumEndpoints;
    [FieldOffset(5)] public byte InterfaceClass;
    [FieldOffset(6)] public byte InterfaceSubClass;
    [FieldOffset(7)] public byte InterfaceProtocol;
    [FieldOffset(8)] public byte InterfaceStringIndex;
    [FieldOffset(16)] public LibUsbEndpointDescriptor* Endpoints;
    [FieldOffset(24)] public byte* Extra;
    [FieldOffset(32)] public int ExtraLength;
}

[StructLayout(LayoutKind.Explicit, Size = 16)]
internal unsafe struct LibUsbInterface
{
    [FieldOffset(0)] public LibUsbInterfaceDescriptor* AltSettings;
    [FieldOffset(8)] public int NumAltSettings;
}

[StructLayout(LayoutKind.Explicit, Size = 40)]
internal unsafe struct LibUsbConfigDescriptor
{
    [FieldOffset(0)] public byte Length;
    [FieldOffset(1)] public byte DescriptorType;
    [FieldOffset(2)] public ushort TotalLength;
    [FieldOffset(4)] public byte NumInterfaces;
    [FieldOffset(5)] public byte ConfigurationValue;
    [FieldOffset(6)] public byte ConfigurationStringIndex;
    [FieldOffset(7)] public byte Attributes;
    [FieldOffset(8)] public byte MaxPower;
    [FieldOffset(16)] public LibUsbInterface* Interfaces;
    [FieldOffset(24)] public byte* Extra;
    [FieldOffset(32)] public int ExtraLength;
}

/// <summary>libusb_bos_descriptor: a 5-byte header, then (at offset 8) bNumDeviceCaps pointers to capability descriptors copied verbatim.</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
internal struct LibUsbBosDescriptor
{
    [FieldOffset(0)] public byte Length;
    [FieldOffset(1)] public byte DescriptorType;
    [FieldOffset(2)] public ushort TotalLength;
    [FieldOffset(4)] public byte NumDeviceCaps;
}

[StructLayout(LayoutKind.Explicit, Size = 24)]
internal unsafe struct LibUsbVersion
{
    [FieldOffset(0)] public ushort Major;
    [FieldOffset(2)] public ushort Minor;
    [FieldOffset(4)] public ushort Micro;
    [FieldOffset(6)] public ushort Nano;
    [FieldOffset(8)] public byte* Rc;
    [FieldOffset(16)] public byte* Describe;
}
