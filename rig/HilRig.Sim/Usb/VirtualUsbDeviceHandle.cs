using HilRig.Core.Usb;
using HilRig.Sim.Time;

namespace HilRig.Sim.Usb;

/// <summary>An open device on the virtual bus: one default control pipe, transfers serialised like on real hardware.</summary>
internal sealed class VirtualUsbDeviceHandle(VirtualUsbBus bus, VirtualUsbBus.Attachment attachment, IUsbDevice device) : IUsbDeviceHandle
{
    private readonly SemaphoreSlim _pipe = new(1, 1);
    private readonly HashSet<int> _claimed = [];
    private bool _closed;

    public IUsbDevice Device => device;

    public async Task<int> ControlTransferAsync(UsbSetup setup, Memory<byte> data, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        EnsureOpen("control transfer");
        if (data.Length < setup.Length)
            throw new UsbException(UsbError.InvalidParam, $"control transfer on {attachment.Path}: buffer of {data.Length} bytes for wLength {setup.Length}");
        await _pipe.WaitAsync(cancellationToken);
        try
        {
            var function = attachment.Function;
            // While the device's firmware is busy it NAKs; the host controller retries until the transfer's timeout.
            var busy = function.BusyRemaining;
            var limit = timeout <= TimeSpan.Zero ? Timeout.InfiniteTimeSpan : timeout;
            if (busy == Timeout.InfiniteTimeSpan || busy > TimeSpan.Zero)
            {
                if (busy == Timeout.InfiniteTimeSpan || (limit != Timeout.InfiniteTimeSpan && busy > limit))
                {
                    if (limit == Timeout.InfiniteTimeSpan)
                        await Task.Delay(Timeout.InfiniteTimeSpan, bus.Time, cancellationToken);
                    await Task.Delay(limit, bus.Time, cancellationToken);
                    throw new UsbException(UsbError.Timeout, $"control transfer to {attachment.Path} ({setup}) not answered within {limit.TotalMilliseconds:0} ms");
                }
                await DeviceDelay.WaitAsync(bus.Time, busy, cancellationToken);
            }
            EnsurePresent(setup);
            await DeviceDelay.WaitAsync(bus.Time, bus.Timing.TransferTime(setup.Length), cancellationToken);
            EnsurePresent(setup);
            await InjectFaultAsync(setup, limit, cancellationToken);
            var buffer = data[..setup.Length];
            var response = await function.DispatchAsync(setup, buffer, cancellationToken);
            if (response.Stalled)
                throw new UsbException(UsbError.Pipe, $"control transfer to {attachment.Path} ({setup}) stalled");
            return setup.IsDeviceToHost ? Math.Min(response.Length, setup.Length) : setup.Length;
        }
        finally
        {
            _pipe.Release();
        }
    }

    /// <summary>The cable between the host and a Core in DFU fails on purpose (<c>sim.faults</c>), before the device sees the request.</summary>
    private async Task InjectFaultAsync(UsbSetup setup, TimeSpan limit, CancellationToken ct)
    {
        if (bus.Faults is not { } faults || attachment.Function is not HilRig.Sim.Device.Dfu.SparkDfuDevice || setup.Type != 1) return;
        var slot = bus.SlotOf(attachment.Path);
        var request = setup.Request;
        // data transfers only: the status polls that follow them are how the host finds out
        var data = request is Core.Dfu.DfuRequest.Dnload or Core.Dfu.DfuRequest.Upload;
        if (data && slot is { } worn && bus.WornSlots.Contains(worn) && faults.Inject(HilRig.Sim.Faults.FaultKind.WornContact, slot, $"{attachment.Path} {setup}"))
        {
            // a worn pogo pin: the contact comes back, but later than the host waits for a Core to re-enumerate
            bus.Glitch(attachment.Path, WornGap);
            throw new UsbException(UsbError.NoDevice, $"control transfer to {attachment.Path} ({setup}): the device left the bus");
        }
        if (data && bus.BrownOut is { } sag && faults.Inject(HilRig.Sim.Faults.FaultKind.BrownOut, slot, $"{attachment.Path} {setup}"))
        {
            sag(attachment.Path);
            throw new UsbException(UsbError.NoDevice, $"control transfer to {attachment.Path} ({setup}): the device left the bus");
        }
        if (data && faults.Inject(HilRig.Sim.Faults.FaultKind.UsbDisconnect, slot, $"{attachment.Path} {setup}"))
        {
            bus.Glitch(attachment.Path, GlitchGap);
            throw new UsbException(UsbError.NoDevice, $"control transfer to {attachment.Path} ({setup}): the device left the bus");
        }
        if (data && faults.Inject(HilRig.Sim.Faults.FaultKind.UsbStall, slot, $"{attachment.Path} {setup}"))
            throw new UsbException(UsbError.Pipe, $"control transfer to {attachment.Path} ({setup}) stalled");
        if (faults.Inject(HilRig.Sim.Faults.FaultKind.UsbTimeout, slot, $"{attachment.Path} {setup}"))
        {
            await Task.Delay(limit == Timeout.InfiniteTimeSpan ? TimeSpan.FromSeconds(5) : limit, bus.Time, ct);
            throw new UsbException(UsbError.Timeout, $"control transfer to {attachment.Path} ({setup}) not answered within {limit.TotalMilliseconds:0} ms");
        }
    }

