using HilRig.Core.Usb;

namespace HilRig.Core.Dfu;

/// <summary>
/// The DfuSe host: finds DFU-mode devices on a USB bus and opens sessions that erase, download and upload
/// through DfuSe commands (protocols.md §1-2). The same code drives a real Core and the simulated one.
/// </summary>
public static class DfuSeHost
{
    /// <summary>Like <c>dfu-util -l</c>: one entry per DFU-mode alt setting on the bus.</summary>
    public static async Task<IReadOnlyList<DfuDeviceInfo>> ListAsync(IUsbBus bus, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(bus);
        var found = new List<DfuDeviceInfo>();
        foreach (var device in bus.GetDevices())
        {
            var descriptor = device.Descriptor;
            for (var c = 0; c < descriptor.NumConfigurations; c++)
            {
                var alts = DfuModeAlts(UsbConfiguration.Parse(device.GetRawConfigDescriptor(c)));
                if (alts.Count == 0) continue;
                try
                {
                    using var handle = device.Open();
                    var serial = await ReadStringAsync(handle, descriptor.SerialNumberIndex, ct);
                    foreach (var alt in alts)
                    {
                        var name = await ReadStringAsync(handle, alt.InterfaceStringIndex, ct);
                        found.Add(new DfuDeviceInfo(device.Path, descriptor.VendorId, descriptor.ProductId, descriptor.BcdDevice,
                            device.Address, alt.InterfaceNumber, alt.AlternateSetting, name, serial));
                    }
                }
                catch (UsbException e) when (e.Error is UsbError.NoDevice or UsbError.NotFound)
                {
                    // Gone while being listed (a Core leaving DFU): not on the list, like dfu-util.
                }
            }
        }
        return found;
    }

