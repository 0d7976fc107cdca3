using System.Buffers.Binary;
using System.Net.Sockets;
using HilRig.Core.Usb;
using HilRig.Core.Usb.Wire;
using HilRig.Sim.Serve;

namespace HilRig.Tests.Hardware;

/// <summary>The server side of the USB socket protocol as a raw client sees it (what the C shim relies on).</summary>
[Category("Integration")] // starts real tools, servers or child processes
public class UsbSocketServerTests
{
    [Test]
    public async Task An_unknown_request_is_answered_not_supported_and_the_connection_stays_usable()
    {
        await using var served = new ServedBus(new FakeUsbBus(new FakeSparkDfuDevice()));
        using var client = await ConnectAsync(served.SocketPath);

        var unknown = await RoundTripAsync(client, [0x7E]);
        var list = await RoundTripAsync(client, [(byte)UsbWireOp.List]);

        Assert.That(BinaryPrimitives.ReadInt32LittleEndian(unknown), Is.EqualTo((int)UsbError.NotSupported));
        Assert.That(BinaryPrimitives.ReadInt32LittleEndian(list), Is.EqualTo(1), "LIST status is the device count");
    }

    [Test]
    public async Task Get_configuration_reports_the_active_configuration_value()
    {
        await using var served = new ServedBus(new FakeUsbBus(new FakeSparkDfuDevice()));
        using var client = await ConnectAsync(served.SocketPath);
        var open = await RoundTripAsync(client, [(byte)UsbWireOp.Open, 1, 7]);

        var reply = await RoundTripAsync(client, [(byte)UsbWireOp.GetConfiguration, .. open.AsSpan(4, 4)]);

        Assert.That(BinaryPrimitives.ReadInt32LittleEndian(reply), Is.Zero);
        Assert.That(reply[4], Is.EqualTo(1), "the Spark Core's only configuration is number 1");
    }

    [Test]
    public async Task Requests_on_an_unknown_handle_fail_with_not_found()
    {
        await using var served = new ServedBus(new FakeUsbBus(new FakeSparkDfuDevice()));
        using var client = await ConnectAsync(served.SocketPath);

        var reply = await RoundTripAsync(client, [(byte)UsbWireOp.Claim, 99, 0, 0, 0, 0]);

        Assert.That(BinaryPrimitives.ReadInt32LittleEndian(reply), Is.EqualTo((int)UsbError.NotFound));
    }

    [Test]
    public async Task A_truncated_request_closes_the_connection_with_a_reason()
    {
        await using var served = new ServedBus(new FakeUsbBus(new FakeSparkDfuDevice()));
        using var client = await ConnectAsync(served.SocketPath);
        using var stream = new NetworkStream(client);

        await stream.WriteAsync(UsbWire.Frame([(byte)UsbWireOp.Open, 1]));
        var reply = await UsbWire.ReadFrameAsync(stream, CancellationToken.None);

        Assert.That(reply, Is.Null, "the server hangs up instead of answering");
        Assert.That(served.Errors, Has.Exactly(1).Contains("OPEN needs 2 argument bytes"));
    }

    [Test]
    public async Task Handles_left_open_by_a_client_that_went_away_are_closed()
    {
        var core = new CountingDevice(new FakeSparkDfuDevice());
        await using var served = new ServedBus(new FakeUsbBus(core));
        using (var client = await ConnectAsync(served.SocketPath))
        {
            var reply = await RoundTripAsync(client, [(byte)UsbWireOp.Open, 1, 7]);
            Assert.That(BinaryPrimitives.ReadInt32LittleEndian(reply), Is.Zero);
            Assert.That(core.OpenHandles, Is.EqualTo(1));
        }

        await served.DisposeAsync();

        Assert.That(core.OpenHandles, Is.Zero);
    }

    [Test]
    public async Task Stopping_the_server_ends_connected_clients_and_removes_the_socket_file()
    {
        var served = new ServedBus(new FakeUsbBus(new FakeSparkDfuDevice()));
        using var client = await ConnectAsync(served.SocketPath);
        // a served request proves the connection was accepted (one still in the backlog would be reset instead)
        await RoundTripAsync(client, [(byte)UsbWireOp.List]);
        Assert.That(File.Exists(served.SocketPath), Is.True);

        await served.DisposeAsync();

        Assert.That(File.Exists(served.SocketPath), Is.False);
        using var stream = new NetworkStream(client);
        Assert.That(await UsbWire.ReadFrameAsync(stream, CancellationToken.None), Is.Null, "the client sees the connection end");
    }

    [Test]
    public void A_socket_path_too_long_for_sun_path_is_refused_naming_it()
    {
        var path = "/tmp/" + new string('x', 120) + ".sock";
        var error = Assert.Throws<ArgumentException>(() => _ = new UsbSocketServer(new FakeUsbBus(), path));
        Assert.That(error!.Message, Does.Contain(path).And.Contain("107"));
    }

    private static async Task<Socket> ConnectAsync(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        return socket;
    }

    private static async Task<byte[]> RoundTripAsync(Socket socket, byte[] request)
    {
        using var stream = new NetworkStream(socket, ownsSocket: false);
        await UsbWire.WriteFrameAsync(stream, request, CancellationToken.None);
        return await UsbWire.ReadFrameAsync(stream, CancellationToken.None) ?? throw new InvalidOperationException("connection closed");
    }

    private sealed class CountingDevice(IUsbDevice inner) : IUsbDevice
    {
        private int _open;

        public int OpenHandles => Volatile.Read(ref _open);

        public byte BusNumber => inner.BusNumber;

        public byte Address => inner.Address;

        public IReadOnlyList<byte> PortNumbers => inner.PortNumbers;

        public UsbDeviceDescriptor Descriptor => inner.Descriptor;

        public byte[] GetRawConfigDescriptor(int index) => inner.GetRawConfigDescriptor(index);

        public IUsbDeviceHandle Open()
        {
            Interlocked.Increment(ref _open);
            return new Handle(this, inner.Open());
        }

        private sealed class Handle(CountingDevice owner, IUsbDeviceHandle inner) : IUsbDeviceHandle
        {
            public IUsbDevice Device => owner;

            public Task<int> ControlTransferAsync(UsbSetup setup, Memory<byte> data, TimeSpan timeout, CancellationToken cancellationToken = default) =>
                inner.ControlTransferAsync(setup, data, timeout, cancellationToken);

            public void ClaimInterface(int interfaceNumber) => inner.ClaimInterface(interfaceNumber);

            public void ReleaseInterface(int interfaceNumber) => inner.ReleaseInterface(interfaceNumber);

            public Task SetAltSettingAsync(int interfaceNumber, int altSetting, CancellationToken cancellationToken = default) =>
                inner.SetAltSettingAsync(interfaceNumber, altSetting, cancellationToken);

            public Task ResetAsync(CancellationToken cancellationToken = default) => inner.ResetAsync(cancellationToken);

            public void Dispose()
            {
                Interlocked.Decrement(ref owner._open);
                inner.Dispose();
            }
        }
    }
}
