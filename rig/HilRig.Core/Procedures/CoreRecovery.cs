using HilRig.Core.Dfu;
using HilRig.Core.Slots;
using HilRig.Core.Spark;
using HilRig.Core.Usb;

namespace HilRig.Core.Procedures;

/// <summary>What recovery writes: a known-good app for 0x08005000 and, when known, the factory image for 0x20000.</summary>
/// <param name="AppIdentity">What the app reports as its identity, for the log (null: not known).</param>
/// <param name="Factory">The factory image the Core should hold at 0x20000; null: the factory slot is left alone.</param>
public sealed record RecoveryImages(byte[] App, string? AppIdentity, byte[]? Factory);

/// <summary>
/// `recovery`: bring a Core that no longer runs its app (stuck in DFU, hung, dark) back over DFU: cut the power if it is
/// not in DFU and hold MODE through RESET into DFU; write the known-good app to alt 0 at 0x08005000 and read it back;
/// read the factory slot at 0x20000 and rewrite it if it differs from the factory image (then read it back); leave DFU
/// (Finish_Update sets the flags to 0x5000 and resets); the Core must answer `i` with its device id. Pass: the Core
/// runs a known-good app and holds a good factory image. Fail (<see cref="FailureModes.Unrecoverable"/>): no DFU (its
/// bootloader does not run), or a memory that does not keep what was written, or no answer afterwards.
/// </summary>
public sealed class CoreRecovery(CoreLifeContext context, DfuHostOptions? dfu = null)
{
    public const string TestName = "recovery";

    public static readonly TimeSpan AppTimeout = TimeSpan.FromSeconds(15);

    public async Task<LoopResult> RunAsync(RigSlot slot, string deviceId, RecoveryImages images, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(images);
        return await LoopRunner.RunAsync(TestName, context, slot, async log =>
        {
            var time = context.Time;
            if (await context.LookAsync(slot, null, DateTimeOffset.MinValue, ct) != CoreWhereabouts.Dfu)
            {
                // hung or dark: only a power cycle stops it; then MODE through RESET selects DFU in the bootloader. The relay
                // line reads back what was written whatever its contact does: the cut and the switch on are checked
                string? noDfu = null;
                var inDfu = await RelaySwitch.PowerCycleAsync(slot, context.Bus, time, async () =>
                {
                    try
                    {
                        log.AddRange(await ChoreographyRunner.RunAsync(Choreographies.EnterDfu, slot, context.Bus, time, ct));
                        return true;
                    }
                    catch (ChoreographyException ex)
                    {
                        noDfu = ex.Message;
                        return null;
                    }
                }, log, ct: ct);
                if (inDfu != true)
                    throw new LoopFailure(FailureModes.Unrecoverable,
                        $"no DFU after a power cycle and MODE held through RESET: the Core's bootloader does not run; it needs a programmer (SWD/JTAG) ({noDfu})");
            }

            string factory;
            using (var session = await SlotDfu.OpenHereAsync(context, slot, deviceId, dfu, ct))
            {
                await SlotDfu.Guard(() => session.SelectAltAsync(0, ct));
                await SlotDfu.Guard(() => session.DownloadAsync(SparkMemoryMap.AppAddress, images.App, null, null, ct));
                var app = await SlotDfu.Guard(() => session.UploadAsync(SparkMemoryMap.AppAddress, images.App.Length, null, ct));
                if (SlotDfu.Difference(images.App, app, SparkMemoryMap.AppAddress) is { } appDiff)
                    throw new LoopFailure(FailureModes.Unrecoverable, $"the app area does not read back as written ({appDiff}): the internal flash does not keep it");
                log.Add($"known-good app {images.AppIdentity ?? "(image)"} written at 0x{SparkMemoryMap.AppAddress:X8} and read back");
                factory = images.Factory is { } image ? await RestoreFactoryAsync(session, image, log, ct) : "factory slot not checked (no factory image given)";
                await SlotDfu.Guard(() => session.LeaveAsync(null, ct));
            }

            if (await SlotDfu.AfterLeaveAsync(context, slot, deviceId, AppTimeout, ct) is not (CoreWhereabouts.Listening or CoreWhereabouts.Connected))
                throw new LoopFailure(FailureModes.Unrecoverable, $"the Core did not come back on the known-good app within {AppTimeout.TotalSeconds:0} s of leaving DFU; {factory}");
            var id = await new Identify(context).ReadDeviceIdAsync(slot, ct);
            if (!string.Equals(id, deviceId, StringComparison.Ordinal))
                throw new LoopFailure(FailureModes.Unrecoverable, $"after recovery the Core answers `i` with {id ?? "nothing"}, not {deviceId}; {factory}");
            return $"known-good app {images.AppIdentity ?? "(image)"} written and read back; {factory}; the Core answers `i` as {id}";
        }, ct);
    }

    private static async Task<string> RestoreFactoryAsync(DfuSeSession session, byte[] image, List<string> log, CancellationToken ct)
    {
        const uint at = SparkMemoryMap.FactoryImageAddress;
        try
        {
            await SlotDfu.Guard(() => session.SelectAltAsync(1, ct));
            var held = await SlotDfu.Guard(() => session.UploadAsync(at, image.Length, null, ct));
            if (SlotDfu.Difference(image, held, at) is not { } before) return "factory image intact";
            log.Add($"factory slot: {before}; rewriting it");
            await SlotDfu.Guard(() => session.DownloadAsync(at, image, null, null, ct));
            var back = await SlotDfu.Guard(() => session.UploadAsync(at, image.Length, null, ct));
            if (SlotDfu.Difference(image, back, at) is { } after)
                throw new LoopFailure(FailureModes.Unrecoverable,
                    $"the factory slot at 0x{at:X6} does not read back as written ({after}): bad external flash; its next factory reset would fail again");
            return $"factory image rewritten ({before}) and read back";
        }
        catch (UsbException ex) when (ex.Error == UsbError.Timeout)
        {
            throw new LoopFailure(FailureModes.Unrecoverable, $"the external flash stopped answering while the factory slot was checked or rewritten (BUSY never clears): {ex.Message}");
        }
    }
}
