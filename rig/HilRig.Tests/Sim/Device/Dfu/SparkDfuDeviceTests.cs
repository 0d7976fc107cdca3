using System.Buffers.Binary;
using HilRig.Core.Dfu;
using HilRig.Core.Usb;
using HilRig.Sim.Device.Dfu;

namespace HilRig.Tests.Dfu;

/// <summary>The simulated Core bootloader's DFU device, driven with raw control transfers like dfu-util's.</summary>
public class SparkDfuDeviceTests
{
    private static readonly TimeSpan Timeout5s = TimeSpan.FromSeconds(5);

    private static async Task<DfuStatus> StatusAsync(IUsbDeviceHandle h)
    {
        var b = new byte[6];
        var n = await h.ControlTransferAsync(new UsbSetup(0xA1, DfuRequest.GetStatus, 0, 0, 6), b, Timeout5s);
        Assert.That(n, Is.EqualTo(6));
        return DfuStatus.Parse(b);
    }

    private static Task OutAsync(IUsbDeviceHandle h, byte request, ushort value, byte[] data) =>
        h.ControlTransferAsync(new UsbSetup(0x21, request, value, 0, (ushort)data.Length), data, Timeout5s);

    private static async Task<byte[]> InAsync(IUsbDeviceHandle h, byte request, ushort value, int length)
    {
        var b = new byte[length];
        var n = await h.ControlTransferAsync(new UsbSetup(0xA1, request, value, 0, (ushort)length), b, Timeout5s);
        return b[..n];
    }

