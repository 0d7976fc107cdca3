namespace HilRig.Core.Cloud;

/// <summary>What the cloud knows about a device (GET /v1/devices/:id, protocols.md §7.1).</summary>
public sealed record CloudDeviceInfo(string Id, bool Connected, string? LastApp, DateTimeOffset? LastHeard);

/// <summary>The PUT reply: "Update started" once the device sent UpdateReady, or the reason it did not.</summary>
public sealed record CloudFlashReply(bool Ok, string Status)
{
    /// <summary>The cloud's words for a flash to a device that is offline (HTTP 404 from the REST API).</summary>
    public const string NotConnected = "Device is not connected.";

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
/// Results beyond "Update started" arrive as <see cref="CloudEvent"/>s. Calls that go over the network are async;
/// the simulator's cloud completes them synchronously on its own thread, so simulated runs stay deterministic.
/// </summary>
/// <remarks>
/// A cloud that cannot be asked (wrong token, unknown to the cloud, no answer in time) throws
/// <see cref="CloudException"/>: the rig, not the Core, stopped the judgement.
/// </remarks>
public interface ICloud
{
    /// <summary>PUT /v1/devices/:id with a binary; returns when the device accepted UpdateBegin or the cloud gave up.</summary>
    Task<CloudFlashReply> FlashAsync(string deviceId, byte[] binary, CancellationToken cancellationToken = default);

    /// <summary>GET /v1/devices/:id; null for a device the cloud has never seen.</summary>
    Task<CloudDeviceInfo?> GetDeviceAsync(string deviceId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Makes sure the device's events are being received (GET /v1/devices/:id/events): completes once the stream is
    /// open, so every event published afterwards shows up in <see cref="Events"/>. Idempotent.
    /// </summary>
    Task WatchEventsAsync(string deviceId, CancellationToken cancellationToken = default);

    /// <summary>Events received so far for a device, oldest first (as an SSE stream delivered them).</summary>
    /// <exception cref="CloudException">The device's event stream broke; what came before it is lost to this call.</exception>
    IReadOnlyList<CloudEvent> Events(string deviceId);
}

/// <summary>
/// The cloud refused a request or did not answer it: HTTP status (null when there was no reply), the URL and the
/// cloud's own message (error_description, error, info or errors[] of its JSON body).
/// </summary>
public class CloudException : Exception
{
    public CloudException(string message, string? url = null, int? statusCode = null, string? cloudMessage = null, Exception? inner = null)
        : base(message, inner)
    {
        Url = url;
        StatusCode = statusCode;
        CloudMessage = cloudMessage;
    }

    public CloudException() : this("the cloud request failed")
    {
    }

    public CloudException(string message) : this(message, null, null, null, null)
    {
    }

    public CloudException(string message, Exception inner) : this(message, null, null, null, inner)
    {
    }

    public string? Url { get; }

    public int? StatusCode { get; }

    /// <summary>What the cloud said, verbatim (e.g. "The access token provided is invalid.").</summary>
    public string? CloudMessage { get; }
}

/// <summary>No reply within the client's timeout; the message names the request and how long it waited.</summary>
public sealed class CloudTimeoutException : CloudException
{
    public CloudTimeoutException(string message, string url, TimeSpan waited, Exception? inner = null)
        : base(message, url, null, null, inner)
    {
        Waited = waited;
    }

    public CloudTimeoutException() : this("the cloud did not answer in time", "", TimeSpan.Zero)
    {
    }

    public CloudTimeoutException(string message) : this(message, "", TimeSpan.Zero)
    {
    }

    public CloudTimeoutException(string message, Exception inner) : this(message, "", TimeSpan.Zero, inner)
    {
    }

    public TimeSpan Waited { get; }
}