    /// <summary>How long a Core whose cable glitched is off the bus before it enumerates again.</summary>
    internal static readonly TimeSpan GlitchGap = TimeSpan.FromMilliseconds(300);

    /// <summary>How long a worn slot's contact stays open: past the DFU host's 3 s wait for the Core to come back.</summary>
    internal static readonly TimeSpan WornGap = TimeSpan.FromSeconds(5);

    public void ClaimInterface(int interfaceNumber)
    {
        EnsureOpen("claim interface");
        if (!Interfaces().Any(i => i.Number == interfaceNumber))
            throw new UsbException(UsbError.NotFound, $"claim interface {interfaceNumber} on {attachment.Path}");
        _claimed.Add(interfaceNumber);
    }

    public void ReleaseInterface(int interfaceNumber)
    {
        EnsureOpen("release interface");
        if (!_claimed.Remove(interfaceNumber))
            throw new UsbException(UsbError.NotFound, $"release interface {interfaceNumber} on {attachment.Path} (not claimed)");
    }

    public async Task SetAltSettingAsync(int interfaceNumber, int altSetting, CancellationToken cancellationToken = default)
    {
        EnsureOpen("set alt setting");
        if (!_claimed.Contains(interfaceNumber))
            throw new UsbException(UsbError.NotFound, $"set alt setting on {attachment.Path}: interface {interfaceNumber} not claimed");
        var iface = Interfaces().FirstOrDefault(i => i.Number == interfaceNumber);
        if (iface is null || !iface.AltSettings.Any(a => a.AlternateSetting == altSetting))
            throw new UsbException(UsbError.NotFound, $"set alt setting {altSetting} on {attachment.Path}: no such alt setting");
        // SET_INTERFACE is a standard control transfer on the wire.
        await ControlTransferAsync(new UsbSetup(0x01, 11, (ushort)altSetting, (ushort)interfaceNumber, 0), Memory<byte>.Empty, TimeSpan.FromSeconds(1), cancellationToken);
    }

    public async Task ResetAsync(CancellationToken cancellationToken = default)
    {
        EnsureOpen("reset");
        if (!bus.IsCurrent(attachment)) throw new UsbException(UsbError.NotFound, $"reset {attachment.Path}: device re-enumerated");
        await Task.Delay(TimeSpan.FromMilliseconds(50), bus.Time, cancellationToken); // bus reset signalling
        attachment.Function.OnBusReset();
        _claimed.Clear();
        if (!bus.IsCurrent(attachment)) throw new UsbException(UsbError.NotFound, $"reset {attachment.Path}: device re-enumerated");
    }

    public void Dispose()
    {
        _closed = true;
        _pipe.Dispose();
    }

    private IReadOnlyList<UsbInterface> Interfaces() =>
        UsbConfiguration.Parse(attachment.Function.GetConfigDescriptor(0)).Interfaces;

    private void EnsureOpen(string what)
    {
        if (_closed) throw new ObjectDisposedException(nameof(VirtualUsbDeviceHandle), $"{what} on a closed handle for {attachment.Path}");
        if (!bus.IsCurrent(attachment)) throw new UsbException(UsbError.NoDevice, $"{what} on {attachment.Path}");
    }

    private void EnsurePresent(UsbSetup setup)
    {
        if (!bus.IsCurrent(attachment)) throw new UsbException(UsbError.NoDevice, $"control transfer to {attachment.Path} ({setup})");
    }
}