    private static byte[] Command(byte command, uint address)
    {
        var b = new byte[5];
        b[0] = command;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(1), address);
        return b;
    }

    private static async Task ClearInitialErrorAsync(IUsbDeviceHandle h)
    {
        await StatusAsync(h);
        await OutAsync(h, DfuRequest.ClrStatus, 0, []);
    }

    /// <summary>Sends a DfuSe command; returns the dfuDNBUSY reply and the one after it.</summary>
    private static async Task<(DfuStatus Busy, DfuStatus After)> CommandAsync(IUsbDeviceHandle h, byte command, uint address)
    {
        await OutAsync(h, DfuRequest.Dnload, 0, Command(command, address));
        var busy = await StatusAsync(h);
        return (busy, await StatusAsync(h));
    }

    /// <summary>Assert.ThrowsAsync blocks the thread it runs on; on the simulation thread that would stop virtual time.</summary>
    internal static async Task<TException> CatchAsync<TException>(Func<Task> request) where TException : Exception
    {
        try
        {
            await request();
        }
        catch (TException e)
        {
            return e;
        }
        throw new AssertionException($"expected {typeof(TException).Name}, nothing was thrown");
    }

    private static async Task ExpectStallAsync(Func<Task> request, IUsbDeviceHandle h)
    {
        var e = await CatchAsync<UsbException>(request);
        Assert.That(e.Error, Is.EqualTo(UsbError.Pipe));
        var status = await StatusAsync(h);
        Assert.That((status.State, status.Status), Is.EqualTo((DfuState.DfuError, DfuStatusCode.ErrStalledPkt)));
    }

    [Test]
    public void Device_descriptor_is_the_BL14_one()
    {
        using var rig = new DfuTestRig();
        var d = rig.Bus.GetDevices().Single(x => x.Path == DfuTestRig.CorePath).Descriptor;
        Assert.That((d.VidPid, d.BcdUsb, d.BcdDevice, d.MaxPacketSize0, d.NumConfigurations), Is.EqualTo(("1d50:607f", (ushort)0x0100, (ushort)0x0200, (byte)64, (byte)1)));
        Assert.That((d.ManufacturerIndex, d.ProductIndex, d.SerialNumberIndex), Is.EqualTo(((byte)1, (byte)2, (byte)3)));
    }

    [Test]
    public void Configuration_has_two_DFU_alt_settings_and_the_functional_descriptor_after_the_last()
    {
        using var rig = new DfuTestRig();
        var raw = rig.Device.GetConfigDescriptor(0);
        var config = UsbConfiguration.Parse(raw);
        Assert.That(raw, Has.Length.EqualTo(36));
        Assert.That((config.TotalLength, config.Attributes, config.MaxPower), Is.EqualTo(((ushort)36, (byte)0xC0, (byte)0x32)));
        var iface = config.Interfaces.Single();
        Assert.That(iface.AltSettings.Select(a => (a.AlternateSetting, a.InterfaceClass, a.InterfaceSubClass, a.InterfaceProtocol, a.InterfaceStringIndex, a.Endpoints.Count)),
            Is.EqualTo(new[] { ((byte)0, (byte)0xFE, (byte)1, (byte)2, (byte)4, 0), ((byte)1, (byte)0xFE, (byte)1, (byte)2, (byte)5, 0) }));
        Assert.That(iface.AltSettings[0].Extra, Is.Empty);
        var functional = DfuFunctionalDescriptor.Find(iface.AltSettings[1].Extra);
        Assert.That(functional, Is.EqualTo(new DfuFunctionalDescriptor(0x0B, 255, 1024, 0x011A)));
        Assert.That((functional!.CanDownload, functional.CanUpload, functional.ManifestationTolerant, functional.WillDetach), Is.EqualTo((true, true, false, true)));
    }

    [Test]
    public void Functional_descriptor_is_also_answered_by_GET_DESCRIPTOR_0x21()
    {
        using var rig = new DfuTestRig();
        var bytes = rig.Sim.Run(async () =>
        {
            using var h = rig.OpenRaw();
            var b = new byte[9];
            var n = await h.ControlTransferAsync(new UsbSetup(0x80, UsbRequest.GetDescriptor, 0x2100, 0, 9), b, Timeout5s);
            return b[..n];
        });
        Assert.That(bytes, Is.EqualTo(new byte[] { 9, 0x21, 0x0B, 255, 0, 0x00, 0x04, 0x1A, 0x01 }));
    }

    [Test]
    public void Strings_carry_the_trailing_spaces_and_the_98_byte_interface_string_quirk()
    {
        using var rig = new DfuTestRig();
        var (strings, alt0Raw, alt1Raw) = rig.Sim.Run(async () =>
        {
            using var h = rig.OpenRaw();
            var s = new List<string>();
            for (byte i = 1; i <= 5; i++) s.Add(await UsbStrings.ReadAsync(h, i));
            var a0 = new byte[255];
            var n0 = await h.ControlTransferAsync(new UsbSetup(0x80, UsbRequest.GetDescriptor, 0x0304, 0x0409, 255), a0, Timeout5s);
            var a1 = new byte[255];
            var n1 = await h.ControlTransferAsync(new UsbSetup(0x80, UsbRequest.GetDescriptor, 0x0305, 0x0409, 255), a1, Timeout5s);
            return (s, a0[..n0], a1[..n1]);
        });
        Assert.That(strings[0], Is.EqualTo("Spark Devices     ").And.Length.EqualTo(18));
        Assert.That(strings[1], Is.EqualTo("CORE DFU "));
        Assert.That(strings[2], Is.EqualTo(DfuTestRig.Serial));
        Assert.That(strings[3], Is.EqualTo("@Internal Flash  /0x08000000/20*001Ka,108*001Kg" + new string('\0', 1)));
        Assert.That(strings[4], Is.EqualTo("@SPI Flash : SST25x/0x00000000/512*04Kg" + new string('\0', 9)));
        Assert.That((alt0Raw.Length, alt0Raw[0], alt1Raw.Length, alt1Raw[0]), Is.EqualTo((98, (byte)98, 98, (byte)98)));
    }

    [Test]
    public void Serial_is_computed_from_the_device_id_like_Get_SerialNum()
    {
        Assert.That(SparkDfuDevice.SerialFromDeviceId("55ff6a065075555344121787"), Is.EqualTo("8D8211995355"));
        var e = Assert.Throws<ArgumentException>(() => SparkDfuDevice.SerialFromDeviceId("55ff6a06"));
        Assert.That(e!.Message, Does.Contain("55ff6a06").And.Contain("24 hex"));
    }

    [Test]
    public void A_serial_that_is_not_12_uppercase_hex_is_refused_with_the_value()
    {
        using var rig = new DfuTestRig();
        var e = Assert.Throws<ArgumentException>(() => _ = new SparkDfuDevice(rig.Sim.Time, rig.InternalFlash, rig.SpiFlash, "8d8211995355"));
        Assert.That(e!.Message, Does.Contain("'8d8211995355'").And.Contain("12 uppercase hex"));
    }

    [Test]
    public void Starts_in_dfuERROR_errFIRMWARE_and_CLRSTATUS_gives_dfuIDLE()
    {
        using var rig = new DfuTestRig();
        var (first, afterClear, state) = rig.Sim.Run(async () =>
        {
            using var h = rig.OpenRaw();
            var s1 = await StatusAsync(h);
            await OutAsync(h, DfuRequest.ClrStatus, 0, []);
            var s2 = await StatusAsync(h);
            var st = await InAsync(h, DfuRequest.GetState, 0, 1);
            return (s1, s2, st[0]);
        });
        Assert.That((first.State, first.Status), Is.EqualTo((DfuState.DfuError, DfuStatusCode.ErrFirmware)));
        Assert.That((afterClear.State, afterClear.Status, afterClear.PollTimeout), Is.EqualTo((DfuState.DfuIdle, DfuStatusCode.Ok, TimeSpan.Zero)));
        Assert.That((DfuState)state, Is.EqualTo(DfuState.DfuIdle));
    }

    [Test]
    public void Get_commands_lists_set_address_and_erase_only()
    {
        using var rig = new DfuTestRig();
        var commands = rig.Sim.Run(async () =>
        {
            using var h = rig.OpenRaw();
            await ClearInitialErrorAsync(h);
            return await InAsync(h, DfuRequest.Upload, 0, 16);
        });
        Assert.That(commands, Is.EqualTo(new byte[] { 0x00, 0x21, 0x41 }));
    }

    [Test]
    public void Poll_timeout_comes_from_the_previous_address_pointer()
    {
        using var rig = new DfuTestRig();
        var polls = rig.Sim.Run(async () =>
        {
            using var h = rig.OpenRaw();
            await ClearInitialErrorAsync(h);
            var list = new List<double>();
            var toSpi = await CommandAsync(h, DfuSeCommand.SetAddressPointer, 0x20000);
            list.Add(toSpi.Busy.PollTimeout.TotalMilliseconds);
            var eraseSpi = await CommandAsync(h, DfuSeCommand.Erase, 0x20000);
            list.Add(eraseSpi.Busy.PollTimeout.TotalMilliseconds);
            await OutAsync(h, DfuRequest.Dnload, 2, new byte[1024]);
            list.Add((await StatusAsync(h)).PollTimeout.TotalMilliseconds);
            await StatusAsync(h);
            var toInternal = await CommandAsync(h, DfuSeCommand.SetAddressPointer, 0x08005000);
            list.Add(toInternal.Busy.PollTimeout.TotalMilliseconds);
            var eraseInternal = await CommandAsync(h, DfuSeCommand.Erase, 0x08005000);
            list.Add(eraseInternal.Busy.PollTimeout.TotalMilliseconds);
            Assert.That(eraseInternal.After.State, Is.EqualTo(DfuState.DfuDnloadIdle));
            return list;
        });
        // set address to SPI (pointer still internal), SPI erase, SPI write, set address to internal (pointer SPI), internal erase
        Assert.That(polls, Is.EqualTo(new[] { 50.0, 20, 30, 30, 50 }));
    }

    [Test]
    public void The_flash_operation_runs_after_the_DNBUSY_status_and_the_device_NAKs_until_it_is_done()
    {
        using var rig = new DfuTestRig();
        var (busy, done, erasesAtBusy, wait) = rig.Sim.Run(async () =>
        {
            using var h = rig.OpenRaw();
            await ClearInitialErrorAsync(h);
            await CommandAsync(h, DfuSeCommand.SetAddressPointer, 0x20000);
            await OutAsync(h, DfuRequest.Dnload, 0, Command(DfuSeCommand.Erase, 0x21000));
            var erasesBefore = rig.SpiFlash.Erases.Count;
            var b = await StatusAsync(h);
            var erasesAfterBusy = rig.SpiFlash.Erases.Count - erasesBefore;
            var start = rig.Sim.Time.GetTimestamp();
            var d = await StatusAsync(h);
            return (b, d, erasesAfterBusy, rig.Sim.Time.GetElapsedTime(start));
        });
        Assert.That(busy.State, Is.EqualTo(DfuState.DfuDnBusy));
        Assert.That(erasesAtBusy, Is.EqualTo(1), "the erase starts once the dfuDNBUSY status is out");
        Assert.That((done.State, done.Status), Is.EqualTo((DfuState.DfuDnloadIdle, DfuStatusCode.Ok)));
        Assert.That(wait, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(18)), "the next GETSTATUS is NAKed until the 18 ms sector erase is done");
        Assert.That(wait, Is.LessThan(TimeSpan.FromMilliseconds(20)));
        Assert.That(rig.SpiFlash.Erases[^1], Is.EqualTo(0x21000u));
    }

    [Test]
    public void Data_block_lands_at_pointer_plus_block_minus_2_times_1024_on_the_media_chosen_by_address()
    {
        using var rig = new DfuTestRig();
        var block = DfuTestRig.Pattern(100, 7);
        rig.Sim.Run(async () =>
        {
            using var h = rig.OpenRaw();
            await ClearInitialErrorAsync(h);
            // alt 0 is selected, yet an SPI address goes to the SPI flash: the alt setting does not choose the media
            h.ClaimInterface(0);
            await h.SetAltSettingAsync(0, 0);
            await CommandAsync(h, DfuSeCommand.SetAddressPointer, 0x40000);
            await OutAsync(h, DfuRequest.Dnload, 4, block);
            await StatusAsync(h);
            var after = await StatusAsync(h);
            Assert.That(after.State, Is.EqualTo(DfuState.DfuDnloadIdle));
        });
        Assert.That(rig.SpiFlash.Writes, Is.EqualTo(new[] { (0x40800u, 100) }));
        Assert.That(rig.SpiFlash.Cells(0x40800, 100).ToArray(), Is.EqualTo(block));
        Assert.That(rig.InternalFlash.Writes, Is.Empty);
    }

    [Test]
    public void Set_address_outside_both_flashes_ends_in_dfuERROR_errTARGET()
    {
        foreach (var address in new uint[] { 0x20000000, 0x08020000, 0x00200000, 0x1FFFF7E8 })
        {
            using var rig = new DfuTestRig();
            var (busy, after) = rig.Sim.Run(async () =>
            {
                using var h = rig.OpenRaw();
                await ClearInitialErrorAsync(h);
                return await CommandAsync(h, DfuSeCommand.SetAddressPointer, address);
            });
            Assert.That(busy.State, Is.EqualTo(DfuState.DfuDnBusy), $"0x{address:X8}");
            Assert.That((after.State, after.Status), Is.EqualTo((DfuState.DfuError, DfuStatusCode.ErrTarget)), $"0x{address:X8}");
            Assert.That(rig.Device.AddressPointer, Is.EqualTo(0x08000000u));
        }
    }

    [Test]
    public void Erase_or_data_block_past_the_flash_end_ends_in_errTARGET_without_touching_the_flash()
    {
        using var rig = new DfuTestRig();
        var (erase, write) = rig.Sim.Run(async () =>
        {
            using var h = rig.OpenRaw();
            await ClearInitialErrorAsync(h);
            var e = await CommandAsync(h, DfuSeCommand.Erase, 0x08020000);
            await OutAsync(h, DfuRequest.ClrStatus, 0, []);
            await CommandAsync(h, DfuSeCommand.SetAddressPointer, 0x1FFC00);
            await OutAsync(h, DfuRequest.Dnload, 3, new byte[1024]);
            await StatusAsync(h);
            return (e.After, await StatusAsync(h));
        });
        Assert.That((erase.State, erase.Status), Is.EqualTo((DfuState.DfuError, DfuStatusCode.ErrTarget)));
        Assert.That((write.State, write.Status), Is.EqualTo((DfuState.DfuError, DfuStatusCode.ErrTarget)));
        Assert.That(rig.InternalFlash.Erases, Is.Empty);
        Assert.That(rig.SpiFlash.Writes, Is.Empty);
    }

    [Test]
    public void Mass_erase_is_not_supported_and_stalls()
    {
        using var rig = new DfuTestRig();
        rig.Sim.Run(async () =>
        {
            using var h = rig.OpenRaw();
            await ClearInitialErrorAsync(h);
            await ExpectStallAsync(() => OutAsync(h, DfuRequest.Dnload, 0, [DfuSeCommand.Erase]), h);
        });
        Assert.That(rig.SpiFlash.Erases.Concat(rig.InternalFlash.Erases), Is.Empty);
    }

    [Test]
    public void Illegal_requests_stall_and_leave_dfuERROR_errSTALLEDPKT()
    {
        var cases = new (string Name, Func<IUsbDeviceHandle, Task> Request)[]
        {
            ("DETACH", h => OutAsync(h, DfuRequest.Detach, 1000, [])),
            ("read unprotect", h => OutAsync(h, DfuRequest.Dnload, 0, [DfuSeCommand.ReadUnprotect])),
            ("DNLOAD block 1", h => OutAsync(h, DfuRequest.Dnload, 1, new byte[16])),
            ("block over wTransferSize", h => OutAsync(h, DfuRequest.Dnload, 2, new byte[2048])),
            ("CLRSTATUS in dfuIDLE", h => OutAsync(h, DfuRequest.ClrStatus, 0, [])),
            ("UPLOAD block 1", h => InAsync(h, DfuRequest.Upload, 1, 64)),
            ("unknown request 7", h => OutAsync(h, 7, 0, [])),
        };
        foreach (var (name, request) in cases)
        {
            using var rig = new DfuTestRig();
            rig.Sim.Run(async () =>
            {
                using var h = rig.OpenRaw();
                await ClearInitialErrorAsync(h);
                await ExpectStallAsync(() => request(h), h);
            });
            Assert.That(rig.Device.State, Is.EqualTo(DfuState.DfuError), name);
        }
    }

    [Test]
    public void Upload_while_downloading_and_DNLOAD_while_uploading_stall()
    {
        using var rig = new DfuTestRig();
        rig.Sim.Run(async () =>
        {
            using var h = rig.OpenRaw();
            await ClearInitialErrorAsync(h);
            await CommandAsync(h, DfuSeCommand.SetAddressPointer, 0x20000); // now dfuDNLOAD-IDLE
            await ExpectStallAsync(() => InAsync(h, DfuRequest.Upload, 2, 1024), h);
            await OutAsync(h, DfuRequest.ClrStatus, 0, []);
            await InAsync(h, DfuRequest.Upload, 2, 1024); // now dfuUPLOAD-IDLE
            await ExpectStallAsync(() => OutAsync(h, DfuRequest.Dnload, 0, Command(DfuSeCommand.Erase, 0x20000)), h);
            // ABORT is illegal in dfuERROR too: only CLRSTATUS leaves it
            await ExpectStallAsync(() => OutAsync(h, DfuRequest.Abort, 0, []), h);
        });
    }

    [Test]
    public void Upload_costs_the_read_time_and_a_short_reply_ends_at_the_flash_end()
    {
        using var rig = new DfuTestRig();
        rig.SpiFlash.Cells(0x1FFE00, 512).Fill(0x5A);
        var (data, elapsed, state) = rig.Sim.Run(async () =>
        {
            using var h = rig.OpenRaw();
            await ClearInitialErrorAsync(h);
            await CommandAsync(h, DfuSeCommand.SetAddressPointer, 0x1FFE00);
            await OutAsync(h, DfuRequest.Abort, 0, []);
            var start = rig.Sim.Time.GetTimestamp();
            var d = await InAsync(h, DfuRequest.Upload, 2, 1024);
            var t = rig.Sim.Time.GetElapsedTime(start);
            return (d, t, (await StatusAsync(h)).State);
        });
        Assert.That(data, Has.Length.EqualTo(512).And.All.EqualTo(0x5A));
        Assert.That(state, Is.EqualTo(DfuState.DfuIdle), "a short frame ends the upload");
        Assert.That(elapsed, Is.GreaterThanOrEqualTo(rig.SpiFlash.ReadTimePerKiB / 2), "the SPI read of 512 bytes happens inside the transfer");
    }

    [Test]
    public void Upload_outside_both_flashes_stalls_with_errTARGET()
    {
        using var rig = new DfuTestRig();
        var status = rig.Sim.Run(async () =>
        {
            using var h = rig.OpenRaw();
            await ClearInitialErrorAsync(h);
            await CommandAsync(h, DfuSeCommand.SetAddressPointer, 0x1FFC00);
            await OutAsync(h, DfuRequest.Abort, 0, []);
            await CatchAsync<UsbException>(() => InAsync(h, DfuRequest.Upload, 3, 1024));
            return await StatusAsync(h);
        });
        Assert.That((status.State, status.Status), Is.EqualTo((DfuState.DfuError, DfuStatusCode.ErrTarget)));
    }

    [Test]
    public void Zero_length_DNLOAD_answers_dfuMANIFEST_then_raises_Leave()
    {
        using var rig = new DfuTestRig();
        var leaves = 0;
        DfuState? stateAtLeave = null;
        rig.Device.Leave += () =>
        {
            leaves++;
            stateAtLeave = rig.Device.State;
        };
        var (sync, manifest) = rig.Sim.Run(async () =>
        {
            using var h = rig.OpenRaw();
            await ClearInitialErrorAsync(h);
            await OutAsync(h, DfuRequest.Dnload, 2, []);
            var s = rig.Device.State;
            return (s, await StatusAsync(h));
        });
        Assert.That(sync, Is.EqualTo(DfuState.DfuManifestSync));
        Assert.That((manifest.State, manifest.Status, manifest.PollTimeout), Is.EqualTo((DfuState.DfuManifest, DfuStatusCode.Ok, TimeSpan.FromMilliseconds(1))));
        Assert.That((leaves, stateAtLeave), Is.EqualTo((1, (DfuState?)DfuState.DfuManifest)));
    }
}
