using System.Net.Sockets;

namespace HilRig.Sim.Serve;

/// <summary>
/// A listening Unix domain socket for the simulator's servers (USB, control): binds, accepts clients, serves each on a
/// task of its own, and on disposal stops accepting, waits for the clients and removes its socket file.
/// </summary>
public sealed class UnixSocketListener : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _clients = [];
    private readonly Task _acceptLoop;
    private int _connections;
    private int _disposed;

    private UnixSocketListener(string path, Socket listener, Func<Socket, CancellationToken, Task> serve)
    {
        Path = path;
        _listener = listener;
        _acceptLoop = AcceptLoopAsync(serve, _stop.Token);
    }

    public string Path { get; }

    /// <summary>Connections accepted so far.</summary>
    public int ConnectionCount => Volatile.Read(ref _connections);

    /// <summary>Replaces a stale socket file left by a previous run, binds, listens and starts serving; nothing is left open on failure.</summary>
    public static UnixSocketListener Start(string path, int backlog, Func<Socket, CancellationToken, Task> serve)
    {
        if (File.Exists(path)) File.Delete(path);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen(backlog);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
        return new UnixSocketListener(path, listener, serve);
    }

    private async Task AcceptLoopAsync(Func<Socket, CancellationToken, Task> serve, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(ct);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            Interlocked.Increment(ref _connections);
            var task = serve(client, ct);
            lock (_clients)
            {
                _clients.RemoveAll(t => t.IsCompleted);
                _clients.Add(task);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _stop.CancelAsync();
        _listener.Dispose();
        await _acceptLoop;
        Task[] clients;
        lock (_clients) clients = [.. _clients];
        await Task.WhenAll(clients);
        _stop.Dispose();
        if (File.Exists(Path)) File.Delete(Path);
    }
}
