using HilRig.Hardware.Usb;

namespace HilRig.Tests.Hardware;

[SetUpFixture]
public class HardwareSetUp
{
    [OneTimeSetUp]
    public void LoadSystemLibUsbFirst()
    {
        // glibc hands out an already-loaded library with the same soname for a bare name: load the real libusb
        // before any test loads the shim by path, so the system-libusb tests get the real one.
        try
        {
            LibUsbNative.Load(LibUsbNative.DefaultLibraryName);
        }
        catch (DllNotFoundException)
        {
            // reported by the system-libusb test itself
        }
    }
}
