using System.Buffers.Binary;
using System.Net.Sockets;
using HilRig.Core.Usb;
using HilRig.Core.Usb.Wire;

namespace HilRig.Sim.Serve;

/// <summary>
/// Serves any <see cref="IUsbBus"/> on a Unix domain socket with the protocol of rig/HilRig.UsbShim/PROTOCOL.md, so
/// the libusb shim (and with it the real dfu-util and uhubctl) or a <c>SocketUsbBus</c> can use it. One connection
/// per client process; several clients may be connected at once. Every bus operation goes through
/// <paramref name="dispatch"/>, so a simulated bus can have them run on its simulation thread
/// (e.g. <c>work =&gt; sim.RunAsync(work)</c>). Dispose the server before the simulation: disposing closes the
/// handles clients left open, through <paramref name="dispatch"/>.
/// </summary>
public sealed class UsbSocketServer(IUsbBus bus, string socketPath, Func<Func<Task>, Task> dispatch) : IAsyncDisposable
{
    private UnixSocketListener? _server;

    /// <summary>Serves a bus whose operations may run on any thread (a real libusb, a test fake).</summary>
    public UsbSocketServer(IUsbBus bus, string socketPath) : this(bus, socketPath, work => work()) { }

    public string SocketPath { get; } = ValidatePath(socketPath);

    /// <summary>Connections accepted so far.</summary>
    public int ConnectionCount => _server?.ConnectionCount ?? 0;

    /// <summary>A client broke the protocol or went away mid-request; its connection was closed. Carries a one-line reason.</summary>
    public event Action<string>? ClientError;

    /// <summary>Binds the socket (replacing a stale socket file) and starts accepting clients.</summary>
    public void Start()
    {
        if (_server is not null) throw new InvalidOperationException($"USB socket server on {SocketPath} is already started");
        _server = UnixSocketListener.Start(SocketPath, 16, ServeClientAsync);
    }

    private static string ValidatePath(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        // sun_path holds 108 bytes including the terminating NUL.
        if (System.Text.Encoding.UTF8.GetByteCount(path) > 107)
            throw new ArgumentException($"USB socket path '{path}' is longer than 107 bytes; choose a shorter path (e.g. under /tmp)", nameof(path));
        return path;
    }

    private async Task ServeClientAsync(Socket socket, CancellationToken ct)
    {
        var session = new ClientSession();
        // disposed last, so the client sees the hang-up only after the reason was reported and its handles closed
        var stream = new NetworkStream(socket, ownsSocket: true);
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var request = await UsbWire.ReadFrameAsync(stream, ct);
                if (request is null) break;
                var reply = await HandleAsync(session, request);
                await UsbWire.WriteFrameAsync(stream, reply, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // server shutting down
        }
        catch (Exception ex) when (ex is IOException or SocketException or InvalidDataException or EndOfStreamException)
        {
            ClientError?.Invoke($"USB socket {SocketPath}: client connection closed: {ex.Message}");
        }
        finally
        {
            await CloseAllAsync(session);
            await stream.DisposeAsync();
        }
    }

    private async Task CloseAllAsync(ClientSession session)
    {
        if (session.Handles.Count == 0) return;
        var handles = session.Handles.Values.ToList();
        session.Handles.Clear();
        try
        {
            await dispatch(() =>
            {
                foreach (var h in handles) h.Dispose();
                return Task.CompletedTask;
            });
        }
        catch (Exception ex) when (ex is UsbException or InvalidOperationException or ObjectDisposedException)
        {
            // the bus is gone (simulation over); the handles go with it
        }
    }

    private async Task<byte[]> HandleAsync(ClientSession session, byte[] request)
    {
        if (request.Length == 0) throw new InvalidDataException("empty request frame (expected an op byte)");
        var op = (UsbWireOp)request[0];
        var args = request.AsMemory(1);
        try
        {
            return op switch
            {
                UsbWireOp.List => await ListAsync(),
                UsbWireOp.Open => await OpenAsync(session, args),
                UsbWireOp.Close => await WithHandleAsync(session, args, 4, h =>
                {
                    session.Handles.Remove(ReadHandleId(args));
                    h.Dispose();
                    return Task.FromResult(Status(0));
                }),
                UsbWireOp.Claim => await WithHandleAsync(session, args, 5, h =>
                {
                    h.ClaimInterface(args.Span[4]);
                    return Task.FromResult(Status(0));
                }),
                UsbWireOp.Release => await WithHandleAsync(session, args, 5, h =>
                {
                    h.ReleaseInterface(args.Span[4]);
                    return Task.FromResult(Status(0));
                }),
                UsbWireOp.SetAlt => await WithHandleAsync(session, args, 6, async h =>
                {
                    await h.SetAltSettingAsync(args.Span[4], args.Span[5]);
                    return Status(0);
                }),
                UsbWireOp.Reset => await WithHandleAsync(session, args, 4, async h =>
                {
                    await h.ResetAsync();
                    return Status(0);
                }),
                UsbWireOp.Control => await ControlAsync(session, args),
                UsbWireOp.GetConfiguration => await WithHandleAsync(session, args, 4, GetConfigurationAsync),
                _ => Status((int)UsbError.NotSupported),
            };
        }
        catch (Exception ex) when (ex is not InvalidDataException)
        {
            return Status(UsbWire.ErrorCode(ex));
        }
    }

