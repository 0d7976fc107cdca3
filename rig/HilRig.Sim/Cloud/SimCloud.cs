using HilRig.Core.Checksums;
using HilRig.Core.Cloud;
using HilRig.Core.Config;

namespace HilRig.Sim.Cloud;

/// <summary>Messages of the OTA exchange (spark-core.md §6.1), with the chunk index the CoAP message id stands for.</summary>
public abstract record OtaMessage
{
    private OtaMessage()
    {
    }

    public sealed record UpdateBegin(int Size) : OtaMessage;

    public sealed record Chunk(int Index, uint Crc, byte[] Data) : OtaMessage;

    public sealed record UpdateDone : OtaMessage;

    public sealed record UpdateReady : OtaMessage;

    /// <summary>2.04 (Ok) or 4.00 (CRC mismatch) for chunk <paramref name="Index"/>.</summary>
    public sealed record ChunkReceived(int Index, bool Ok) : OtaMessage;

    /// <summary>The device wants the transfer to go on from chunk <paramref name="Index"/>.</summary>
    public sealed record ChunkMissed(int Index) : OtaMessage;
}

/// <summary>A Core's connection to the cloud: two message queues; delivery goes through the cloud's latency and loss.</summary>
public sealed class CloudConnection
{
    internal CloudConnection(SimCloud cloud, string deviceId, string app)
    {
        Cloud = cloud;
        DeviceId = deviceId;
        App = app;
    }

    internal SimCloud Cloud { get; }

    public string DeviceId { get; }

    public string App { get; }

    public bool Open { get; internal set; } = true;

    internal Queue<OtaMessage> ToDevice { get; } = new();

    internal Queue<OtaMessage> ToCloud { get; } = new();

    /// <summary>Device side: the next message that arrived, if any.</summary>
    public OtaMessage? Receive() => ToDevice.Count > 0 ? ToDevice.Dequeue() : null;

    /// <summary>Device side: send to the cloud (arrives after the latency, unless lost).</summary>
    public void Send(OtaMessage message) => Cloud.Deliver(this, ToCloud, message);

    public void Close() => Cloud.Disconnect(this);
}

/// <summary>
/// The simulated cloud: devices connect when they reach breathing cyan; <see cref="FlashAsync"/> runs
/// spark-protocol's Flasher (UpdateBegin retried 3x with 6 s waits then one 90 s wait; 256-byte chunks, stop and wait;
/// gives up when the device misses the same chunk 10 times, or after 600 s) and publishes spark/flash/status and spark/status events.
/// Everything runs on the simulation thread; the async <see cref="ICloud"/> reads complete synchronously.
/// </summary>
public sealed class SimCloud : ICloud
{
    public const int ChunkSize = 256;
    /// <summary>ChunkMissed answers for one chunk index before the Flasher gives up.</summary>
    public const int MaxMissedChunks = 10;
    public static readonly TimeSpan BeginWait = TimeSpan.FromSeconds(6);
    public static readonly TimeSpan LastBeginWait = TimeSpan.FromSeconds(90);
    public static readonly TimeSpan TransferLimit = TimeSpan.FromSeconds(600);

    /// <summary>No answer to a chunk for this long: send it again (CoAP's ACK_TIMEOUT retransmission), before the device's 3 s ChunkMissed.</summary>
    public static readonly TimeSpan ChunkAnswerWait = TimeSpan.FromSeconds(2);

    /// <summary>UpdateDone is resent while the device has not reset (a lost CON message is retransmitted).</summary>
    public const int UpdateDoneAttempts = 4;

    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(5);

    private readonly TimeProvider _time;
    private readonly SimCloudSettings _settings;
    private readonly Random _random;
    private readonly Dictionary<string, CloudConnection> _online = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CloudDeviceInfo> _known = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<CloudEvent>> _events = new(StringComparer.Ordinal);

    public SimCloud(TimeProvider time, SimCloudSettings settings, int seed)
    {
        _time = time;
        _settings = settings;
        _random = new Random(seed ^ 0x0C10D);
    }

    /// <summary>Faults injected on purpose: 503 to a flash request, a dropped connection or a stalled chunk stream mid-transfer.</summary>
    public Faults.FaultInjector? Faults { get; set; }

    /// <summary>The slot a device sits in, for the fault ledger.</summary>
    public Func<string, int?> SlotOf { get; set; } = _ => null;

    /// <summary>How long an injected slow stream sends nothing: past the Core's 30 s update timeout.</summary>
    public static readonly TimeSpan SlowStreamStall = TimeSpan.FromSeconds(35);

