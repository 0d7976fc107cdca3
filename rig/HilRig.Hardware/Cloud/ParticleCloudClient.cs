using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using HilRig.Core.Cloud;
using HilRig.Core.Config;

namespace HilRig.Hardware.Cloud;

/// <summary>
/// The Particle (Spark) cloud REST API over HTTP (protocols.md §7): PUT /v1/devices/:id with the binary (multipart
/// <c>file</c> + <c>file_type=binary</c>), GET /v1/devices/:id, and the device's SSE event stream, buffered per
/// device so <see cref="Events"/> can be read at any time. The token goes in an <c>Authorization: Bearer</c> header,
/// never in a URL. Works with a local spark-server, `hilrig sim serve --cloud-port`, or the hosted API.
/// </summary>
/// <remarks>
/// What the device did is a reply (<see cref="CloudFlashReply"/> with the cloud's words, e.g. "Device is not
/// connected."); what stopped the rig from asking is a <see cref="CloudException"/> naming the request, the status
/// and the cloud's message (401 invalid_token, 403 Permission Denied, 5xx), or a <see cref="CloudTimeoutException"/>
/// naming the request and how long it waited.
/// </remarks>
public sealed class ParticleCloudClient : ICloud, IDisposable
{
    private readonly CloudSettings _settings;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _disposing = new();
    private readonly Dictionary<string, EventStream> _streams = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, (long At, CloudDeviceInfo? Info)> _deviceCache = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _lock = new();

    /// <param name="handler">The HTTP stack (tests may pass their own); null: a SocketsHttpHandler owned by the client.</param>
    /// <param name="time">The clock timeouts run on; null: the system clock (the cloud is wall-clock).</param>
    public ParticleCloudClient(CloudSettings settings, HttpMessageHandler? handler = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _time = time ?? TimeProvider.System;
        _http = new HttpClient(handler ?? new SocketsHttpHandler { ConnectTimeout = settings.RequestTimeout }, disposeHandler: handler is null)
        {
            // each request has its own timeout, so the message can say which request and how long
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public CloudSettings Settings => _settings;

    /// <summary>
    /// Device info younger than this is answered from the last reply: the rig's procedures poll every 100 ms, the
    /// hosted API allows 10,000 requests per 5 minutes per IP. Zero asks every time.
    /// </summary>
    public TimeSpan DeviceInfoMaxAge { get; init; } = TimeSpan.FromSeconds(1);

    public async Task<CloudFlashReply> FlashAsync(string deviceId, byte[] binary, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(deviceId);
        ArgumentNullException.ThrowIfNull(binary);
        var url = DeviceUrl(deviceId);
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(binary);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(file, "file", "firmware.bin");
        form.Add(new StringContent("binary"), "file_type");
        using var request = new HttpRequestMessage(HttpMethod.Put, url) { Content = form };
        var (status, body) = await SendAsync(request, _settings.FlashTimeout, cancellationToken);
        lock (_lock) _deviceCache.Remove(deviceId);
        switch (status)
        {
            case HttpStatusCode.OK or HttpStatusCode.Created or HttpStatusCode.Accepted:
            {
                var json = TryParse(body);
                var ok = json is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty("ok", out var okValue)
                    ? okValue.ValueKind != JsonValueKind.False
                    : json is { ValueKind: JsonValueKind.Object } e && !e.TryGetProperty("error", out _) && !e.TryGetProperty("errors", out _);
                if (ok)
                    return new CloudFlashReply(true, json is { ValueKind: JsonValueKind.Object } s && s.TryGetProperty("status", out var st) && st.ValueKind == JsonValueKind.String
                        ? st.GetString()!
                        : "Update started");
                // spark-server's failures come with 200: {"ok": false, "errors": [{"error": "Timed out."}]}
                return new CloudFlashReply(false, CloudMessage(json, body) ?? "Update failed");
            }
            case HttpStatusCode.NotFound or HttpStatusCode.RequestTimeout:
                // the device is offline, or the cloud could not reach it: the Core's side of the story
                return new CloudFlashReply(false, CloudMessage(TryParse(body), body) ?? CloudFlashReply.NotConnected);
            default:
                throw Refused("PUT", url, status, body);
        }
    }

    public async Task<CloudDeviceInfo?> GetDeviceAsync(string deviceId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(deviceId);
        lock (_lock)
        {
            if (_deviceCache.TryGetValue(deviceId, out var cached) && _time.GetElapsedTime(cached.At) < DeviceInfoMaxAge) return cached.Info;
        }
        var url = DeviceUrl(deviceId);
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        var (status, body) = await SendAsync(request, _settings.RequestTimeout, cancellationToken);
        CloudDeviceInfo? info = status switch
        {
            HttpStatusCode.OK => ReadDevice(deviceId, body, url),
            // spark-server: 404 "Oops, I couldn't find that core"; the cloud has never seen it
            HttpStatusCode.NotFound => null,
            _ => throw Refused("GET", url, status, body),
        };
        lock (_lock) _deviceCache[deviceId] = (_time.GetTimestamp(), info);
        return info;
    }

    public async Task WatchEventsAsync(string deviceId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(deviceId);
        lock (_lock)
        {
            if (_streams.TryGetValue(deviceId, out var running) && running.Failure is null && !running.Ended) return;
        }
        var url = new Uri(_settings.Url, $"v1/devices/{Uri.EscapeDataString(deviceId)}/events");
        var stream = new EventStream(deviceId, url);
        using var timeout = new CancellationTokenSource(_settings.RequestTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken, _disposing.Token);
        HttpResponseMessage? response = null;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _settings.Token);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                var body = await response.Content.ReadAsStringAsync(linked.Token);
                throw Refused("GET", url, response.StatusCode, body);
            }
            var content = await response.Content.ReadAsStreamAsync(linked.Token);
            stream.Start(response, content, _time, _disposing.Token);
            response = null; // owned by the reader now
            // the cloud opens with ":ok": from then on the subscription is in place
            await stream.Opened.Task.WaitAsync(linked.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested && !_disposing.IsCancellationRequested)
        {
            stream.Stop();
            throw TimedOut("GET", url, _settings.RequestTimeout, "opening the event stream");
        }
        catch (HttpRequestException ex)
        {
            throw Unreachable("GET", url, ex);
        }
        catch
        {
            stream.Stop();
            throw;
        }
        finally
        {
            response?.Dispose();
        }
        lock (_lock)
        {
            if (_streams.TryGetValue(deviceId, out var old)) old.Stop();
            _streams[deviceId] = stream;
        }
    }

