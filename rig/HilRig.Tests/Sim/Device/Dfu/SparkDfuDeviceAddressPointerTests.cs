using System.Buffers.Binary;
using HilRig.Composition;
using HilRig.Core.Dfu;
using HilRig.Core.Slots;
using HilRig.Core.Usb;

namespace HilRig.Tests.SimDevice.Dfu;

/// <summary>
/// The Core's DfuSe address pointer as the ST DFU code under BL14 keeps it: Set Address and Erase both decode their
/// address into it after the status stage. Found by running dfu-util against the simulator: the simulated Core kept
/// reporting the internal flash's 50 ms poll timeout for every SPI erase, where a Core reports the SPI flash's.
/// </summary>
public class SparkDfuDeviceAddressPointerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    [Test]
    public void An_erase_moves_the_address_pointer_so_blocks_land_there_and_polls_follow_its_medium()
    {
        using var session = RigSession.Open(TestRigs.Load(TestRigs.DefaultCores()));
        var slot = session.Slot(1);
        var chip = session.Sim!.Slot(1).Core.Chip;
        var block = new byte[1024];
        new Random(5).NextBytes(block);

        var polls = session.RunAsync(async () =>
        {
            await Choreography.EnterDfuAsync(slot, session.Usb, session.Time);
            using var handle = Choreography.FindDfu(session.Usb, slot.UsbPath)!.Open();
            handle.ClaimInterface(0);
            await Out(handle, DfuRequest.ClrStatus, 0, []);
            var seen = new List<(DfuState, double)>();
            async Task Command(ushort blockNumber, byte[] data)
            {
                await Out(handle, DfuRequest.Dnload, blockNumber, data);
                var busy = await Status(handle);
                seen.Add((busy.State, busy.PollTimeout.TotalMilliseconds));
                var done = await Status(handle);
                Assert.That(done.State, Is.EqualTo(DfuState.DfuDnloadIdle), done.ToString());
            }
            await Command(0, Erase(0x21000));
            await Command(0, Erase(0x22000));
            await Command(2, block); // no Set Address: block 2 is the pointer itself
            return seen;
        }).GetAwaiter().GetResult();

        Assert.That(polls, Is.EqualTo(new[]
        {
            (DfuState.DfuDnBusy, 50.0), // pointer still at the internal flash on entering DFU
            (DfuState.DfuDnBusy, 20.0), // SPI erase: the first erase moved the pointer to the SPI flash
            (DfuState.DfuDnBusy, 30.0), // SPI write
        }));
        var written = new byte[1024];
        chip.Read(0x22000, written);
        Assert.That(written, Is.EqualTo(block), "the block went to the last erase's address");
    }

    private static byte[] Erase(uint address)
    {
        var b = new byte[5];
        b[0] = DfuSeCommand.Erase;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(1), address);
        return b;
    }

    private static Task<int> Out(IUsbDeviceHandle handle, byte request, ushort value, byte[] data) =>
        handle.ControlTransferAsync(new UsbSetup(DfuRequest.OutRequestType, request, value, 0, (ushort)data.Length), data, Timeout);

    private static async Task<DfuStatus> Status(IUsbDeviceHandle handle)
    {
        var reply = new byte[DfuStatus.Length];
        await handle.ControlTransferAsync(new UsbSetup(DfuRequest.InRequestType, DfuRequest.GetStatus, 0, 0, DfuStatus.Length), reply, Timeout);
        return DfuStatus.Parse(reply);
    }
}
