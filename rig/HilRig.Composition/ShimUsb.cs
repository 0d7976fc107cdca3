using System.Runtime.CompilerServices;
using HilRig.Core.Usb;
using HilRig.Core.Usb.Wire;
using HilRig.Hardware.Usb;
using HilRig.Sim.Rig;
using HilRig.Sim.Serve;
using HilRig.Sim.Time;

namespace HilRig.Composition;

/// <summary>
/// The Pi's libusb over simulated devices: the simulated USB bus served on a socket in the fake device tree, and the
/// Pi's own libusb binding (<see cref="LibUsbBus"/>: function pointers, libusb's structs, descriptor rebuilding,
/// error mapping) loaded on the HilRig shim, which speaks libusb's ABI over that socket.
/// <para>
/// A libusb call blocks its thread until the device answers; on a Pi the USB hardware meanwhile runs in real time.
/// Here the device is on the simulation thread, whose virtual clock only moves while that thread is free. So a call
/// made on the simulation thread goes to a worker thread, and the simulation thread runs what the server hands over
/// for it, inline, right where the host made the call: a transfer then runs at the same virtual time and in the same
/// order as the direct call on <c>backend: sim</c>, and a seed gives the same verdicts and LED timelines on both.
/// </para>
/// </summary>
internal sealed class ShimUsb : IDisposable
{
    /// <summary>HILRIG_USB_SOCKET is read by the shim's libusb_init; one bus opens at a time.</summary>
    private static readonly Lock OpenGate = new();

    private readonly SimScheduler _scheduler;
    private readonly UsbSocketServer _server;
    private readonly ShimBridge _bridge;
    private BridgedUsbBus? _bus;

    public ShimUsb(SimRig sim, string folder)
    {
        LibraryPath = Path.Combine(AppContext.BaseDirectory, "usbshim", LibUsbNative.DefaultLibraryName);
        if (!File.Exists(LibraryPath))
            throw new BackendUnavailableException($"{SimulatedPiDevices.Variable}: the libusb shim is missing: {LibraryPath} (build rig/HilRig.Hardware, which runs rig/HilRig.UsbShim/build.sh)");
        _scheduler = sim.Scheduler;
        _bridge = new ShimBridge(sim.Scheduler);
        _server = new UsbSocketServer(sim.Usb, Path.Combine(folder, "usb.sock"), _bridge.Dispatch);
        _server.Start();
    }

    public string LibraryPath { get; }

    public string SocketPath => _server.SocketPath;

    /// <summary>The opener the Pi backend calls where it would load the system's libusb.</summary>
    public IUsbBus Open()
    {
        lock (OpenGate)
        {
            UsbShimSocket.Use(SocketPath);
            var bus = new BridgedUsbBus(LibUsbBus.Open(LibraryPath), _bridge);
            _bus = bus;
            return bus;
        }
    }

    /// <summary>Closes libusb (and every handle the rig left open) and the socket, while the simulation still runs.</summary>
    public void Dispose()
    {
        _bus?.Dispose();
        _server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _bridge.Stop();
    }
}

/// <summary>Hands the socket server's bus work to the simulation thread: inline into a waiting libusb call, else posted.</summary>
internal sealed class ShimBridge(SimScheduler scheduler)
{
    /// <summary>How long a libusb call may go without any answer before the simulation is declared stuck.</summary>
    private static readonly TimeSpan Unanswered = TimeSpan.FromSeconds(60);

    private readonly object _gate = new();
    private readonly Queue<Handover> _handovers = new();
    private readonly NativeCallers _callers = new();
    private volatile bool _stopped;

    private sealed record Handover(Func<Task> Work, TaskCompletionSource Done);

