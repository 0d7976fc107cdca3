using HilRig.Core.Slots;
using HilRig.Core.Usb;

namespace HilRig.Core.Dfu;

/// <summary>
/// An open DfuSe device. Every operation checks the selected alt setting's memory layout before it sends
/// anything, and ends with the device back in dfuIDLE (except <see cref="LeaveAsync"/>).
/// </summary>
public sealed class DfuSeSession : IDisposable
{
    /// <summary>The Core's SPI key region: reserved sector, server key and address, device private key (spark-core.md §2.1).</summary>
    public const uint SpiKeyRegionEnd = 0x20000;

    private const int MaxIdleAttempts = 10;

    /// <summary>A request that stalled with the device in good state, or timed out, is sent again this many times in a row.</summary>
    public const int TransientRetries = 2;

    /// <summary>Times in a row (no block moved in between) an operation re-opens a device that dropped off the bus and goes on.</summary>
    public const int MaxReconnects = 3;

    /// <summary>How long a device that dropped off the bus has to come back in DFU.</summary>
    public static readonly TimeSpan ReconnectWithin = TimeSpan.FromSeconds(3);

    private IUsbDeviceHandle _handle;

    /// <summary>Inside an operation that can go on after a reconnect (upload, download, erase, leave).</summary>
    private int _resumable;
    private readonly int _interface;
    private readonly TimeProvider _time;
    private readonly DfuHostOptions _options;
    private readonly bool _honourPollTimeout;
    private long _notBefore;
    private bool _left;
    private bool _disposed;

    internal DfuSeSession(IUsbDeviceHandle handle, int interfaceNumber, string serial, IReadOnlyList<DfuAltSetting> altSettings,
        DfuFunctionalDescriptor functional, TimeProvider time, DfuHostOptions options)
    {
        _handle = handle;
        _interface = interfaceNumber;
        _time = time;
        _options = options;
        Serial = serial;
        AltSettings = altSettings;
        Functional = functional;
        SelectedAlt = altSettings[0];
        _honourPollTimeout = options.HonourPollTimeout ?? !DfuQuirks.NaksWhileBusy(handle.Device.Descriptor);
        // dfu-util: on Linux at most 4096, never below the control endpoint's packet size.
        TransferSize = Math.Max(Math.Min((int)functional.TransferSize, 4096), (int)handle.Device.Descriptor.MaxPacketSize0);
    }

    public IUsbDevice Device => _handle.Device;

    /// <summary>Opens the same DFU device again after it dropped off the bus (set by <see cref="DfuSeHost"/>); null: no reconnects.</summary>
    internal Func<CancellationToken, Task<IUsbDeviceHandle?>>? Reopen { get; init; }

    public string Serial { get; }

    public IReadOnlyList<DfuAltSetting> AltSettings { get; }

    public DfuFunctionalDescriptor Functional { get; }

    public DfuSessionStats Stats { get; } = new();

    public DfuAltSetting SelectedAlt { get; private set; }

    /// <summary>Bytes per DNLOAD/UPLOAD block.</summary>
    public int TransferSize { get; }

    public async Task SelectAltAsync(int alt, CancellationToken ct = default)
    {
        ThrowIfUnusable();
        var setting = AltSettings.FirstOrDefault(a => a.Alt == alt)
            ?? throw new ArgumentOutOfRangeException(nameof(alt), alt, $"device {Device.Path} has alt settings {string.Join(", ", AltSettings.Select(a => a.Alt))}");
        Stats.ControlTransfers++;
        await _handle.SetAltSettingAsync(_interface, alt, ct);
        SelectedAlt = setting;
    }

    public async Task<DfuStatus> GetStatusAsync(CancellationToken ct = default)
    {
        var reply = new byte[DfuStatus.Length];
        var n = await ControlAsync(new UsbSetup(DfuRequest.InRequestType, DfuRequest.GetStatus, 0, (ushort)_interface, DfuStatus.Length), reply, ct);
        if (n != DfuStatus.Length)
            throw new DfuException(DfuState.DfuError, DfuStatusCode.ErrUnknown, "get status", null, $"reply of {n} bytes, expected {DfuStatus.Length}");
        var status = DfuStatus.Parse(reply);
        if (_honourPollTimeout && status.PollTimeout > TimeSpan.Zero)
            _notBefore = _time.GetTimestamp() + (long)(status.PollTimeout.TotalSeconds * _time.TimestampFrequency);
        return status;
    }

