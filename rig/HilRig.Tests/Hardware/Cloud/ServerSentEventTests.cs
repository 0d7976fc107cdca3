using System.Net;
using System.Text;
using HilRig.Core.Cloud;
using HilRig.Core.Config;
using HilRig.Hardware.Cloud;

namespace HilRig.Tests.Cloud;

/// <summary>The text/event-stream framing and Particle's event JSON, as the cloud client reads them.</summary>
public class ServerSentEventTests
{
    private static List<ServerSentEvent> Parse(string stream)
    {
        var parser = new ServerSentEventParser();
        var events = new List<ServerSentEvent>();
        using var reader = new StringReader(stream);
        while (reader.ReadLine() is { } line)
        {
            if (parser.Feed(line) is { } e) events.Add(e);
        }
        return events;
    }

    [Test]
    public void The_opening_ok_comment_and_keep_alive_blank_lines_are_no_events()
    {
        var parser = new ServerSentEventParser();
        foreach (var line in new[] { ":ok", "", "", "" }) Assert.That(parser.Feed(line), Is.Null);
        Assert.That(parser.LastComment, Is.EqualTo("ok"));
        Assert.That(parser.Lines, Is.EqualTo(4));
    }

    [Test]
    public void An_event_is_its_name_and_data_lines_up_to_a_blank_line()
    {
        var events = Parse(":ok\n\nevent: spark/flash/status\ndata: {\"data\":\"started\"}\n\n\n\nevent: spark/flash/status\ndata: {\"data\":\"success\"}\n\n");
        Assert.That(events, Is.EqualTo(new[]
        {
            new ServerSentEvent("spark/flash/status", "{\"data\":\"started\"}", null),
            new ServerSentEvent("spark/flash/status", "{\"data\":\"success\"}", null),
        }));
    }

    [Test]
    public void Several_data_lines_are_one_data_joined_by_newlines_and_CRLF_streams_read_the_same()
    {
        var events = Parse("event: multi\r\ndata: first\r\ndata:second\r\ndata\r\ndata:  indented\r\n\r\n");
        Assert.That(events.Single(), Is.EqualTo(new ServerSentEvent("multi", "first\nsecond\n\n indented", null)));
    }

    [Test]
    public void Data_without_an_event_line_is_a_message_and_an_event_line_without_data_is_dropped()
    {
        var events = Parse("event: lonely\n\ndata: plain\nid: 7\nretry: 2000\nunknown: field\n: a comment in the middle\n\n");
        Assert.That(events, Is.EqualTo(new[] { new ServerSentEvent("message", "plain", "7") }));
    }

    [Test]
    public void An_event_not_ended_by_a_blank_line_is_not_dispatched()
    {
        Assert.That(Parse("event: cut\ndata: half"), Is.Empty);
    }

    [TestCase("{\"data\":\"started\",\"ttl\":\"60\",\"published_at\":\"2014-06-03T18:32:09.123Z\",\"coreid\":\"55ff6c065075555332071787\"}")]
    [TestCase("{\"data\":\"started\",\"ttl\":60,\"published_at\":\"2014-06-03T18:32:09.123Z\",\"coreid\":\"55ff6c065075555332071787\",\"userid\":\"u\",\"version\":0,\"public\":false,\"productID\":0}")]
    public void Particle_event_json_gives_name_data_device_and_publish_time_with_ttl_a_string_or_a_number(string json)
    {
        var e = ParticleEvents.ToCloudEvent(new ServerSentEvent("spark/flash/status", json, null), "fallback", DateTimeOffset.MinValue);
        Assert.That(e, Is.EqualTo(new CloudEvent("spark/flash/status", "started", "55ff6c065075555332071787", new DateTimeOffset(2014, 6, 3, 18, 32, 9, 123, TimeSpan.Zero))));
    }