    /// <summary>The server's dispatch: work on the simulated bus, run on the simulation thread.</summary>
    public Task Dispatch(Func<Task> work)
    {
        if (_stopped) return work();
        var handover = new Handover(work, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        lock (_gate)
        {
            _handovers.Enqueue(handover);
            Monitor.PulseAll(_gate);
        }
        // a libusb call waiting on the simulation thread takes it first; otherwise (a call from another thread) this runs
        // it, and stays a run in flight until the device's work is done: the virtual clock only moves while a run is
        _ = scheduler.RunAsync(async () =>
        {
            if (TakeHandover() is not { } h) return;
            try
            {
                await Run(h);
            }
            catch (Exception)
            {
                // the libusb call waiting on the handover gets the error through it
            }
        });
        return handover.Done.Task;
    }

    /// <summary>A libusb call that needs no device time (list, open, claim, close).</summary>
    public T Call<T>(Func<T> native)
    {
        if (!scheduler.IsOnSchedulerThread) return native();
        var call = Start(native);
        while (WaitForHandoverOrEnd(call) is { } h)
        {
            if (!Run(h).IsCompleted)
                throw new InvalidOperationException("a synchronous libusb call through the shim needed simulated time; only transfers may");
        }
        return call.Result();
    }

    /// <summary>A libusb call that takes device time (a control transfer, alt setting, reset): the simulation runs on while the device works.</summary>
    public Task<T> CallAsync<T>(Func<T> native)
    {
        if (!scheduler.IsOnSchedulerThread) return Task.FromResult(native());
        var call = Start(native);
        // completed on the simulation thread with inline continuations, as a simulated device's own task is
        var result = new TaskCompletionSource<T>();
        Continue(call, result);
        return result.Task;
    }

    public void Stop()
    {
        _stopped = true;
        _callers.Stop();
    }

    private void Continue<T>(NativeCall<T> call, TaskCompletionSource<T> result)
    {
        try
        {
            while (WaitForHandoverOrEnd(call) is { } h)
            {
                var work = Run(h);
                if (!work.IsCompleted)
                {
                    work.ContinueWith(_ => Continue(call, result), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                    return;
                }
            }
            result.SetResult(call.Result());
        }
        catch (Exception ex)
        {
            result.TrySetException(ex);
        }
    }

    private static Task Run(Handover h)
    {
        Task work;
        try
        {
            work = h.Work();
        }
        catch (Exception ex)
        {
            h.Done.TrySetException(ex);
            return Task.CompletedTask;
        }
        work.ContinueWith(w =>
        {
            if (w.Exception is { } ex) h.Done.TrySetException(ex.InnerExceptions);
            else h.Done.TrySetResult();
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return work;
    }

    private Handover? TakeHandover()
    {
        lock (_gate) return _handovers.TryDequeue(out var h) ? h : null;
    }

    private Handover? WaitForHandoverOrEnd(NativeCall call)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        lock (_gate)
        {
            while (true)
            {
                if (_handovers.TryDequeue(out var h)) return h;
                if (call.Ended) return null;
                if (waited.Elapsed > Unanswered)
                    throw new InvalidOperationException($"a libusb call through the shim got no answer from the simulated bus within {Unanswered.TotalSeconds:0} s");
                Monitor.Wait(_gate, TimeSpan.FromSeconds(1));
            }
        }
    }

    private NativeCall<T> Start<T>(Func<T> native)
    {
        var call = new NativeCall<T>();
        _callers.Run(() =>
        {
            try
            {
                call.Value = native();
            }
            catch (Exception ex)
            {
                call.Error = ex;
            }
            lock (_gate)
            {
                call.Ended = true;
                Monitor.PulseAll(_gate);
            }
        });
        return call;
    }

    private class NativeCall
    {
        public bool Ended { get; set; }

        public Exception? Error { get; set; }
    }

    private sealed class NativeCall<T> : NativeCall
    {
        public T? Value { get; set; }

        public T Result()
        {
            if (Error is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(Error);
            return Value!;
        }
    }
}

/// <summary>Threads that make blocking libusb calls: as many as calls are in flight (at most one per open handle), kept for reuse.</summary>
internal sealed class NativeCallers
{
    private readonly System.Collections.Concurrent.BlockingCollection<Action> _work = new();
    private int _idle;

    public void Run(Action call)
    {
        if (_work.IsAddingCompleted)
        {
            call();
            return;
        }
        if (Interlocked.Decrement(ref _idle) < 0)
        {
            Interlocked.Increment(ref _idle);
            new Thread(Loop) { IsBackground = true, Name = "hilrig-libusb" }.Start();
        }
        try
        {
            _work.Add(call);
        }
        catch (InvalidOperationException)
        {
            // stopped meanwhile: the simulation is over, nothing waits on another thread any more
            call();
        }
    }

    /// <summary>The threads end once the calls in flight are done.</summary>
    public void Stop() => _work.CompleteAdding();

    private void Loop()
    {
        foreach (var call in _work.GetConsumingEnumerable())
        {
            call();
            Interlocked.Increment(ref _idle);
        }
    }
}

/// <summary>The Pi's <see cref="LibUsbBus"/> with its calls bridged (see <see cref="ShimUsb"/>).</summary>
internal sealed class BridgedUsbBus(LibUsbBus inner, ShimBridge bridge) : IUsbBus, IDisposable
{
    private readonly ConditionalWeakTable<IUsbDevice, BridgedUsbDevice> _devices = [];

    /// <summary>The Pi's libusb binding underneath (loaded on the shim).</summary>
    public LibUsbBus LibUsb => inner;

    public IReadOnlyList<IUsbDevice> GetDevices() =>
        [.. bridge.Call(inner.GetDevices).Select(d => _devices.GetValue(d, k => new BridgedUsbDevice(k, bridge)))];

    public void Dispose() => inner.Dispose();
}

internal sealed class BridgedUsbDevice(IUsbDevice inner, ShimBridge bridge) : IUsbDevice, IUsbBosSource
{
    public byte BusNumber => inner.BusNumber;

    public byte Address => inner.Address;

    public IReadOnlyList<byte> PortNumbers => inner.PortNumbers;

    public UsbDeviceDescriptor Descriptor => inner.Descriptor;

    public string Path => inner.Path;

    public byte[] GetRawConfigDescriptor(int index) => inner.GetRawConfigDescriptor(index);

    public IUsbDeviceHandle Open() => new BridgedUsbDeviceHandle(this, bridge.Call(inner.Open), bridge);

    public byte[]? GetRawBosDescriptor() => inner is IUsbBosSource bos ? bridge.Call(bos.GetRawBosDescriptor) : null;
}

/// <summary>
/// One open device. Transfers on a handle take turns (the default control pipe), as on the simulated device: the
/// shim's connection for the handle carries one request at a time, so a second one waits here, not in the shim.
/// </summary>
internal sealed class BridgedUsbDeviceHandle(IUsbDevice device, IUsbDeviceHandle inner, ShimBridge bridge) : IUsbDeviceHandle
{
    private readonly SemaphoreSlim _pipe = new(1, 1);
    private bool _closeWhenFree;

    public IUsbDevice Device => device;

    public Task<int> ControlTransferAsync(UsbSetup setup, Memory<byte> data, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        InTurnAsync(() => inner.ControlTransferAsync(setup, data, timeout, cancellationToken).GetAwaiter().GetResult(), cancellationToken);

    public void ClaimInterface(int interfaceNumber) => Now(() => inner.ClaimInterface(interfaceNumber));

    public void ReleaseInterface(int interfaceNumber) => Now(() => inner.ReleaseInterface(interfaceNumber));

    public Task SetAltSettingAsync(int interfaceNumber, int altSetting, CancellationToken cancellationToken = default) =>
        InTurnAsync(() =>
        {
            inner.SetAltSettingAsync(interfaceNumber, altSetting, cancellationToken).GetAwaiter().GetResult();
            return true;
        }, cancellationToken);

    public Task ResetAsync(CancellationToken cancellationToken = default) =>
        InTurnAsync(() =>
        {
            inner.ResetAsync(cancellationToken).GetAwaiter().GetResult();
            return true;
        }, cancellationToken);

    private async Task<T> InTurnAsync<T>(Func<T> native, CancellationToken ct)
    {
        await _pipe.WaitAsync(ct);
        try
        {
            return await bridge.CallAsync(native);
        }
        finally
        {
            Free();
        }
    }

    private void Now(Action native)
    {
        if (!_pipe.Wait(0))
            throw new UsbException(UsbError.Busy, $"{device.Path}: a transfer is in flight on this handle");
        try
        {
            bridge.Call(() =>
            {
                native();
                return true;
            });
        }
        finally
        {
            Free();
        }
    }

    private void Free()
    {
        if (_closeWhenFree)
        {
            _closeWhenFree = false;
            Close();
        }
        _pipe.Release();
    }

    private void Close() => bridge.Call(() =>
    {
        inner.Dispose();
        return true;
    });

    public void Dispose()
    {
        // a handle closed while its transfer is still in flight closes when the transfer ends
        if (!_pipe.Wait(0))
        {
            _closeWhenFree = true;
            return;
        }
        try
        {
            Close();
        }
        finally
        {
            _pipe.Release();
        }
    }
}
