namespace HilRig.Core.Cloud;

/// <summary>What the cloud knows about a device (GET /v1/devices/:id, protocols.md §7.1).</summary>
public sealed record CloudDeviceInfo(string Id, bool Connected, string? LastApp, DateTimeOffset? LastHeard);

/// <summary>The PUT reply: "Update started" once the device sent UpdateReady, or the reason it did not.</summary>
public sealed record CloudFlashReply(bool Ok, string Status)
{
    public override string ToString() => Ok ? Status : $"failed: {Status}";
}

/// <summary>An event as the cloud publishes it (spark/flash/status "started" / "success" / "failed", spark/status "online" / "offline").</summary>
public sealed record CloudEvent(string Name, string Data, string CoreId, DateTimeOffset PublishedAt)
{
    public const string FlashStatus = "spark/flash/status";
    public const string Status = "spark/status";

    public override string ToString() => $"{PublishedAt:HH:mm:ss.fff} {Name} {Data}";
}

/// <summary>
/// The cloud a rig flashes through: a local spark-server, the hosted API, or the simulator's cloud.
/// Results beyond "Update started" arrive as <see cref="CloudEvent"/>s.
/// </summary>
public interface ICloud
{
    /// <summary>PUT /v1/devices/:id with a binary; returns when the device accepted UpdateBegin or the cloud gave up.</summary>
    Task<CloudFlashReply> FlashAsync(string deviceId, byte[] binary, CancellationToken cancellationToken = default);

    /// <summary>Null for a device the cloud has never seen.</summary>
    CloudDeviceInfo? GetDevice(string deviceId);

    /// <summary>Events published so far for a device, oldest first (the rig reads them as an SSE stream would deliver them).</summary>
    IReadOnlyList<CloudEvent> Events(string deviceId);
}
