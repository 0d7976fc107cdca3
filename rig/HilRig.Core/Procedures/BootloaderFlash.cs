using HilRig.Core.Dfu;
using HilRig.Core.Slots;
using HilRig.Core.Spark;

namespace HilRig.Core.Procedures;

/// <summary>
/// `bootloader-flash`: a bootloader image into pages 0-18 of a Core's internal flash over DFU alt 0 at 0x08000000,
/// read back before the Core is reset. Pages 0-15 may be write-protected by the option bytes (factory Cores,
/// spark-core.md §2.2). The bootloader's DFU does not report that: its DfuSe code ignores the flash controller's
/// status, as ST's DfuSe bootloader does for erases of protected pages (AN2662 §4.5.3), so an erase and write of a
/// protected page end "OK" with nothing changed. So the host first rewrites one protectable page that must change and
/// reads it back: unchanged means protected, and nothing else has been touched (no half-written bootloader).
/// </summary>
public sealed class BootloaderFlash(CoreLifeContext context, DfuHostOptions? dfu = null)
{
    public const string TestName = "bootloader-flash";

    /// <summary>How long the Core may take to come back on its app after leaving DFU with the new bootloader.</summary>
    public static readonly TimeSpan AppTimeout = TimeSpan.FromSeconds(15);

    public async Task<LoopResult> RunAsync(RigSlot slot, string deviceId, byte[] image, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (BootloaderImage.Validate(image, "bootloader image") is { } problem) throw new ArgumentException(problem, nameof(image));
        return await LoopRunner.RunAsync(TestName, context, slot, async log =>
        {
            const uint at = SparkMemoryMap.BootloaderAddress;
            const int page = SparkMemoryMap.InternalPageSize;
            var force = new DfuDownloadOptions { Force = true };
            using (var session = await SlotDfu.OpenAsync(context, slot, deviceId, dfu, ct))
            {
                await SlotDfu.Guard(() => session.SelectAltAsync(0, ct));
                var before = await SlotDfu.Guard(() => session.UploadAsync(at, SparkMemoryMap.BootloaderMaxSize, null, ct));
                var pages = (image.Length + page - 1) / page;
                var padded = new byte[pages * page];
                Array.Fill(padded, (byte)0xFF);
                image.CopyTo(padded, 0);

                // The probe: the first protectable page that must change. None: pages 0-15 already hold the image.
                int? probe = null;
                for (var candidate = 0; candidate < Math.Min(pages, SparkMemoryMap.BootloaderProtectablePages) && probe is null; candidate++)
                {
                    if (!padded.AsSpan(candidate * page, page).SequenceEqual(before.AsSpan(candidate * page, page))) probe = candidate;
                }
                if (probe is { } p)
                {
                    var address = at + (uint)(p * page);
                    await SlotDfu.Guard(() => session.DownloadAsync(address, padded.AsMemory(p * page, page), force, null, ct));
                    var back = await SlotDfu.Guard(() => session.UploadAsync(address, page, null, ct));
                    if (back.AsSpan().SequenceEqual(before.AsSpan(p * page, page)))
                        throw new LoopRigFault(FailureModes.BootloaderProtected,
                            $"bootloader pages 0-15 are write-protected by the Core's option bytes: page {p} (0x{address:X8}) is unchanged after an erase and write the DFU reported as done; nothing was changed. Flash bootloaders only on Cores with an unlocked bootloader (a rig prepared for bootloader soaks)");
                    if (SlotDfu.Difference(padded.AsSpan(p * page, page), back, address) is { } probeDiff)
                        throw new LoopFailure(FailureModes.BootloaderVerifyFailed,
                            $"bootloader page {p} reads back neither as before nor as written ({probeDiff}); the Core is left in DFU, not reset");
                    log.Add($"page {p} (0x{address:X8}) took the new bytes: pages 0-15 are not write-protected");
                }

                await SlotDfu.Guard(() => session.DownloadAsync(at, image, force, null, ct));
                var written = await SlotDfu.Guard(() => session.UploadAsync(at, image.Length, null, ct));
                if (SlotDfu.Difference(image, written, at) is { } diff)
                    throw new LoopFailure(FailureModes.BootloaderVerifyFailed,
                        $"the bootloader read back differs from the {image.Length}-byte image ({diff}); the Core is left in DFU, not reset (it would not boot)");
                log.Add($"{image.Length} bytes written at 0x{at:X8} and read back");
                await SlotDfu.Guard(() => session.LeaveAsync(null, ct));
            }

            // the new bootloader runs from this reset: flags 0x5000, so it boots the app
            var where = await SlotDfu.AfterLeaveAsync(context, slot, deviceId, AppTimeout, ct);
            return where switch
            {
                CoreWhereabouts.Listening or CoreWhereabouts.Connected => $"{image.Length}-byte bootloader written at 0x{at:X8}, read back, Core back on its app ({where})",
                CoreWhereabouts.Dfu => throw new LoopFailure(FailureModes.StuckInDfu, "after the new bootloader the Core is in DFU (flashing yellow), not on its app"),
                _ => throw new LoopFailure(FailureModes.Bricked,
                    $"after the new bootloader the Core shows nothing within {AppTimeout.TotalSeconds:0} s: no DFU, no serial port, not on the cloud (the image does not run)"),
            };
        }, ct);
    }
}
