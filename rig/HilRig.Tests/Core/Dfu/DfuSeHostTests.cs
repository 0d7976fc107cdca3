using HilRig.Core.Dfu;
using HilRig.Core.Usb;
using HilRig.Sim.Device.Dfu;

namespace HilRig.Tests.Dfu;

/// <summary>The DfuSe host in Core against the simulated Core on a virtual bus, in virtual time.</summary>
public class DfuSeHostTests
{
    private static Task<T> CatchAsync<T>(Func<Task> f) where T : Exception => SparkDfuDeviceTests.CatchAsync<T>(f);

    [Test]
    public void List_shows_both_alt_settings_with_names_and_serial_and_skips_the_hub()
    {
        using var rig = new DfuTestRig();
        var list = rig.Sim.Run(() => DfuSeHost.ListAsync(rig.Bus));
        Assert.That(list.Select(d => (d.Path, d.VidPid, d.BcdDevice, d.Interface, d.Alt, d.Name, d.Serial)), Is.EqualTo(new[]
        {
            ("1-1.3", "1d50:607f", (ushort)0x0200, 0, 0, "@Internal Flash  /0x08000000/20*001Ka,108*001Kg", "8D8211995355"),
            ("1-1.3", "1d50:607f", (ushort)0x0200, 0, 1, "@SPI Flash : SST25x/0x00000000/512*04Kg", "8D8211995355"),
        }));
        Assert.That(list[1].ToString(), Does.StartWith("Found DFU: [1d50:607f] ver=0200, devnum=").And.Contain("path=\"1-1.3\", alt=1, name=\"@SPI Flash : SST25x/"));
    }

    [Test]
    public void Open_clears_the_initial_dfuERROR_and_parses_layouts_and_functional_descriptor()
    {
        using var rig = new DfuTestRig();
        var (serial, alts, functional, status) = rig.Sim.Run(async () =>
        {
            using var session = await DfuSeHost.OpenAsync(rig.Bus, DfuTestRig.CorePath, rig.Sim.Time);
            return (session.Serial, session.AltSettings, session.Functional, await session.GetStatusAsync());
        });
        Assert.That(serial, Is.EqualTo(DfuTestRig.Serial));
        Assert.That(alts.Select(a => (a.Alt, a.MemoryLayout.Name)), Is.EqualTo(new[] { (0, "Internal Flash  "), (1, "SPI Flash : SST25x") }));
        Assert.That(alts[1].MemoryLayout.Segments.Single(), Is.EqualTo(new MemorySegment(0, 4096, 512, true, true, true)));
        Assert.That((functional.TransferSize, functional.IsDfuSe), Is.EqualTo(((ushort)1024, true)));
        Assert.That((status.State, status.Status), Is.EqualTo((DfuState.DfuIdle, DfuStatusCode.Ok)));
    }

    [Test]
    public void Open_aborts_a_download_or_upload_left_behind_by_an_earlier_host()
    {
        using var rig = new DfuTestRig();
        var states = rig.Sim.Run(async () =>
        {
            var seen = new List<DfuState>();
            foreach (var leaveBehind in new[] { DfuState.DfuDnloadIdle, DfuState.DfuUploadIdle })
            {
                using (var raw = rig.OpenRaw())
                {
                    var status = new byte[6];
                    await raw.ControlTransferAsync(new UsbSetup(0xA1, DfuRequest.GetStatus, 0, 0, 6), status, TimeSpan.FromSeconds(5));
                    if (status[4] == (byte)DfuState.DfuError) await raw.ControlTransferAsync(new UsbSetup(0x21, DfuRequest.ClrStatus, 0, 0, 0), Memory<byte>.Empty, TimeSpan.FromSeconds(5));
                    if (leaveBehind == DfuState.DfuDnloadIdle)
                    {
                        await raw.ControlTransferAsync(new UsbSetup(0x21, DfuRequest.Dnload, 0, 0, 5), new byte[] { 0x21, 0, 0, 2, 0 }, TimeSpan.FromSeconds(5));
                        await raw.ControlTransferAsync(new UsbSetup(0xA1, DfuRequest.GetStatus, 0, 0, 6), status, TimeSpan.FromSeconds(5));
                        await raw.ControlTransferAsync(new UsbSetup(0xA1, DfuRequest.GetStatus, 0, 0, 6), status, TimeSpan.FromSeconds(5));
                    }
                    else
                    {
                        await raw.ControlTransferAsync(new UsbSetup(0xA1, DfuRequest.Upload, 0, 0, 3), new byte[3], TimeSpan.FromSeconds(5));
                    }
                }
                seen.Add(rig.Device.State);
                using var session = await DfuSeHost.OpenAsync(rig.Bus, DfuTestRig.CorePath, rig.Sim.Time);
                seen.Add(rig.Device.State);
            }
            return seen;
        });
        Assert.That(states, Is.EqualTo(new[] { DfuState.DfuDnloadIdle, DfuState.DfuIdle, DfuState.DfuUploadIdle, DfuState.DfuIdle }));
    }

