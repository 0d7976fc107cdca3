using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using HilRig.Composition;
using HilRig.Hardware.Serial;
using HilRig.Sim.Time;
using Microsoft.Win32.SafeHandles;

namespace HilRig.Tests.Hardware;

/// <summary>
/// The Pi's serial link through real System.IO.Ports: a pseudo-terminal pair (openpty) whose master end is pumped to
/// the simulated Core's listening-mode serial port, and whose slave end is found through a faked sysfs tree.
/// </summary>
public partial class SerialPortLinkTests
{
    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int openpty(int* master, int* slave, nint name, nint termp, nint winp);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc", EntryPoint = "ttyname", SetLastError = true)]
    private static partial nint TtyName(int fd);

    private static (int Master, int Slave, string SlavePath) OpenPty()
    {
        int master, slave;
        unsafe
        {
            if (openpty(&master, &slave, 0, 0, 0) != 0) Assert.Fail($"openpty failed: errno {Marshal.GetLastPInvokeError()}");
        }
        return (master, slave, Marshal.PtrToStringAnsi(TtyName(slave))!);
    }

    [Test]
    public void Identify_reads_the_device_id_through_System_IO_Ports_on_a_pty_found_through_sysfs()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("openpty and sysfs are Linux");
        var (master, slave, slavePath) = OpenPty();
        var root = Directory.CreateTempSubdirectory("hilrig-serial-");
        try
        {
            // Fake sysfs: the slot's USB path with interface 0's tty, and a /dev whose ttyACM0 is the pty slave.
            using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores()), new RigSessionOptions { Simulator = new SimBackendOptions { Clock = ClockMode.RealTime, Speed = 10 } });
            var slot = session.Slot(2);
            var core = session.Sim!.Slot(2).Core;
            Directory.CreateDirectory(Path.Combine(root.FullName, "sys", "bus", "usb", "devices", slot.UsbPath + ":1.0", "tty", "ttyACM0"));
            Directory.CreateDirectory(Path.Combine(root.FullName, "dev"));
            File.CreateSymbolicLink(Path.Combine(root.FullName, "dev", "ttyACM0"), slavePath);
            var serial = new SysfsSlotSerial(slot.UsbPath, TimeProvider.System, Path.Combine(root.FullName, "sys"), Path.Combine(root.FullName, "dev"));

            var simLink = session.RunAsync(async () =>
            {
                slot.Control.SetPower(true);
                await Task.Delay(TimeSpan.FromSeconds(2), session.Time);
                return slot.Serial!.TryOpen()!;
            }).GetAwaiter().GetResult();

            // The master end: a reader thread hands host bytes over; the pump on the simulation thread moves them.
            using var masterStream = new FileStream(new SafeFileHandle(master, ownsHandle: true), FileAccess.ReadWrite, 1);
            var fromHost = new ConcurrentQueue<byte>();
            var reader = new Thread(() =>
            {
                var b = new byte[64];
                try
                {
                    int n;
                    while ((n = masterStream.Read(b, 0, b.Length)) > 0) foreach (var x in b.AsSpan(0, n).ToArray()) fromHost.Enqueue(x);
                }
                catch (IOException)
                {
                    // the slave closed: the pump is over
                }
            }) { IsBackground = true };
            reader.Start();
            using var stop = new CancellationTokenSource();
            var pump = session.RunAsync(async () =>
            {
                var buffer = new byte[64];
                while (!stop.IsCancellationRequested)
                {
                    var bytes = new List<byte>();
                    while (fromHost.TryDequeue(out var x)) bytes.Add(x);
                    if (bytes.Count > 0) await simLink.WriteAsync(bytes.ToArray());
                    var n = await simLink.ReadAsync(buffer, TimeSpan.FromMilliseconds(1));
                    if (n > 0)
                    {
                        masterStream.Write(buffer, 0, n);
                        masterStream.Flush();
                    }
                }
                return true;
            });

            string? id;
            using (var link = serial.TryOpen()!)
                id = Core.Serial.ListeningModeSerial.IdentifyAsync(link, TimeProvider.System).GetAwaiter().GetResult();
            stop.Cancel();
            pump.GetAwaiter().GetResult();
            Assert.That(id, Is.EqualTo(core.DeviceId), "the `i` answer read through the pty");
        }
        finally
        {
            close(slave);
            root.Delete(recursive: true);
        }
    }

    [Test]
    public void No_tty_under_the_slot_s_USB_path_means_no_serial_port_yet()
    {
        var root = Directory.CreateTempSubdirectory("hilrig-serial-");
        try
        {
            Directory.CreateDirectory(Path.Combine(root.FullName, "bus", "usb", "devices", "1-1.4:1.0"));
            Assert.That(SysfsSerialPorts.FindTty(root.FullName, "1-1.4"), Is.Null, "interface without a tty: powered off or not in listening mode");
            Directory.CreateDirectory(Path.Combine(root.FullName, "bus", "usb", "devices", "1-1.4:1.0", "tty", "ttyACM3"));
            Assert.That(SysfsSerialPorts.FindTty(root.FullName, "1-1.4", "/dev"), Is.EqualTo("/dev/ttyACM3"), "found again under its new number after a power cycle");
            Assert.That(new SysfsSlotSerial("1-1.2", TimeProvider.System, root.FullName).TryOpen(), Is.Null);
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }
}
