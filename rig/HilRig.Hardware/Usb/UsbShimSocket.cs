using System.Runtime.InteropServices;

namespace HilRig.Hardware.Usb;

/// <summary>
/// Points the libusb shim loaded in this process at a USB socket. The shim reads HILRIG_USB_SOCKET with getenv when
/// libusb_init first connects, and .NET keeps its own copy of the environment on Unix, so the variable is set in
/// the native environment.
/// </summary>
public static partial class UsbShimSocket
{
    public static void Use(string socketPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(socketPath);
        if (setenv(SocketUsbBus.SocketPathVariable, socketPath, 1) != 0)
            throw new InvalidOperationException($"setenv {SocketUsbBus.SocketPathVariable} failed (errno {Marshal.GetLastPInvokeError()})");
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int setenv(string name, string value, int overwrite);
}