    /// <summary>Every event as it is published, on the simulation thread (the HTTP front's event streams listen here).</summary>
    public event Action<CloudEvent>? Published;

    public IReadOnlyList<CloudEvent> Events(string deviceId) =>
        _events.TryGetValue(deviceId, out var list) ? [.. list] : [];

    /// <summary>Null for a device that never connected.</summary>
    public CloudDeviceInfo? GetDevice(string deviceId) => _known.GetValueOrDefault(deviceId);

    /// <summary>Every device that ever connected, by id.</summary>
    public IReadOnlyList<CloudDeviceInfo> Devices => [.. _known.Values.OrderBy(d => d.Id, StringComparer.Ordinal)];

    public Task<CloudDeviceInfo?> GetDeviceAsync(string deviceId, CancellationToken cancellationToken = default) =>
        Task.FromResult(GetDevice(deviceId));

    /// <summary>Every event is kept from the start: nothing to open.</summary>
    public Task WatchEventsAsync(string deviceId, CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <summary>Device side: the handshake finished (breathing cyan); replaces an older connection of the same device.</summary>
    public CloudConnection Connect(string deviceId, string app)
    {
        if (_online.TryGetValue(deviceId, out var old)) old.Open = false;
        var connection = new CloudConnection(this, deviceId, app);
        _online[deviceId] = connection;
        _known[deviceId] = new CloudDeviceInfo(deviceId, true, app, _time.GetUtcNow());
        Publish(deviceId, CloudEvent.Status, "online");
        return connection;
    }

    internal void Disconnect(CloudConnection connection)
    {
        if (!connection.Open) return;
        connection.Open = false;
        if (_online.TryGetValue(connection.DeviceId, out var current) && ReferenceEquals(current, connection))
        {
            _online.Remove(connection.DeviceId);
            _known[connection.DeviceId] = _known[connection.DeviceId] with { Connected = false, LastHeard = _time.GetUtcNow() };
            Publish(connection.DeviceId, CloudEvent.Status, "offline");
        }
    }

    internal void Deliver(CloudConnection connection, Queue<OtaMessage> queue, OtaMessage message)
    {
        if (_settings.Loss > 0 && _random.NextDouble() < _settings.Loss) return;
        _ = DeliverLaterAsync(connection, queue, message);
    }

    private async Task DeliverLaterAsync(CloudConnection connection, Queue<OtaMessage> queue, OtaMessage message)
    {
        await Task.Delay(TimeSpan.FromMilliseconds(_settings.LatencyMs), _time);
        if (connection.Open) queue.Enqueue(message);
    }

    public async Task<CloudFlashReply> FlashAsync(string deviceId, byte[] binary, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(binary);
        if (!_online.TryGetValue(deviceId, out var connection))
            return new CloudFlashReply(false, CloudFlashReply.NotConnected);
        if (binary.Length == 0) return new CloudFlashReply(false, "Update failed - File was too small!");
        if (binary.Length > Core.Spark.SparkMemoryMap.AppMaxSize) return new CloudFlashReply(false, "Update failed - File was too big!");
        if (Faults is { } faults && faults.Inject(Sim.Faults.FaultKind.Cloud5xx, SlotOf(deviceId), $"PUT /v1/devices/{deviceId}"))
            throw new CloudException("the cloud answered 503 Service Unavailable", $"/v1/devices/{deviceId}", 503, "Service Unavailable");
        var started = new TaskCompletionSource<CloudFlashReply>(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = RunFlasherAsync(connection, binary, started, cancellationToken);
        return await started.Task;
    }

    private async Task RunFlasherAsync(CloudConnection connection, byte[] binary, TaskCompletionSource<CloudFlashReply> started, CancellationToken ct)
    {
        var id = connection.DeviceId;
        var start = _time.GetTimestamp();
        try
        {
            var ready = false;
            TimeSpan[] waits = [BeginWait, BeginWait, BeginWait, LastBeginWait];
            foreach (var wait in waits)
            {
                connection.Cloud.Deliver(connection, connection.ToDevice, new OtaMessage.UpdateBegin(binary.Length));
                if (await WaitForAsync(connection, m => m is OtaMessage.UpdateReady, wait, ct) is not null)
                {
                    ready = true;
                    break;
                }
            }
            if (!ready)
            {
                started.TrySetResult(new CloudFlashReply(false, "Update failed"));
                Publish(id, CloudEvent.FlashStatus, "failed");
                return;
            }
            started.TrySetResult(new CloudFlashReply(true, "Update started"));
            Publish(id, CloudEvent.FlashStatus, "started");

            var chunks = (binary.Length + ChunkSize - 1) / ChunkSize;
            // ChunkMissed per chunk index: a Core whose OTA region will not take a chunk erases its sector and asks for
            // the same index again and again (spark-core.md §6.1 2b), and the Flasher gives up after 10; a lossy link's
            // 3 s ChunkMissed lands on a new index nearly every time and never adds up to that
            var missed = new Dictionary<int, int>();
            var index = 0;
            var slot = SlotOf(id);
            while (index < chunks)
            {
                if (_time.GetElapsedTime(start) > TransferLimit) throw new FlashFailed("the 600 s transfer limit passed");
                if (!connection.Open) throw new FlashFailed("the device disconnected");
                if (Faults is { } faults)
                {
                    if (faults.Inject(Sim.Faults.FaultKind.CloudDrop, slot, $"OTA of {id}, chunk {index}"))
                    {
                        Disconnect(connection);
                        throw new FlashFailed($"the cloud dropped the device's connection at chunk {index}");
                    }
                    if (faults.Inject(Sim.Faults.FaultKind.CloudSlow, slot, $"OTA of {id}, chunk {index}"))
                        await Task.Delay(SlowStreamStall, _time, ct);
                }
                // the last chunk is zero-padded to 256 bytes (spark-protocol since 2014-07)
                var data = new byte[ChunkSize];
                binary.AsSpan(index * ChunkSize, Math.Min(ChunkSize, binary.Length - index * ChunkSize)).CopyTo(data);
                connection.Cloud.Deliver(connection, connection.ToDevice, new OtaMessage.Chunk(index, Crc32.Compute(data), data));
                var chunkIndex = index;
                var answer = await WaitForAsync(connection, m => m is OtaMessage.ChunkMissed || m is OtaMessage.ChunkReceived r && r.Index == chunkIndex, ChunkAnswerWait, ct);
                switch (answer)
                {
                    case OtaMessage.ChunkReceived { Ok: true }:
                        index++;
                        break;
                    case OtaMessage.ChunkMissed m:
                        var at = Math.Clamp(m.Index, 0, chunks - 1);
                        var times = missed[at] = missed.GetValueOrDefault(at) + 1;
                        if (times >= MaxMissedChunks) throw new FlashFailed($"chunk {at} missed {times} times (the device keeps asking for it again)");
                        index = at;
                        break;
                    default:
                        break; // CRC error or no answer: send the same chunk again
                }
            }
            for (var attempt = 0; attempt < UpdateDoneAttempts && connection.Open; attempt++)
            {
                connection.Cloud.Deliver(connection, connection.ToDevice, new OtaMessage.UpdateDone());
                await WaitForAsync(connection, _ => false, ChunkAnswerWait, ct); // the device resets on UpdateDone: the connection closes
            }
            // success only once the device took UpdateDone (it resets, closing its connection); every UpdateDone lost on a
            // lossy link is the transfer's failure, not a success the Core then seems not to apply
            if (connection.Open) throw new FlashFailed($"UpdateDone not acknowledged after {UpdateDoneAttempts} attempts");
            Publish(id, CloudEvent.FlashStatus, "success");
        }
        catch (FlashFailed failed)
        {
            started.TrySetResult(new CloudFlashReply(false, "Update failed"));
            Publish(id, CloudEvent.FlashStatus, $"failed {failed.Message}");
        }
        catch (OperationCanceledException)
        {
            started.TrySetResult(new CloudFlashReply(false, "Update failed"));
        }
    }

    private async Task<OtaMessage?> WaitForAsync(CloudConnection connection, Func<OtaMessage, bool> wanted, TimeSpan timeout, CancellationToken ct)
    {
        var start = _time.GetTimestamp();
        while (_time.GetElapsedTime(start) < timeout && connection.Open)
        {
            while (connection.ToCloud.Count > 0)
            {
                var m = connection.ToCloud.Dequeue();
                if (wanted(m)) return m;
            }
            await Task.Delay(Poll, _time, ct);
        }
        return null;
    }

    private void Publish(string deviceId, string name, string data)
    {
        if (!_events.TryGetValue(deviceId, out var list)) _events[deviceId] = list = [];
        var published = new CloudEvent(name, data, deviceId, _time.GetUtcNow());
        list.Add(published);
        Published?.Invoke(published);
    }

    private sealed class FlashFailed(string message) : Exception(message);
}