    /// <summary>Reads <paramref name="length"/> bytes; fewer come back when the device ends the upload early (a short block at its region end).</summary>
    public Task<byte[]> UploadAsync(uint address, int length, IProgress<DfuProgress>? progress = null, CancellationToken ct = default) =>
        ResumableAsync(() => UploadCoreAsync(address, length, progress, ct));

    private async Task<byte[]> UploadCoreAsync(uint address, int length, IProgress<DfuProgress>? progress, CancellationToken ct)
    {
        ThrowIfUnusable();
        CheckSpan(address, length, "upload");
        RequireSegments(address, length, s => s.Readable, "readable", "upload");
        var result = new byte[length];
        var done = 0;
        var shortReply = false;
        var reconnects = 0;
        var resumedAt = 0;
        while (done < length && !shortReply)
        {
            try
            {
                var runStart = (uint)(address + done);
                await RunCommandAsync(DfuSeCommand.SetAddressPointer, runStart, "set address", ct);
                await AbortToIdleAsync("upload", ct);
                for (var block = (int)DfuSeCommand.FirstDataBlock; block <= ushort.MaxValue && done < length; block++)
                {
                    var n = Math.Min(TransferSize, length - done);
                    var setup = new UsbSetup(DfuRequest.InRequestType, DfuRequest.Upload, (ushort)block, (ushort)_interface, (ushort)n);
                    var got = await ClassRequestAsync(setup, result.AsMemory(done, n), $"upload block {block}", (uint)(address + done), ct);
                    done += got;
                    Stats.BytesUploaded += got;
                    progress?.Report(new DfuProgress(DfuPhase.Upload, (uint)(address + done), done, length));
                    if (got < n)
                    {
                        shortReply = true;
                        break;
                    }
                }
            }
            catch (DfuReconnectedException ex)
            {
                // a read: the blocks before `done` arrived whole; go on from there with a new address pointer
                reconnects = done > resumedAt ? 1 : reconnects + 1;
                resumedAt = done;
                if (reconnects > MaxReconnects) throw new UsbException(UsbError.NoDevice, ex.Message);
            }
        }
        await WithReconnectAsync(() => AbortToIdleAsync("upload", ct));
        return done == length ? result : result[..done];
    }

    /// <summary>Erases every page/sector the range touches, per the selected alt's layout. Never the SPI key region.</summary>
    public Task EraseAsync(uint address, int length, IProgress<DfuProgress>? progress = null, CancellationToken ct = default) =>
        EraseAsync(address, length, allowKeyRegion: false, progress, ct);

    /// <summary>Erases every page/sector the range touches; <paramref name="allowKeyRegion"/> permits the SPI key region.</summary>
    public Task EraseAsync(uint address, int length, bool allowKeyRegion, IProgress<DfuProgress>? progress = null, CancellationToken ct = default) =>
        ResumableAsync(async () =>
        {
            await EraseCheckedAsync(address, length, allowKeyRegion, progress, ct);
            return 0;
        });

    private async Task EraseCheckedAsync(uint address, int length, bool allowKeyRegion, IProgress<DfuProgress>? progress, CancellationToken ct)
    {
        ThrowIfUnusable();
        CheckSpan(address, length, "erase");
        await EraseCoreAsync(address, length, allowKeyRegion, progress, ct);
        await WithReconnectAsync(() => AbortToIdleAsync("erase", ct));
    }

    /// <summary>
    /// Writes <paramref name="data"/> at <paramref name="address"/>: erases the touched pages first (unless told
    /// not to), then one Set Address per contiguous run and DNLOAD blocks with wBlockNum 2, 3, ...
    /// </summary>
    public Task DownloadAsync(uint address, ReadOnlyMemory<byte> data, DfuDownloadOptions? options = null, IProgress<DfuProgress>? progress = null, CancellationToken ct = default) =>
        ResumableAsync(async () =>
        {
            await DownloadCoreAsync(address, data, options, progress, ct);
            return 0;
        });