    /// <summary>
    /// Opens the DfuSe device at <paramref name="usbPath"/>: claims its DFU interface, reads serial and alt
    /// names, parses their memory layouts and the functional descriptor, selects alt 0 and brings the device
    /// to dfuIDLE (CLRSTATUS from the Core's initial dfuERROR, ABORT from dfuDNLOAD-IDLE/dfuUPLOAD-IDLE).
    /// </summary>
    public static async Task<DfuSeSession> OpenAsync(IUsbBus bus, string usbPath, TimeProvider time, DfuHostOptions? options = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(bus);
        ArgumentNullException.ThrowIfNull(time);
        var devices = bus.GetDevices();
        var device = devices.FirstOrDefault(d => d.Path == usbPath);
        if (device is null)
        {
            var present = devices.Count == 0 ? "nothing" : string.Join(", ", devices.Select(d => $"{d.Path} ({d.Descriptor.VidPid})"));
            throw new UsbException(UsbError.NoDevice, $"no USB device at path '{usbPath}' (on the bus: {present})");
        }
        var config = UsbConfiguration.Parse(device.GetRawConfigDescriptor(0));
        var dfuAlts = DfuModeAlts(config);
        if (dfuAlts.Count == 0)
            throw new DfuRequestRefusedException(
                $"device at {usbPath} ({device.Descriptor.VidPid}) is not in DFU mode: no interface with class FE, subclass 01, protocol 2");
        var interfaceNumber = dfuAlts[0].InterfaceNumber;
        var alts = dfuAlts.Where(a => a.InterfaceNumber == interfaceNumber).ToList();

        var handle = device.Open();
        try
        {
            var functional = FindFunctional(config, alts) ?? await ReadFunctionalAsync(handle, ct);
            if (functional is null)
                throw new DfuRequestRefusedException($"device at {usbPath} ({device.Descriptor.VidPid}) has no DFU functional descriptor");
            if (!functional.IsDfuSe)
                throw new DfuRequestRefusedException(
                    $"device at {usbPath} ({device.Descriptor.VidPid}) speaks DFU 0x{functional.BcdDfuVersion:X4}, not DfuSe (bcdDFUVersion 0x011A)");
            if (functional.TransferSize == 0)
                throw new DfuRequestRefusedException($"device at {usbPath} ({device.Descriptor.VidPid}) reports wTransferSize 0");

            handle.ClaimInterface(interfaceNumber);
            var serial = await ReadStringAsync(handle, device.Descriptor.SerialNumberIndex, ct);
            var altSettings = new List<DfuAltSetting>();
            foreach (var alt in alts)
            {
                var name = await ReadStringAsync(handle, alt.InterfaceStringIndex, ct);
                altSettings.Add(new DfuAltSetting(alt.AlternateSetting, name, MemoryLayout.Parse(name)));
            }
            await handle.SetAltSettingAsync(interfaceNumber, altSettings[0].Alt, ct);
            var session = new DfuSeSession(handle, interfaceNumber, serial, altSettings, functional, time, options ?? new DfuHostOptions())
            {
                Reopen = c => ReopenAsync(bus, usbPath, serial, time, c),
            };
            await session.GetToIdleAsync(ct);
            return session;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>The same Core (by its DFU serial) back in DFU at the same path within <see cref="DfuSeSession.ReconnectWithin"/>, opened; null if not.</summary>
    private static async Task<IUsbDeviceHandle?> ReopenAsync(IUsbBus bus, string usbPath, string serial, TimeProvider time, CancellationToken ct)
    {
        var start = time.GetTimestamp();
        while (time.GetElapsedTime(start) < DfuSeSession.ReconnectWithin)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), time, ct);
            var device = bus.GetDevices().FirstOrDefault(d => d.Path == usbPath);
            if (device is null || DfuModeAlts(UsbConfiguration.Parse(device.GetRawConfigDescriptor(0))).Count == 0) continue;
            var handle = device.Open();
            try
            {
                if (await ReadStringAsync(handle, device.Descriptor.SerialNumberIndex, ct) == serial) return handle;
            }
            catch (UsbException)
            {
                // gone again: keep waiting
            }
            handle.Dispose();
        }
        return null;
    }

    private static List<UsbAltSetting> DfuModeAlts(UsbConfiguration config) =>
        config.Interfaces.SelectMany(i => i.AltSettings)
            .Where(a => a.InterfaceClass == 0xFE && a.InterfaceSubClass == 0x01 && a.InterfaceProtocol == 0x02)
            .ToList();

    // Where dfu-util looks: the configuration's extra bytes, then every DFU alt setting's (real devices put it after the last one).
    private static DfuFunctionalDescriptor? FindFunctional(UsbConfiguration config, IEnumerable<UsbAltSetting> alts) =>
        DfuFunctionalDescriptor.Find(config.Extra) ?? alts.Select(a => DfuFunctionalDescriptor.Find(a.Extra)).FirstOrDefault(f => f is not null);

    private static async Task<DfuFunctionalDescriptor?> ReadFunctionalAsync(IUsbDeviceHandle handle, CancellationToken ct)
    {
        var buffer = new byte[9];
        try
        {
            var n = await handle.ControlTransferAsync(new UsbSetup(0x80, UsbRequest.GetDescriptor, UsbDescriptorType.DfuFunctional << 8, 0, 9), buffer, TimeSpan.FromSeconds(1), ct);
            return DfuFunctionalDescriptor.Parse(buffer.AsSpan(0, n));
        }
        catch (UsbException e) when (e.Error == UsbError.Pipe)
        {
            return null;
        }
    }

    // The Core declares its interface strings 98 bytes long, so the text arrives with trailing U+0000 (spark-core.md §4.1).
    private static async Task<string> ReadStringAsync(IUsbDeviceHandle handle, byte index, CancellationToken ct)
    {
        if (index == 0) return "";
        var text = await UsbStrings.ReadAsync(handle, index, ct);
        var nul = text.IndexOf('\0', StringComparison.Ordinal);
        return nul < 0 ? text : text[..nul];
    }
}