    [Test]
    public void Open_at_an_empty_path_says_what_is_on_the_bus()
    {
        using var rig = new DfuTestRig();
        var e = rig.Sim.Run(() => CatchAsync<UsbException>(() => DfuSeHost.OpenAsync(rig.Bus, "1-1.4", rig.Sim.Time)));
        Assert.That(e.Error, Is.EqualTo(UsbError.NoDevice));
        Assert.That(e.Message, Does.Contain("'1-1.4'").And.Contain("1-1 (2109:2817)").And.Contain("1-1.3 (1d50:607f)"));
    }

    [Test]
    public void Open_refuses_a_device_that_is_not_in_DFU_mode()
    {
        using var rig = new DfuTestRig();
        var e = rig.Sim.Run(() => CatchAsync<DfuRequestRefusedException>(() => DfuSeHost.OpenAsync(rig.Bus, "1-1", rig.Sim.Time)));
        Assert.That(e.Message, Does.Contain("1-1").And.Contain("not in DFU mode"));
    }

    [Test]
    public void Download_and_upload_of_128K_at_the_factory_slot_are_byte_identical()
    {
        using var rig = new DfuTestRig();
        var image = DfuTestRig.Pattern(128 * 1024, seed: 42);
        var progress = new List<DfuProgress>();
        var (readBack, stats, writeTime, readTime) = rig.Sim.Run(async () =>
        {
            using var session = await DfuSeHost.OpenAsync(rig.Bus, DfuTestRig.CorePath, rig.Sim.Time);
            await session.SelectAltAsync(1);
            var t0 = rig.Sim.Time.GetTimestamp();
            await session.DownloadAsync(0x20000, image, progress: new SyncProgress<DfuProgress>(progress.Add));
            var t1 = rig.Sim.Time.GetTimestamp();
            var data = await session.UploadAsync(0x20000, image.Length);
            return (data, session.Stats, rig.Sim.Time.GetElapsedTime(t0, t1), rig.Sim.Time.GetElapsedTime(t1));
        });
        SameBytes.AssertEqual(readBack, image);
        Assert.That(rig.SpiFlash.Erases, Is.EqualTo(Enumerable.Range(0, 32).Select(i => 0x20000u + (uint)i * 4096)));
        Assert.That(rig.SpiFlash.Writes.Select(w => w.Length).ToList(), Has.Count.EqualTo(128).And.All.EqualTo(1024));
        Assert.That((stats.Erases, stats.BytesDownloaded, stats.BytesUploaded), Is.EqualTo((32, 128L * 1024, 128L * 1024)));
        // The Core NAKs while busy, so the host does not add its poll timeouts, yet it waits every flash operation out.
        Assert.That(stats.PollWaitTotal, Is.EqualTo(TimeSpan.Zero));
        Assert.That(writeTime, Is.GreaterThan(rig.SpiFlash.BusyTotal));
        Assert.That(progress[^1], Is.EqualTo(new DfuProgress(DfuPhase.Download, 0x40000, 128 * 1024, 128 * 1024)));
        TestContext.Out.WriteLine($"128 KiB SPI write {writeTime.TotalMilliseconds:0.0} ms (flash busy {rig.SpiFlash.BusyTotal.TotalMilliseconds:0} ms), readback {readTime.TotalMilliseconds:0.0} ms; {stats}");
    }

    [Test]
    public void Honouring_the_poll_timeout_on_a_NAKing_device_only_adds_waiting()
    {
        using var rig = new DfuTestRig();
        var image = DfuTestRig.Pattern(16 * 1024, seed: 3);
        var (quirk, honoured) = rig.Sim.Run(async () =>
        {
            async Task<(TimeSpan Time, TimeSpan PollWait)> WriteAsync(bool? honour)
            {
                using var session = await DfuSeHost.OpenAsync(rig.Bus, DfuTestRig.CorePath, rig.Sim.Time, new DfuHostOptions { HonourPollTimeout = honour });
                await session.SelectAltAsync(1);
                var t0 = rig.Sim.Time.GetTimestamp();
                await session.DownloadAsync(0x60000, image);
                return (rig.Sim.Time.GetElapsedTime(t0), session.Stats.PollWaitTotal);
            }
            return (await WriteAsync(null), await WriteAsync(true));
        });
        Assert.That(quirk.PollWait, Is.EqualTo(TimeSpan.Zero));
        Assert.That(honoured.PollWait, Is.GreaterThan(TimeSpan.Zero));
        Assert.That(honoured.Time, Is.GreaterThan(quirk.Time));
        Assert.That(DfuQuirks.NaksWhileBusy(0x1d50, 0x607f), Is.True);
        Assert.That(DfuQuirks.NaksWhileBusy(0x0483, 0xdf11), Is.False);
    }