    private async Task DownloadCoreAsync(uint address, ReadOnlyMemory<byte> data, DfuDownloadOptions? options, IProgress<DfuProgress>? progress, CancellationToken ct)
    {
        ThrowIfUnusable();
        options ??= new DfuDownloadOptions();
        var length = data.Length;
        CheckSpan(address, length, "download");
        RequireSegments(address, length, s => s.Writable || options.Force, "writable", "download");
        RequireKeyRegion(address, length, options.AllowKeyRegion, "download");
        if (options.Erase) await EraseCoreAsync(address, length, options.AllowKeyRegion, progress, ct, options.Force);

        var buffer = new byte[TransferSize];
        var done = 0;
        var reconnects = 0;
        var resumedAt = 0;
        while (done < length)
        {
            try
            {
                await RunCommandAsync(DfuSeCommand.SetAddressPointer, (uint)(address + done), "set address", ct);
                for (var block = (int)DfuSeCommand.FirstDataBlock; block <= ushort.MaxValue && done < length; block++)
                {
                    var n = Math.Min(TransferSize, length - done);
                    data.Span.Slice(done, n).CopyTo(buffer);
                    var blockAddress = (uint)(address + done);
                    var operation = $"download block {block}";
                    await ClassRequestAsync(new UsbSetup(DfuRequest.OutRequestType, DfuRequest.Dnload, (ushort)block, (ushort)_interface, (ushort)n),
                        buffer.AsMemory(0, n), operation, blockAddress, ct);
                    await WaitUntilDoneAsync(await GetStatusAsync(ct), operation, blockAddress, ct);
                    done += n;
                    Stats.BytesDownloaded += n;
                    progress?.Report(new DfuProgress(DfuPhase.Download, (uint)(address + done), done, length));
                }
            }
            catch (DfuReconnectedException ex)
            {
                // reconnects in a row without a block written in between
                reconnects = done > resumedAt ? 1 : reconnects + 1;
                resumedAt = done;
                if (reconnects > MaxReconnects) throw new UsbException(UsbError.NoDevice, ex.Message);
                // Not a blind rewrite: the block at `done` is sent again to the same address, set again, over pages this
                // download erased itself; programming NOR flash with the same bytes twice leaves them as written once.
            }
        }
        await WithReconnectAsync(() => AbortToIdleAsync("download", ct));
    }

    /// <summary>
    /// DfuSe leave: Set Address (if given), a zero-length DNLOAD, and a GETSTATUS that must show dfuMANIFEST.
    /// The device then leaves the bus; the session can only be disposed afterwards.
    /// </summary>
    public Task LeaveAsync(uint? address = null, CancellationToken ct = default) =>
        ResumableAsync(async () =>
        {
            await WithReconnectAsync(() => LeaveCoreAsync(address, ct));
            return 0;
        });

    private async Task LeaveCoreAsync(uint? address, CancellationToken ct)
    {
        ThrowIfUnusable();
        if (address is { } a) await RunCommandAsync(DfuSeCommand.SetAddressPointer, a, "set address", ct);
        // dfu-util sends the leave request with wValue 2.
        await ClassRequestAsync(new UsbSetup(DfuRequest.OutRequestType, DfuRequest.Dnload, DfuSeCommand.FirstDataBlock, (ushort)_interface, 0),
            Memory<byte>.Empty, "leave", address, ct);
        var status = await GetStatusAsync(ct);
        if (status.State != DfuState.DfuManifest || status.Status != DfuStatusCode.Ok)
            throw new DfuException(status.State, status.Status, "leave", address, "expected dfuMANIFEST");
        _left = true;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (!_left)
        {
            try
            {
                _handle.ReleaseInterface(_interface);
            }
            catch (UsbException)
            {
                // already gone from the bus: nothing to release
            }
        }
        _handle.Dispose();
    }

    internal async Task GetToIdleAsync(CancellationToken ct)
    {
        for (var attempt = 0; attempt < MaxIdleAttempts; attempt++)
        {
            var status = await GetStatusAsync(ct);
            switch (status.State)
            {
                case DfuState.DfuIdle when status.Status == DfuStatusCode.Ok:
                    return;
                case DfuState.DfuIdle:
                case DfuState.DfuError:
                    await ClassRequestAsync(new UsbSetup(DfuRequest.OutRequestType, DfuRequest.ClrStatus, 0, (ushort)_interface, 0), Memory<byte>.Empty, "clear status", null, ct);
                    break;
                case DfuState.DfuDnloadIdle:
                case DfuState.DfuUploadIdle:
                case DfuState.DfuDnloadSync:
                    await ClassRequestAsync(new UsbSetup(DfuRequest.OutRequestType, DfuRequest.Abort, 0, (ushort)_interface, 0), Memory<byte>.Empty, "abort", null, ct);
                    break;
                case DfuState.DfuDnBusy:
                    break;
                case DfuState.AppIdle:
                case DfuState.AppDetach:
                    throw new DfuRequestRefusedException($"device {Device.Path} is still in run-time mode ({DfuNames.Of(status.State)})");
                default:
                    throw new DfuException(status.State, status.Status, "get to dfuIDLE", null);
            }
        }
        var last = await GetStatusAsync(ct);
        throw new DfuException(last.State, last.Status, "get to dfuIDLE", null, $"not idle after {MaxIdleAttempts} attempts");
    }