    [Test]
    public void An_event_without_coreid_or_time_belongs_to_the_streams_device_at_the_time_it_came()
    {
        var at = new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);
        Assert.That(ParticleEvents.ToCloudEvent(new ServerSentEvent("spark/status", "{\"data\":\"online\"}", null), "dev", at),
            Is.EqualTo(new CloudEvent("spark/status", "online", "dev", at)));
        Assert.That(ParticleEvents.ToCloudEvent(new ServerSentEvent("raw", "not json", null), "dev", at),
            Is.EqualTo(new CloudEvent("raw", "not json", "dev", at)));
    }

    [TestCase("{\"ok\":false,\"errors\":[{\"id\":\"x\",\"status\":\"Update failed - File was too big!\"}]}", "Update failed - File was too big!")]
    [TestCase("{\"ok\":false,\"errors\":[\"Timed out.\",{\"error\":\"second\"}]}", "Timed out.; second")]
    [TestCase("{\"error\":\"Permission Denied\",\"info\":\"I didn't recognize that device name or ID\"}", "Permission Denied: I didn't recognize that device name or ID")]
    [TestCase("{\"code\":401,\"error\":\"invalid_token\",\"error_description\":\"The access token provided is invalid.\"}", "The access token provided is invalid. (invalid_token)")]
    [TestCase("{\"ok\":false,\"error\":\"Device is not connected.\"}", "Device is not connected.")]
    [TestCase("\"Oops, I couldn't find that core\"", "Oops, I couldn't find that core")]
    [TestCase("<html>Bad gateway</html>", "<html>Bad gateway</html>")]
    public void The_clouds_message_is_read_where_particle_cli_reads_it(string body, string expected)
    {
        Assert.That(ParticleCloudClient.CloudMessage(ParticleCloudClient.TryParse(body), body), Is.EqualTo(expected));
    }

    /// <summary>A canned text/event-stream reply, for the client's stream reader without a server.</summary>
    private sealed class CannedStream(string body) : HttpMessageHandler
    {
        public List<string> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Add($"{request.Method} {request.RequestUri} {request.Headers.Authorization} {request.Headers.Accept}");
            var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(body)));
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/event-stream");
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = content });
        }
    }

    [Test]
    public async Task The_client_buffers_a_devices_stream_and_a_stream_that_ends_is_a_cloud_error_on_the_next_read()
    {
        const string id = "55ff6c065075555332071787";
        var handler = new CannedStream(":ok\r\n\r\n\r\nevent: spark/flash/status\r\ndata: {\"data\":\"started \",\"ttl\":60,\"published_at\":\"2014-06-03T18:32:09.000Z\",\"coreid\":\"" + id + "\"}\r\n\r\n"
            + ":keep-alive\r\n\r\nevent: spark/flash/status\r\ndata: {\"data\":\"success \",\"ttl\":60,\"published_at\":\"2014-06-03T18:32:12.000Z\",\"coreid\":\"" + id + "\"}\r\n\r\n");
        using var client = new ParticleCloudClient(new CloudSettings(new Uri("http://cloud.test/base/"), "secret", TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5)), handler);

        await client.WatchEventsAsync(id);

        Assert.That(handler.Requests.Single(), Is.EqualTo($"GET http://cloud.test/base/v1/devices/{id}/events Bearer secret text/event-stream"));
        // the canned body ends: the stream is read to its end on the thread pool
        var ended = await ServedCloud.EventuallyAsync(() => Task.FromResult(Throws(() => client.Events(id))), TimeSpan.FromSeconds(10));
        Assert.That(ended, Is.True);
        var e = Assert.Throws<CloudException>(() => client.Events(id))!;
        Assert.That(e.Message, Is.EqualTo($"GET http://cloud.test/base/v1/devices/{id}/events: the cloud closed the event stream of device {id}"));

        // opened again (no automatic reconnect): what the new stream brings is there
        await client.WatchEventsAsync(id);
        await ServedCloud.EventuallyAsync(() => Task.FromResult(Throws(() => client.Events(id))), TimeSpan.FromSeconds(10));
        Assert.That(handler.Requests, Has.Count.EqualTo(2));
    }

    [Test]
    public async Task Buffered_events_are_read_while_the_stream_is_open()
    {
        const string id = "55ff6c065075555332071787";
        var pipe = new System.IO.Pipelines.Pipe();
        var handler = new PipeStream(pipe.Reader.AsStream());
        using var client = new ParticleCloudClient(new CloudSettings(new Uri("http://cloud.test/"), "secret", TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5)), handler);
        var writer = pipe.Writer.AsStream();
        await writer.WriteAsync(Encoding.UTF8.GetBytes(":ok\n\n"));
        await writer.FlushAsync();

        await client.WatchEventsAsync(id);
        Assert.That(client.Events(id), Is.Empty);
        await writer.WriteAsync(Encoding.UTF8.GetBytes("event: spark/status\ndata: {\"data\":\"online\",\"published_at\":\"2014-06-03T18:32:09Z\",\"coreid\":\"" + id + "\"}\n\n"));
        await writer.FlushAsync();

        Assert.That(await ServedCloud.EventuallyAsync(() => Task.FromResult(client.Events(id).Count == 1), TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(client.Events(id).Single(), Is.EqualTo(new CloudEvent("spark/status", "online", id, new DateTimeOffset(2014, 6, 3, 18, 32, 9, TimeSpan.Zero))));
    }

    private sealed class PipeStream(Stream body) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(body) });
    }

    private static bool Throws(Action read)
    {
        try
        {
            read();
            return false;
        }
        catch (CloudException)
        {
            return true;
        }
    }
}
