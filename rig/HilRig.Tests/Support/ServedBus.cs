using System.Runtime.InteropServices;
using HilRig.Core.Usb;
using HilRig.Sim.Serve;

namespace HilRig.Tests.Hardware;

/// <summary>A <see cref="UsbSocketServer"/> over a test bus on a fresh short socket path; removed again on dispose.</summary>
internal sealed class ServedBus : IAsyncDisposable
{
    private static int s_counter;

    public ServedBus(IUsbBus bus, Func<Func<Task>, Task>? dispatch = null)
    {
        SocketPath = Path.Combine(Path.GetTempPath(), $"hilrig-t{Environment.ProcessId}-{Interlocked.Increment(ref s_counter)}.sock");
        Server = dispatch is null ? new UsbSocketServer(bus, SocketPath) : new UsbSocketServer(bus, SocketPath, dispatch);
        Server.ClientError += e => Errors.Enqueue(e);
        Server.Start();
    }

    public string SocketPath { get; }

    public UsbSocketServer Server { get; }

    public System.Collections.Concurrent.ConcurrentQueue<string> Errors { get; } = new();

    public ValueTask DisposeAsync() => Server.DisposeAsync();
}

/// <summary>
/// Sets a variable in the process's native environment. .NET keeps its own copy on Unix, so a native library
/// loaded in-process (the libusb shim reads HILRIG_USB_SOCKET with getenv) would not see Environment.SetEnvironmentVariable.
/// </summary>
internal static partial class NativeEnvironment
{
    public static void Set(string name, string value)
    {
        if (setenv(name, value, 1) != 0) throw new InvalidOperationException($"setenv {name} failed (errno {Marshal.GetLastPInvokeError()})");
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int setenv(string name, string value, int overwrite);
}

internal static class Shim
{
    public static string Directory => Path.Combine(TestContext.CurrentContext.TestDirectory, "usbshim");

    public static string LibraryPath
    {
        get
        {
            var path = Path.Combine(Directory, "libusb-1.0.so.0");
            if (!File.Exists(path)) Assert.Fail($"the libusb shim was not built: {path} is missing (build rig/HilRig.Hardware, which runs rig/HilRig.UsbShim/build.sh)");
            return path;
        }
    }
}