    private async Task EraseCoreAsync(uint address, int length, bool allowKeyRegion, IProgress<DfuProgress>? progress, CancellationToken ct, bool force = false)
    {
        RequireSegments(address, length, s => s.Erasable || force, "erasable", "erase");
        RequireKeyRegion(address, length, allowKeyRegion, "erase");
        var layout = SelectedAlt.MemoryLayout;
        var end = (long)address + length;
        var at = (long)address;
        while (at < end)
        {
            var segment = layout.FindSegment((uint)at)!;
            var page = segment.PageStart((uint)at);
            // erasing a page again is harmless: after a reconnect the same page is erased again
            await WithReconnectAsync(() => RunCommandAsync(DfuSeCommand.Erase, page, "erase", ct));
            Stats.Erases++;
            at = (long)page + segment.PageSize;
            progress?.Report(new DfuProgress(DfuPhase.Erase, page, Math.Min(at, end) - address, length));
        }
    }

    private async Task RunCommandAsync(byte command, uint address, string operation, CancellationToken ct)
    {
        byte[] payload = [command, (byte)address, (byte)(address >> 8), (byte)(address >> 16), (byte)(address >> 24)];
        await ClassRequestAsync(new UsbSetup(DfuRequest.OutRequestType, DfuRequest.Dnload, 0, (ushort)_interface, (ushort)payload.Length), payload, operation, address, ct);
        var status = await GetStatusAsync(ct);
        // DfuSe: a command starts executing on the first GETSTATUS, which must report dfuDNBUSY.
        if (status.State != DfuState.DfuDnBusy)
            throw new DfuException(status.State, status.Status, operation, address, "wrong state after command, expected dfuDNBUSY");
        await WaitUntilDoneAsync(status, operation, address, ct);
    }

    private async Task WaitUntilDoneAsync(DfuStatus status, string operation, uint? address, CancellationToken ct)
    {
        var polls = 0;
        while (status.State is DfuState.DfuDnBusy or DfuState.DfuDnloadSync && status.Status == DfuStatusCode.Ok)
        {
            if (++polls > _options.MaxBusyPolls)
                throw new DfuException(status.State, status.Status, operation, address, $"still busy after {_options.MaxBusyPolls} status polls");
            status = await GetStatusAsync(ct);
        }
        if (status.State != DfuState.DfuDnloadIdle || status.Status != DfuStatusCode.Ok)
            throw new DfuException(status.State, status.Status, operation, address);
    }

    private async Task AbortToIdleAsync(string operation, CancellationToken ct)
    {
        await ClassRequestAsync(new UsbSetup(DfuRequest.OutRequestType, DfuRequest.Abort, 0, (ushort)_interface, 0), Memory<byte>.Empty, $"{operation} (abort)", null, ct);
        var status = await GetStatusAsync(ct);
        if (status.State != DfuState.DfuIdle)
            throw new DfuException(status.State, status.Status, $"{operation} (abort)", null, "failed to enter dfuIDLE on abort");
    }

