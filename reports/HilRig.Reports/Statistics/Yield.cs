using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Reports.Results;

namespace HilRig.Reports.Statistics;

/// <summary>Devices that passed out of devices tested.</summary>
public readonly record struct YieldResult(int Passed, int Devices)
{
    public double Rate => Devices == 0 ? double.NaN : (double)Passed / Devices;

    /// <summary>Wilson 95 % interval on the yield, for display.</summary>
    public Interval Wilson => Proportion.Wilson(Passed, Devices);
}

/// <summary>
/// Screening yields under the confirmation policy (issue 14.2). First-pass: devices whose first judged screening attempt
/// passed. Final: devices that passed once the policy has spoken (a failure refuted by a later pass counts as passed, a
/// confirmed failure as failed) over devices with a final verdict; <see cref="Pending"/> devices wait for confirmation.
/// </summary>
public sealed record ScreeningYield(YieldResult FirstPass, YieldResult Final, int Pending);

/// <summary>
/// Unit yields over an attempt history that never overwrites an attempt. A device passes only
/// if it passes every test it ran; a rig fault is not a pass (it cost a retest).
/// </summary>
public static class Yield
{
    /// <summary>
    /// First-pass yield: devices whose first attempt (attempt 1, or the lowest recorded) of every
    /// test passed, over devices. Pass <paramref name="test"/> to restrict to one test operation.
    /// </summary>
    public static YieldResult FirstPass(IEnumerable<AttemptRecord> attempts, string? test = null) =>
        Compute(attempts, test, first: true);

    /// <summary>
    /// Final yield: devices whose last attempt (highest attempt number) of every test passed,
    /// over devices.
    /// </summary>
    public static YieldResult Final(IEnumerable<AttemptRecord> attempts, string? test = null) =>
        Compute(attempts, test, first: false);

    /// <summary>First-pass and final yield from screening attempts (rig faults are no verdict and are skipped).</summary>
    public static ScreeningYield Screening(IEnumerable<ScreenAttempt> attempts)
    {
        ArgumentNullException.ThrowIfNull(attempts);
        int devices = 0, firstPassed = 0, passed = 0, failed = 0, pending = 0;
        foreach (var device in attempts.Where(a => a.Verdict is Verdict.Pass or Verdict.Fail).GroupBy(a => a.DeviceId, StringComparer.Ordinal))
        {
            var ordered = device.OrderBy(a => a.At).ToList();
            devices++;
            if (ordered[0].Verdict == Verdict.Pass) firstPassed++;
            if (ordered.Any(a => a.Confirmation == Confirmation.Confirmed)) failed++;
            else if (ordered[^1].Verdict == Verdict.Pass) passed++;
            else pending++;
        }
        return new ScreeningYield(new YieldResult(firstPassed, devices), new YieldResult(passed, passed + failed), pending);
    }

    private static YieldResult Compute(IEnumerable<AttemptRecord> attempts, string? test, bool first)
    {
        ArgumentNullException.ThrowIfNull(attempts);

        // (device, test) -> the deciding attempt so far.
        var deciding = new Dictionary<(string Device, string Test), AttemptRecord>();
        var seen = new HashSet<(string Device, string Test, int Attempt)>();
        foreach (var a in attempts)
        {
            if (test is not null && !string.Equals(a.Test, test, StringComparison.Ordinal))
            {
                continue;
            }

            if (a.Attempt < 1)
            {
                throw new ArgumentException($"device {a.DeviceId}, test {a.Test}: attempt is {a.Attempt}; attempts count from 1", nameof(attempts));
            }

            if (!seen.Add((a.DeviceId, a.Test, a.Attempt)))
            {
                throw new ArgumentException($"device {a.DeviceId}, test {a.Test}: attempt {a.Attempt} appears twice; each attempt is recorded once", nameof(attempts));
            }

            var key = (a.DeviceId, a.Test);
            if (!deciding.TryGetValue(key, out var current)
                || (first ? a.Attempt < current.Attempt : a.Attempt > current.Attempt))
            {
                deciding[key] = a;
            }
        }

        var deviceVerdicts = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var (key, a) in deciding)
        {
            var passed = a.Verdict == Verdict.Pass;
            deviceVerdicts[key.Device] = deviceVerdicts.TryGetValue(key.Device, out var sofar) ? sofar && passed : passed;
        }

        return new YieldResult(deviceVerdicts.Count(kv => kv.Value), deviceVerdicts.Count);
    }
}
