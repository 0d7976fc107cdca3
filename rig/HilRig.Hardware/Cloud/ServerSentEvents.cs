using System.Text;

namespace HilRig.Hardware.Cloud;

/// <summary>One dispatched server-sent event: its <c>event:</c> name ("message" when none was given) and its data lines joined by '\n'.</summary>
public sealed record ServerSentEvent(string Name, string Data, string? Id);

/// <summary>
/// The text/event-stream framing (WHATWG HTML "server-sent events"), fed one line at a time without its line ending:
/// <c>field: value</c> lines build an event, a blank line dispatches it, lines starting with ':' are comments
/// (the Particle cloud's opening <c>:ok</c>), blank lines with nothing buffered are keep-alives. Several
/// <c>data:</c> lines make one multi-line data. Unknown fields are ignored, as the spec says.
/// </summary>
public sealed class ServerSentEventParser
{
    private readonly StringBuilder _data = new();
    private bool _hasData;
    private string? _name;
    private string? _lastId;

    /// <summary>The last comment line seen, without its ':' (":ok" gives "ok").</summary>
    public string? LastComment { get; private set; }

    /// <summary>How many lines were fed: any line, even a keep-alive, shows the stream is alive.</summary>
    public long Lines { get; private set; }

    /// <summary>Feeds one line; returns the event a blank line completes, else null.</summary>
    public ServerSentEvent? Feed(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        Lines++;
        if (line.Length == 0) return Dispatch();
        if (line[0] == ':')
        {
            LastComment = line[1..].TrimStart(' ');
            return null;
        }
        var colon = line.IndexOf(':', StringComparison.Ordinal);
        var field = colon < 0 ? line : line[..colon];
        var value = colon < 0 ? "" : line[(colon + 1)..];
        if (value.StartsWith(' ')) value = value[1..];
        switch (field)
        {
            case "event":
                _name = value;
                break;
            case "data":
                if (_hasData) _data.Append('\n');
                _data.Append(value);
                _hasData = true;
                break;
            case "id":
                if (!value.Contains('\0', StringComparison.Ordinal)) _lastId = value;
                break;
            default:
                break; // retry: and unknown fields (reconnection is not this client's business)
        }
        return null;
    }

    private ServerSentEvent? Dispatch()
    {
        // an event name without data is dropped, as browsers drop it
        if (!_hasData)
        {
            _name = null;
            return null;
        }
        var e = new ServerSentEvent(string.IsNullOrEmpty(_name) ? "message" : _name, _data.ToString(), _lastId);
        _data.Clear();
        _hasData = false;
        _name = null;
        return e;
    }
}