    public IReadOnlyList<CloudEvent> Events(string deviceId)
    {
        EventStream? stream;
        lock (_lock) stream = _streams.GetValueOrDefault(deviceId);
        if (stream is null) return [];
        return stream.Snapshot();
    }

    public void Dispose()
    {
        if (_disposing.IsCancellationRequested) return;
        _disposing.Cancel();
        lock (_lock)
        {
            foreach (var stream in _streams.Values) stream.Stop();
            _streams.Clear();
        }
        _http.Dispose();
        _disposing.Dispose();
    }

    private Uri DeviceUrl(string deviceId) => new(_settings.Url, $"v1/devices/{Uri.EscapeDataString(deviceId)}");

    private async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpRequestMessage request, TimeSpan limit, CancellationToken ct)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _settings.Token);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var timeout = new CancellationTokenSource(limit, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, ct);
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, linked.Token);
            return (response.StatusCode, await response.Content.ReadAsStringAsync(linked.Token));
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            throw TimedOut(request.Method.Method, request.RequestUri!, limit, null);
        }
        catch (HttpRequestException ex)
        {
            throw Unreachable(request.Method.Method, request.RequestUri!, ex);
        }
    }

    private CloudDeviceInfo ReadDevice(string deviceId, string body, Uri url)
    {
        var json = TryParse(body);
        if (json is not { ValueKind: JsonValueKind.Object } device)
            throw new CloudException($"GET {url}: the reply is not a device (JSON object): {Clip(body)}", url.ToString(), 200, null);
        var id = device.TryGetProperty("id", out var i) && i.ValueKind == JsonValueKind.String ? i.GetString()! : deviceId;
        // spark-server says "connected"; the hosted API says both "connected" and "online"
        var connected = Bool(device, "connected") ?? Bool(device, "online") ?? false;
        var lastApp = device.TryGetProperty("last_app", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
        var lastHeard = Time(device, "last_heard") ?? Time(device, "last_handshake_at");
        // spark-server has no last_heard: the last "online" seen on the device's event stream stands in for it
        if (lastHeard is null && connected) lastHeard = LastOnline(deviceId);
        return new CloudDeviceInfo(id, connected, lastApp, lastHeard);

        static bool? Bool(JsonElement e, string name) =>
            e.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;
    }

    private DateTimeOffset? LastOnline(string deviceId)
    {
        EventStream? stream;
        lock (_lock) stream = _streams.GetValueOrDefault(deviceId);
        return stream?.Snapshot(throwOnFailure: false).LastOrDefault(e => e.Name == CloudEvent.Status && e.Data.StartsWith("online", StringComparison.Ordinal))?.PublishedAt;
    }

    private static DateTimeOffset? Time(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
        && DateTimeOffset.TryParse(v.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t)
            ? t
            : null;

    internal static JsonElement? TryParse(string body)
    {
        if (string.IsNullOrWhiteSpace(body)) return null;
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// The cloud's own words, looked for where particle-cli looks: errors[] (strings, or objects' error/status),
    /// info, error_description with error, error; a bare JSON string (spark-server's 404); else null.
    /// </summary>
    internal static string? CloudMessage(JsonElement? json, string body)
    {
        switch (json)
        {
            case { ValueKind: JsonValueKind.String } s:
                return s.GetString();
            case { ValueKind: JsonValueKind.Object } o:
            {
                if (o.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array && errors.GetArrayLength() > 0)
                {
                    var parts = errors.EnumerateArray().Select(e => e.ValueKind switch
                    {
                        JsonValueKind.String => e.GetString(),
                        JsonValueKind.Object => Text(e, "error") ?? Text(e, "status") ?? Text(e, "message") ?? e.GetRawText(),
                        _ => e.GetRawText(),
                    }).Where(p => !string.IsNullOrEmpty(p));
                    return string.Join("; ", parts);
                }
                var error = Text(o, "error");
                var info = Text(o, "info");
                if (info is not null) return error is null ? info : $"{error}: {info}";
                var description = Text(o, "error_description");
                if (description is not null) return error is null ? description : $"{description} ({error})";
                return error;
            }
            default:
                return string.IsNullOrWhiteSpace(body) ? null : Clip(body);
        }

        static string? Text(JsonElement e, string name) =>
            e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } t ? t : null;
    }

    private static CloudException Refused(string method, Uri url, HttpStatusCode status, string body)
    {
        var said = CloudMessage(TryParse(body), body);
        var code = (int)status;
        var hint = status switch
        {
            HttpStatusCode.Unauthorized or HttpStatusCode.BadRequest when said?.Contains("token", StringComparison.OrdinalIgnoreCase) == true =>
                $"; check cloud.token in the rig config or {CloudSettings.TokenVariable}",
            HttpStatusCode.Forbidden => "; is the device claimed by the token's account, and its id right?",
            HttpStatusCode.TooManyRequests => "; the cloud's rate limit (hosted: 10,000 requests / 5 min per IP)",
            _ => "",
        };
        return new CloudException($"{method} {url}: HTTP {code} {said ?? status.ToString()}{hint}", url.ToString(), code, said);
    }

    private static CloudException Unreachable(string method, Uri url, HttpRequestException ex) =>
        new($"{method} {url}: cannot reach the cloud: {ex.Message}", url.ToString(), null, null, ex);

    private static CloudTimeoutException TimedOut(string method, Uri url, TimeSpan waited, string? doing) =>
        new(string.Create(CultureInfo.InvariantCulture,
                $"{method} {url}: no answer within {waited.TotalSeconds:0.0#} s{(doing is null ? "" : $" ({doing})")}; is the cloud up at {url.GetLeftPart(UriPartial.Authority)}? (cloud.timeoutSeconds / cloud.flashTimeoutSeconds)"),
            url.ToString(), waited);

    private static string Clip(string text)
    {
        var flat = text.ReplaceLineEndings(" ").Trim();
        return flat.Length <= 200 ? flat : flat[..200] + "...";
    }

    /// <summary>One device's open event stream: its reader task and the events it delivered.</summary>
    private sealed class EventStream(string deviceId, Uri url)
    {
        private readonly List<CloudEvent> _events = [];
        private readonly Lock _lock = new();
        private HttpResponseMessage? _response;
        private bool _stopped;

        public TaskCompletionSource Opened { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CloudException? Failure { get; private set; }

        public bool Ended { get; private set; }

        public IReadOnlyList<CloudEvent> Snapshot(bool throwOnFailure = true)
        {
            lock (_lock)
            {
                if (throwOnFailure && Failure is { } failure) throw failure;
                return [.. _events];
            }
        }

        /// <summary>Reads the stream on the thread pool, never on the caller's context (the simulation thread in tests).</summary>
        public void Start(HttpResponseMessage response, Stream content, TimeProvider time, CancellationToken disposing)
        {
            lock (_lock) _response = response;
            _ = Task.Run(() => ReadAsync(response, content, time, disposing), CancellationToken.None);
        }

        /// <summary>Closing the response ends the reader's pending read.</summary>
        public void Stop()
        {
            HttpResponseMessage? response;
            lock (_lock)
            {
                _stopped = true;
                response = _response;
            }
            response?.Dispose();
            Opened.TrySetCanceled();
        }

        private bool Stopped
        {
            get
            {
                lock (_lock) return _stopped;
            }
        }

        private async Task ReadAsync(HttpResponseMessage response, Stream content, TimeProvider time, CancellationToken disposing)
        {
            var parser = new ServerSentEventParser();
            try
            {
                using (response)
                using (var reader = new StreamReader(content))
                {
                    while (await reader.ReadLineAsync(disposing) is { } line)
                    {
                        var e = parser.Feed(line);
                        Opened.TrySetResult();
                        if (e is not null && ParticleEvents.ToCloudEvent(e, deviceId, time.GetUtcNow()) is { } cloudEvent)
                        {
                            lock (_lock) _events.Add(cloudEvent);
                        }
                    }
                }
                End(Stopped ? null : new CloudException($"GET {url}: the cloud closed the event stream of device {deviceId}", url.ToString(), 200, null));
            }
            catch (OperationCanceledException) when (disposing.IsCancellationRequested)
            {
                End(null);
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException or ObjectDisposedException or OperationCanceledException)
            {
                End(Stopped ? null : new CloudException($"GET {url}: the event stream of device {deviceId} broke: {ex.Message}", url.ToString(), null, null, ex));
            }
        }

        private void End(CloudException? failure)
        {
            lock (_lock)
            {
                Ended = true;
                Failure ??= failure;
            }
            if (failure is not null) Opened.TrySetException(failure);
            else Opened.TrySetCanceled();
        }
    }
}

/// <summary>Particle's event JSON (protocols.md §7.1): {data, ttl, published_at, coreid}; ttl may be a string or a number.</summary>
public static class ParticleEvents
{
    /// <param name="fallbackDeviceId">The stream's device, for an event without coreid.</param>
    /// <param name="receivedAt">Stands in for a missing published_at.</param>
    public static CloudEvent? ToCloudEvent(ServerSentEvent e, string fallbackDeviceId, DateTimeOffset receivedAt)
    {
        ArgumentNullException.ThrowIfNull(e);
        var json = ParticleCloudClient.TryParse(e.Data);
        if (json is not { ValueKind: JsonValueKind.Object } o)
            return new CloudEvent(e.Name, e.Data, fallbackDeviceId, receivedAt);
        var data = o.TryGetProperty("data", out var d) ? d.ValueKind switch
        {
            JsonValueKind.String => d.GetString()!,
            JsonValueKind.Null => "",
            _ => d.GetRawText(),
        } : "";
        var coreId = o.TryGetProperty("coreid", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : fallbackDeviceId;
        var at = o.TryGetProperty("published_at", out var p) && p.ValueKind == JsonValueKind.String
            && DateTimeOffset.TryParse(p.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t)
                ? t
                : receivedAt;
        return new CloudEvent(e.Name, data, coreId, at);
    }
}