    [Test]
    public void Erase_then_upload_reads_FF_and_leaves_the_next_sector_alone()
    {
        using var rig = new DfuTestRig();
        var image = DfuTestRig.Pattern(8192, seed: 5);
        var (erased, neighbour) = rig.Sim.Run(async () =>
        {
            using var session = await DfuSeHost.OpenAsync(rig.Bus, DfuTestRig.CorePath, rig.Sim.Time);
            await session.SelectAltAsync(1);
            await session.DownloadAsync(0x40000, image);
            await session.EraseAsync(0x40000, 4096);
            return (await session.UploadAsync(0x40000, 4096), await session.UploadAsync(0x41000, 4096));
        });
        Assert.That(erased, Is.All.EqualTo(0xFF));
        Assert.That(neighbour, Is.EqualTo(image[4096..]));
    }

    [Test]
    public void The_key_region_is_refused_unless_allowed()
    {
        using var rig = new DfuTestRig();
        var key = DfuTestRig.Pattern(612, seed: 9);
        var (write, erase, readBack) = rig.Sim.Run(async () =>
        {
            using var session = await DfuSeHost.OpenAsync(rig.Bus, DfuTestRig.CorePath, rig.Sim.Time);
            await session.SelectAltAsync(1);
            var w = await CatchAsync<DfuRequestRefusedException>(() => session.DownloadAsync(0x2000, key));
            var e = await CatchAsync<DfuRequestRefusedException>(() => session.EraseAsync(0x1000, 4096));
            Assert.That(rig.SpiFlash.Erases, Is.Empty, "nothing may reach the flash before the refusal");
            Assert.That(rig.SpiFlash.Writes, Is.Empty);
            await session.DownloadAsync(0x2000, key, new DfuDownloadOptions { AllowKeyRegion = true });
            return (w, e, await session.UploadAsync(0x2000, key.Length));
        });
        Assert.That(write.Message, Does.Contain("0x00002000").And.Contain("key region").And.Contain("AllowKeyRegion"));
        Assert.That(write.Address, Is.EqualTo(0x2000u));
        Assert.That(erase.Message, Does.Contain("0x00001000").And.Contain("key region"));
        Assert.That(readBack, Is.EqualTo(key));
    }

    [Test]
    public void A_write_in_the_read_only_bootloader_pages_is_refused_naming_address_and_segment()
    {
        using var rig = new DfuTestRig();
        var e = rig.Sim.Run(async () =>
        {
            using var session = await DfuSeHost.OpenAsync(rig.Bus, DfuTestRig.CorePath, rig.Sim.Time);
            return await CatchAsync<DfuRequestRefusedException>(() => session.DownloadAsync(0x08004C00, new byte[2048]));
        });
        Assert.That(e.Message, Does.Contain("0x08004C00").And.Contain("0x08000000-0x08004FFF 20 x 1024 (r)").And.Contain("not writable"));
        Assert.That(rig.InternalFlash.Erases.Count + rig.InternalFlash.Writes.Count, Is.Zero);
    }

    [Test]
    public void Requests_outside_the_layout_or_of_length_0_are_refused()
    {
        using var rig = new DfuTestRig();
        var (past, empty, upload) = rig.Sim.Run(async () =>
        {
            using var session = await DfuSeHost.OpenAsync(rig.Bus, DfuTestRig.CorePath, rig.Sim.Time);
            var p = await CatchAsync<DfuRequestRefusedException>(() => session.DownloadAsync(0x0801FC00, new byte[2048]));
            var z = await CatchAsync<DfuRequestRefusedException>(() => session.EraseAsync(0x08005000, 0));
            await session.SelectAltAsync(1);
            var u = await CatchAsync<DfuRequestRefusedException>(() => session.UploadAsync(0x1FF000, 8192));
            return (p, z, u);
        });
        Assert.That(past.Message, Does.Contain("0x08020000 is outside every segment of alt 0"));
        Assert.That(empty.Message, Does.Contain("length 0"));
        Assert.That(upload.Message, Does.Contain("0x00200000 is outside every segment of alt 1"));
    }

