using System.Net.Sockets;

namespace HilRig.Sim.Serve;

/// <summary>A listening Unix domain socket for the simulator's servers (USB, control).</summary>
public static class UnixSocketListener
{
    /// <summary>Replaces a stale socket file left by a previous run, binds and listens; nothing is left open on failure.</summary>
    public static Socket Bind(string path, int backlog)
    {
        if (File.Exists(path)) File.Delete(path);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen(backlog);
            return listener;
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }
}
