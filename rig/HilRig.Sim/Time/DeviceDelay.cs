namespace HilRig.Sim.Time;

/// <summary>
/// A wait of exactly the given device time. Task.Delay(TimeSpan, TimeProvider) works in whole milliseconds, which
/// would turn a 0.46 ms SPI read into 1 ms (or 0) and a 1.21 ms USB transfer into 1 ms: device time must add up.
/// </summary>
public static class DeviceDelay
{
    public static Task WaitAsync(TimeProvider time, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        if (duration == Timeout.InfiniteTimeSpan) return Task.Delay(Timeout.InfiniteTimeSpan, time, cancellationToken);
        if (duration <= TimeSpan.Zero) return Task.CompletedTask;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ITimer? timer = null;
        CancellationTokenRegistration registration = default;
        timer = time.CreateTimer(_ =>
        {
            registration.Dispose();
            timer?.Dispose();
            done.TrySetResult();
        }, null, duration, Timeout.InfiniteTimeSpan);
        if (cancellationToken.CanBeCanceled)
        {
            registration = cancellationToken.Register(() =>
            {
                timer.Dispose();
                done.TrySetCanceled(cancellationToken);
            });
        }
        return done.Task;
    }
}