    [Test]
    public void A_length_that_is_not_a_multiple_of_the_block_or_word_size_round_trips()
    {
        using var rig = new DfuTestRig();
        var app = DfuTestRig.Pattern(1001, seed: 11);
        var ota = DfuTestRig.Pattern(2500, seed: 12);
        var (appBack, otaBack, before) = rig.Sim.Run(async () =>
        {
            using var session = await DfuSeHost.OpenAsync(rig.Bus, DfuTestRig.CorePath, rig.Sim.Time);
            await session.DownloadAsync(0x08005000, app);
            var a = await session.UploadAsync(0x08005000, 1004);
            await session.SelectAltAsync(1);
            await session.DownloadAsync(0x60100, ota);
            return (a, await session.UploadAsync(0x60100, ota.Length), await session.UploadAsync(0x60000, 256));
        });
        Assert.That(appBack[..1001], Is.EqualTo(app));
        Assert.That(appBack[1001..], Is.All.EqualTo(0xFF), "internal flash pads the tail word with 0xFF");
        Assert.That(rig.InternalFlash.Writes.Single(), Is.EqualTo((0x08005000u, 1004)));
        Assert.That(otaBack, Is.EqualTo(ota), "a short last block (wBlockNum 4) lands right after the full ones");
        Assert.That(before, Is.All.EqualTo(0xFF), "the whole sector the unaligned start touches is erased");
    }

    [Test]
    public void A_device_that_rejects_an_address_in_the_layout_gives_a_DfuException_with_errTARGET()
    {
        // A Core built on a 64 KiB STM32F103C8: the bootloader's layout string still claims 128 KiB.
        using var rig = new DfuTestRig(internalFlash: RamFlash.Internal(64 * 1024));
        var (e, status) = rig.Sim.Run(async () =>
        {
            using var session = await DfuSeHost.OpenAsync(rig.Bus, DfuTestRig.CorePath, rig.Sim.Time);
            var x = await CatchAsync<DfuException>(() => session.DownloadAsync(0x08012000, new byte[1024]));
            return (x, await session.GetStatusAsync());
        });
        Assert.That((e.State, e.Status, e.Operation, e.Address), Is.EqualTo((DfuState.DfuError, DfuStatusCode.ErrTarget, "erase", (uint?)0x08012000)));
        Assert.That(e.Message, Does.Contain("dfuERROR").And.Contain("errTARGET").And.Contain("0x08012000"));
        Assert.That(status.State, Is.EqualTo(DfuState.DfuError));
    }

    [Test]
    public void A_hung_flash_surfaces_as_a_USB_timeout_after_the_control_timeout_in_virtual_time()
    {
        using var rig = new DfuTestRig();
        rig.SpiFlash.HangOnErase = true;
        var (e, waited) = rig.Sim.Run(async () =>
        {
            using var session = await DfuSeHost.OpenAsync(rig.Bus, DfuTestRig.CorePath, rig.Sim.Time);
            await session.SelectAltAsync(1);
            var t0 = rig.Sim.Time.GetTimestamp();
            var x = await CatchAsync<UsbException>(() => session.DownloadAsync(0x20000, new byte[4096]));
            return (x, rig.Sim.Time.GetElapsedTime(t0));
        });
        Assert.That(e.Error, Is.EqualTo(UsbError.Timeout));
        // the request is sent again while it may be a glitch; a hung chip times out every time
        var attempts = DfuSeSession.TransientRetries + 1;
        Assert.That(waited, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(5 * attempts)).And.LessThan(TimeSpan.FromSeconds(5 * attempts + 0.1)));
        Assert.That(rig.SpiFlash.Erases, Is.EqualTo(new[] { 0x20000u }));
    }

    [Test]
    public void Leave_ends_in_dfuMANIFEST_fires_Leave_and_the_device_goes()
    {
        using var rig = new DfuTestRig();
        var leaves = 0;
        rig.Device.Leave += () =>
        {
            leaves++;
            rig.Bus.Disconnect(DfuTestRig.CorePath); // what the Core model's Finish_Update does
        };
        var (pointer, afterLeave) = rig.Sim.Run(async () =>
        {
            using var session = await DfuSeHost.OpenAsync(rig.Bus, DfuTestRig.CorePath, rig.Sim.Time);
            await session.LeaveAsync(0x08005000);
            var after = await CatchAsync<InvalidOperationException>(() => session.GetStatusAsync());
            return (rig.Device.AddressPointer, after);
        });
        Assert.That(leaves, Is.EqualTo(1));
        Assert.That(rig.Device.State, Is.EqualTo(DfuState.DfuManifest));
        Assert.That(pointer, Is.EqualTo(0x08005000u));
        Assert.That(rig.Bus.GetDevices().Select(d => d.Path), Is.EqualTo(new[] { "1-1" }));
        Assert.That(afterLeave.Message, Does.Contain("left DFU mode"));
    }

    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