    private async Task<int> ClassRequestAsync(UsbSetup setup, Memory<byte> data, string operation, uint? address, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await ControlAsync(setup, data, ct);
            }
            catch (UsbException e) when (e.Error == UsbError.Pipe)
            {
                // A stalled DFU request is the device refusing it, and its status says why (dfuERROR). A device that
                // reports itself fine did not refuse anything: the stall was on the wire, and the request is sent again.
                var status = await GetStatusAsync(ct);
                var onTheWire = status.Status == DfuStatusCode.Ok && status.State is not (DfuState.DfuError or DfuState.AppIdle or DfuState.AppDetach);
                if (!onTheWire || attempt >= TransientRetries)
                {
                    if (onTheWire) RigRetries.Record("usb-stall", $"{Device.Path}: {operation} stalled {attempt + 1} times in a row", gaveUp: true);
                    throw new DfuException(status.State, status.Status, operation, address, "request stalled", e);
                }
                RigRetries.Record("usb-stall", $"{Device.Path}: {operation} stalled with the device in {DfuNames.Of(status.State)}; sent again");
            }
        }
    }

    private async Task<int> ControlAsync(UsbSetup setup, Memory<byte> data, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            ThrowIfUnusable();
            var wait = _notBefore - _time.GetTimestamp();
            if (wait > 0)
            {
                var delay = TimeSpan.FromSeconds(wait / (double)_time.TimestampFrequency);
                await Task.Delay(delay, _time, ct);
                Stats.PollWaitTotal += delay;
            }
            Stats.ControlTransfers++;
            try
            {
                return await _handle.ControlTransferAsync(setup, data, _options.ControlTimeout, ct);
            }
            catch (UsbException e) when (e.Error == UsbError.Timeout)
            {
                // an unanswered request is a glitch; a device that keeps NAKing (a hung flash chip) times out every time
                if (attempt >= TransientRetries)
                {
                    RigRetries.Record("usb-timeout", $"{Device.Path}: {setup} timed out {attempt + 1} times in a row", gaveUp: true);
                    throw;
                }
                RigRetries.Record("usb-timeout", $"{Device.Path}: {setup} timed out; sent again");
            }
            catch (UsbException e) when (e.Error == UsbError.NoDevice && Reopen is not null && _resumable > 0)
            {
                await ReconnectAsync(setup, e, ct);
                throw new DfuReconnectedException(Device.Path);
            }
        }
    }

    /// <summary>The device dropped off the bus: wait for it to come back in DFU, open it again, same alt, dfuIDLE.</summary>
    private async Task ReconnectAsync(UsbSetup setup, UsbException lost, CancellationToken ct)
    {
        var path = Device.Path;
        var handle = await Reopen!(ct);
        if (handle is null)
        {
            RigRetries.Record("usb-disconnect", $"{path}: the device left the bus during {setup} and did not come back in DFU within {ReconnectWithin.TotalSeconds:0} s", gaveUp: true);
            throw lost;
        }
        try
        {
            _handle.Dispose();
        }
        catch (ObjectDisposedException)
        {
            // the old handle went with the device
        }
        _handle = handle;
        _handle.ClaimInterface(_interface);
        await _handle.SetAltSettingAsync(_interface, SelectedAlt.Alt, ct);
        _notBefore = 0;
        await GetToIdleAsync(ct);
        RigRetries.Record("usb-disconnect", $"{path}: the device left the bus during {setup}, came back in DFU and was opened again");
    }

    private async Task<T> ResumableAsync<T>(Func<Task<T>> operation)
    {
        _resumable++;
        try
        {
            return await operation();
        }
        finally
        {
            _resumable--;
        }
    }

    /// <summary>Runs a request sequence that may simply be sent again after a reconnect.</summary>
    private async Task WithReconnectAsync(Func<Task> operation)
    {
        for (var reconnects = 0; ; reconnects++)
        {
            try
            {
                await operation();
                return;
            }
            catch (DfuReconnectedException ex)
            {
                if (reconnects >= MaxReconnects) throw new UsbException(UsbError.NoDevice, ex.Message);
            }
        }
    }

    private void CheckSpan(uint address, int length, string operation)
    {
        if (length <= 0)
            throw new DfuRequestRefusedException($"{operation} at 0x{address:X8}: length {length}, must be at least 1 byte", address);
        if ((long)address + length > 0x1_0000_0000L)
            throw new DfuRequestRefusedException($"{operation} at 0x{address:X8}: {length} bytes run past the 32-bit address space", address);
    }

    private void RequireSegments(uint address, int length, Func<MemorySegment, bool> allowed, string what, string operation)
    {
        var layout = SelectedAlt.MemoryLayout;
        var end = (long)address + length;
        var at = (long)address;
        while (at < end)
        {
            var segment = layout.FindSegment((uint)at)
                ?? throw new DfuRequestRefusedException(
                    $"{operation} 0x{address:X8}+{length}: address 0x{at:X8} is outside every segment of alt {SelectedAlt.Alt} \"{SelectedAlt.Name}\"", (uint)at);
            if (!allowed(segment))
                throw new DfuRequestRefusedException(
                    $"{operation} 0x{address:X8}+{length}: address 0x{at:X8} is in segment {segment} of alt {SelectedAlt.Alt}, which is not {what}", (uint)at);
            at = segment.End;
        }
    }

    private void RequireKeyRegion(uint address, int length, bool allowKeyRegion, string operation)
    {
        var onSpi = SelectedAlt.MemoryLayout.Segments.Count > 0 && SelectedAlt.MemoryLayout.Segments[0].Start == 0;
        if (onSpi && !allowKeyRegion && address < SpiKeyRegionEnd)
            throw new DfuRequestRefusedException(
                $"{operation} 0x{address:X8}+{length}: touches the SPI key region 0x00000000-0x{SpiKeyRegionEnd - 1:X8} (keys, server address); set AllowKeyRegion to do this on purpose", address);
    }

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_left) throw new InvalidOperationException($"device {Device.Path} left DFU mode; open a new session when it is back");
    }
}

/// <summary>The device dropped off the bus and was opened again: the operation in progress goes on from where it can.</summary>
internal sealed class DfuReconnectedException(string path) : Exception($"{path}: the DFU device was opened again after it left the bus");
