namespace HilRig.Core.Serial;

/// <summary>
/// A byte link to a Core's USB serial port (CDC ACM, 9600 baud in listening mode). The simulator implements it in
/// memory; the Pi backend will implement it over the tty of the Core's port path.
/// </summary>
public interface ISerialLink : IDisposable
{
    Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default);

    /// <summary>Waits up to <paramref name="timeout"/> for at least one byte; returns how many were read, 0 on timeout.</summary>
    Task<int> ReadAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken = default);
}

/// <summary>A slot's access to the serial port of the Core in it; null while the Core has no port enumerated.</summary>
public interface ISlotSerial
{
    ISerialLink? TryOpen();
}

/// <summary>A serial dialogue did not get the answer it waits for.</summary>
public sealed class SerialDialogueException(string message, string transcript) : Exception(message)
{
    public SerialDialogueException() : this("serial dialogue failed", "") { }

    public SerialDialogueException(string message) : this(message, "") { }

    public SerialDialogueException(string message, Exception inner) : this(message + ": " + inner.Message, "") { }

    /// <summary>Everything read so far: the evidence.</summary>
    public string Transcript { get; } = transcript;
}
