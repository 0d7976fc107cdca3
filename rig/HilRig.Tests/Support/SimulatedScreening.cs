using HilRig.Composition;
using HilRig.Core.Procedures;
using HilRig.Core.Slots;
using HilRig.Core.Spark;

namespace HilRig.Tests;

/// <summary>
/// Screening one slot of a simulated rig as `hilrig screen` does, the readback's region journal and backups in a temp
/// folder of the test's own; and the states a test puts a Core in before it is screened.
/// </summary>
internal sealed class SimulatedScreening : IDisposable
{
    public SimulatedScreening(string purpose)
    {
        Folder = Path.Combine(Path.GetTempPath(), "hilrig-tests", $"{purpose}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Folder);
    }

    public string Folder { get; }

    public string JournalFolder => Path.Combine(Folder, "journal");

    public string Backups => Path.Combine(Folder, "backups");

    public RegionJournal Journal => new(JournalFolder);

    public ScreeningOptions Options(IDeviceLinks? links = null, byte[]? recoveryApp = null) => new()
    {
        Readback = new DfuReadbackOptions { Journal = Journal, BackupDirectory = Backups },
        Links = links,
        RecoveryApp = recoveryApp,
    };

    public static SlotOutcome Screen(RigSession session, RigSlot slot, ScreeningOptions options) =>
        session.RunAsync(() => new Screening(session.Usb, session.Time, options).RunSlotAsync(slot)).GetAwaiter().GetResult();

    /// <summary>Hold MODE through RESET past 10 s: the bootloader copies the factory slot, stuck bits and all.</summary>
    public static void FactoryReset(RigSession session, int slotNumber)
    {
        var slot = session.Slot(slotNumber);
        session.RunAsync(async () =>
        {
            slot.Control.SetPower(true);
            await Task.Delay(TimeSpan.FromSeconds(1), session.Time);
            slot.Control.SetMode(true);
            await Choreography.ResetAsync(slot, session.Time);
            await Task.Delay(TimeSpan.FromSeconds(10.5), session.Time);
            slot.Control.SetMode(false);
            await Task.Delay(TimeSpan.FromSeconds(60), session.Time);
        }).GetAwaiter().GetResult();
    }

    /// <summary>The app area erased over DFU (a flashing the line interrupted): the bootloader finds no app and stays in DFU, flashing yellow.</summary>
    public static void EraseAppArea(RigSession session, int slotNumber)
    {
        var slot = session.Slot(slotNumber);
        session.RunAsync(async () =>
        {
            await Choreography.EnterDfuAsync(slot, session.Usb, session.Time);
            using var dfu = await Core.Dfu.DfuSeHost.OpenAsync(session.Usb, slot.UsbPath, session.Time);
            await dfu.SelectAltAsync(0);
            await dfu.EraseAsync(SparkMemoryMap.AppAddress, SparkMemoryMap.AppMaxSize);
            await dfu.LeaveAsync();
            await Task.Delay(TimeSpan.FromSeconds(5), session.Time);
        }).GetAwaiter().GetResult();
    }

    public void Dispose()
    {
        if (Directory.Exists(Folder)) Directory.Delete(Folder, recursive: true);
    }
}