    private async Task<byte[]> ListAsync()
    {
        var devices = new List<UsbWireDevice>();
        await dispatch(() =>
        {
            foreach (var d in bus.GetDevices())
            {
                var configs = new List<byte[]>();
                for (var i = 0; i < d.Descriptor.NumConfigurations; i++) configs.Add(d.GetRawConfigDescriptor(i));
                var bos = (d as IUsbBosSource)?.GetRawBosDescriptor();
                devices.Add(new UsbWireDevice(d.BusNumber, d.Address, [.. d.PortNumbers], d.Descriptor.ToBytes(), configs, bos));
            }
            return Task.CompletedTask;
        });
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms))
        {
            w.Write(devices.Count);
            foreach (var d in devices) UsbWire.WriteDevice(w, d);
        }
        return ms.ToArray();
    }

    private async Task<byte[]> OpenAsync(ClientSession session, ReadOnlyMemory<byte> args)
    {
        if (args.Length < 2) throw new InvalidDataException($"OPEN needs 2 argument bytes (bus, address), got {args.Length}");
        var busNumber = args.Span[0];
        var address = args.Span[1];
        IUsbDeviceHandle? handle = null;
        await dispatch(() =>
        {
            var device = bus.GetDevices().FirstOrDefault(d => d.BusNumber == busNumber && d.Address == address)
                ?? throw new UsbException(UsbError.NoDevice, $"open device {busNumber}/{address:D3}");
            handle = device.Open();
            return Task.CompletedTask;
        });
        var id = session.NextId++;
        session.Handles[id] = handle!;
        var reply = Status(0, 4);
        BinaryPrimitives.WriteUInt32LittleEndian(reply.AsSpan(4), id);
        return reply;
    }

    private async Task<byte[]> ControlAsync(ClientSession session, ReadOnlyMemory<byte> args)
    {
        const int fixedPart = 4 + UsbWire.SetupLength + 4;
        if (args.Length < fixedPart) throw new InvalidDataException($"CONTROL needs {fixedPart} argument bytes, got {args.Length}");
        var setup = UsbWire.DecodeSetup(args.Span[4..]);
        var timeoutMs = BinaryPrimitives.ReadUInt32LittleEndian(args.Span[12..]);
        var timeout = timeoutMs == 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(timeoutMs);
        var data = new byte[setup.Length];
        if (!setup.IsDeviceToHost)
        {
            if (args.Length - fixedPart != setup.Length)
                throw new InvalidDataException($"CONTROL OUT with wLength {setup.Length} carried {args.Length - fixedPart} data bytes");
            args[fixedPart..].CopyTo(data);
        }
        return await WithHandleAsync(session, args, fixedPart, async h =>
        {
            var n = await h.ControlTransferAsync(setup, data, timeout);
            if (n < 0 || n > setup.Length) return Status((int)UsbError.Overflow);
            if (!setup.IsDeviceToHost) return Status(n);
            var reply = Status(n, n);
            data.AsSpan(0, n).CopyTo(reply.AsSpan(4));
            return reply;
        });
    }

    private static async Task<byte[]> GetConfigurationAsync(IUsbDeviceHandle h)
    {
        var value = new byte[1];
        int n;
        try
        {
            n = await h.ControlTransferAsync(new UsbSetup(0x80, UsbRequest.GetConfiguration, 0, 0, 1), value, TimeSpan.FromSeconds(1));
        }
        catch (UsbException ex) when (ex.Error == UsbError.Pipe)
        {
            n = 0;
        }
        if (n < 1)
        {
            // A device that stalls GET_CONFIGURATION: report its first configuration, as the kernel's cached value would.
            var raw = h.Device.Descriptor.NumConfigurations > 0 ? h.Device.GetRawConfigDescriptor(0) : [];
            value[0] = raw.Length > 5 ? raw[5] : (byte)0;
        }
        var reply = Status(0, 1);
        reply[4] = value[0];
        return reply;
    }

    private async Task<byte[]> WithHandleAsync(ClientSession session, ReadOnlyMemory<byte> args, int needed, Func<IUsbDeviceHandle, Task<byte[]>> work)
    {
        if (args.Length < needed) throw new InvalidDataException($"request needs {needed} argument bytes, got {args.Length}");
        if (!session.Handles.TryGetValue(ReadHandleId(args), out var handle)) return Status((int)UsbError.NotFound);
        byte[]? reply = null;
        await dispatch(async () => reply = await work(handle));
        return reply!;
    }

    private static uint ReadHandleId(ReadOnlyMemory<byte> args) => BinaryPrimitives.ReadUInt32LittleEndian(args.Span);

    private static byte[] Status(int status, int extra = 0)
    {
        var b = new byte[4 + extra];
        BinaryPrimitives.WriteInt32LittleEndian(b, status);
        return b;
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }

    private sealed class ClientSession
    {
        public Dictionary<uint, IUsbDeviceHandle> Handles { get; } = [];

        public uint NextId { get; set; } = 1;
    }
}
