using System.CommandLine;
using System.Globalization;
using HilRig.Composition;
using HilRig.Core.Dfu;
using HilRig.Core.Spark;
using HilRig.Core.Slots;
using HilRig.Core.Usb;

namespace HilRig.Cli.Commands;

/// <summary>
/// `hilrig dfu list|upload|download`: dfu-util's jobs for one slot, so the seed thread's commands have equivalents:
/// `dfu-util -d 1d50:607f -a 1 -s 0x00020000 -D image.bin` is `hilrig dfu download --slot 3 --alt 1 --address 0x00020000 image.bin`.
/// The slot's Core is put into DFU with its MODE/RESET lines first when it is not there already.
/// </summary>
internal static class DfuCommand
{
    public static Command Build()
    {
        var dfu = new Command("dfu", "DFU list/upload/download on a slot, like dfu-util (list puts every selected Core into DFU)");
        dfu.Subcommands.Add(BuildList());
        dfu.Subcommands.Add(BuildTransfer(upload: true));
        dfu.Subcommands.Add(BuildTransfer(upload: false));
        return dfu;
    }

    private static Command BuildList()
    {
        var config = CommonOptions.Config();
        var slots = CommonOptions.Slots("slots whose Cores to put into DFU and list");
        var command = new Command("list", "put every selected slot's Core into DFU (MODE held through RESET; it stays in DFU until reset or power-cycled) and list every DFU alt setting, like dfu-util -l");
        command.Options.Add(config);
        slots.AddTo(command);
        command.SetAction((parse, ct) => WithRig(parse, parse.GetValue(config)!, async (session, output, err) =>
        {
            var selected = session.Select(slots.Get(parse));
            var found = await session.RunAsync(async () =>
            {
                await Task.WhenAll(selected.Select(s => Choreography.EnterDfuAsync(s, session.Usb, session.Time, ct)));
                return await DfuSeHost.ListAsync(session.Usb, ct);
            });
            if (found.Count == 0)
            {
                err.WriteLine("hilrig: no DFU capable USB device available");
                return ExitCodes.RigFault;
            }
            foreach (var d in found)
            {
                var slot = session.Slots.FirstOrDefault(s => s.UsbPath == d.Path);
                // dfu-util's words, wrapped to the terminal (continuation lines indented)
                output.WriteLine(TextWrap.Paragraph($"Found DFU: [{d.VidPid}] ver={d.BcdDevice:x4}, path=\"{d.Path}\", alt={d.Alt}, name=\"{d.Name}\", serial=\"{d.Serial}\"{(slot is null ? "" : $" (slot {slot.Number})")}", Terminal.Width(output), "    "));
            }
            return ExitCodes.Ok;
        }, RigClaim.Slots(parse, slots.Get(parse))));
        return command;
    }

    private static Command BuildTransfer(bool upload)
    {
        var config = CommonOptions.Config();
        var slot = CommonOptions.OneSlot("the slot whose Core to talk to");
        var alt = new Option<int>("--alt", "-a") { Description = "alt setting: 0 internal flash, 1 SPI flash", DefaultValueFactory = _ => 1 };
        var address = new Option<string>("--address", "-s") { Description = "start address, e.g. 0x00020000", Required = true };
        var length = new Option<string?>("--length") { Description = "bytes to read (default: to the end of the memory segment)" };
        var allowKeys = new Option<bool>("--allow-keys") { Description = "allow writing the key region 0x0000-0x1FFFF of the SPI flash" };
        var leave = new Option<bool>("--leave") { Description = "leave DFU afterwards: the Core resets and boots its app (dfu-util's :leave)" };
        var file = new Argument<FileInfo>("FILE") { Description = upload ? "where to write what was read" : "the binary to write" };
        var command = new Command(upload ? "upload" : "download", upload ? "read flash into FILE (dfu-util -U)" : "write FILE to flash (dfu-util -D)");
        command.Options.Add(config);
        slot.AddTo(command);
        command.Options.Add(alt);
        command.Options.Add(address);
        if (upload) command.Options.Add(length);
        else command.Options.Add(allowKeys);
        command.Options.Add(leave);
        command.Arguments.Add(file);
        command.SetAction((parse, ct) =>
        {
            var err = parse.InvocationConfiguration.Error;
            if (!TryParseNumber(parse.GetValue(address)!, "--address", err, out var start)) return Task.FromResult(ExitCodes.BadInput);
            long? count = null;
            if (upload && parse.GetValue(length) is { } lengthText)
            {
                if (!TryParseNumber(lengthText, "--length", err, out var n)) return Task.FromResult(ExitCodes.BadInput);
                if (n == 0)
                {
                    err.WriteLine("hilrig: --length 0: valid: a number of bytes, 1 or more");
                    return Task.FromResult(ExitCodes.BadInput);
                }
                count = n;
            }
            var path = parse.GetValue(file)!;
            byte[]? data = null;
            if (!upload)
            {
                if (!path.Exists)
                {
                    err.WriteLine($"hilrig: {path}: no such file");
                    return Task.FromResult(ExitCodes.BadInput);
                }
                data = File.ReadAllBytes(path.FullName);
                if (data.Length == 0)
                {
                    err.WriteLine($"hilrig: {path}: empty file, nothing to download");
                    return Task.FromResult(ExitCodes.BadInput);
                }
            }
            return WithRig(parse, parse.GetValue(config)!, async (session, output, err) =>
            {
                var rigSlot = session.Slot(slot.GetOne(parse));
                var altSetting = parse.GetValue(alt);
                return await session.RunAsync(async () =>
                {
                    await Choreography.EnterDfuAsync(rigSlot, session.Usb, session.Time, ct);
                    using var dfu = await DfuSeHost.OpenAsync(session.Usb, rigSlot.UsbPath, session.Time, null, ct);
                    if (dfu.AltSettings.All(a => a.Alt != altSetting))
                    {
                        err.WriteLine($"hilrig: --alt {altSetting}: valid: {string.Join(", ", dfu.AltSettings.Select(a => $"{a.Alt} ({a.Name.Trim()})"))}");
                        return ExitCodes.BadInput;
                    }
                    await dfu.SelectAltAsync(altSetting, ct);
                    var started = session.Time.GetTimestamp();
                    // on a terminal a transfer bar (bytes, rate on the rig's clock); redirected only the closing line
                    var bar = TransferBar.CanDraw(err) ? new TransferBar(err, session.Time, $"slot {rigSlot.Number}") : null;
                    if (upload)
                    {
                        var n = (int)(count ?? SegmentRemainder(dfu, (uint)start));
                        var bytes = await dfu.UploadAsync((uint)start, n, bar, ct);
                        FileOutput.WriteAtomically(path.FullName, bytes);
                        err.WriteLine($"Upload done: {bytes.Length} bytes from 0x{start:X8} (slot {rigSlot.Number}, {dfu.Serial}) to {path}, device time {session.Time.GetElapsedTime(started).TotalSeconds:0.000} s");
                    }
                    else
                    {
                        var (checkedData, bad) = ImageChecks.ForDownload(data!, altSetting, (uint)start, path.ToString());
                        if (bad is not null)
                        {
                            err.WriteLine($"hilrig: {bad}");
                            return ExitCodes.BadInput;
                        }
                        // the pages about to be erased go to the journal first: a crash mid-write leaves nothing half-written
                        var (spanStart, spanEnd) = PartialPageWrite.PageSpan(dfu, (uint)start, checkedData!.Length);
                        var original = await dfu.UploadAsync(spanStart, (int)(spanEnd - spanStart), null, ct);
                        var journal = JournalSupport.Journal(session.Config).Begin(rigSlot.Number, rigSlot.UsbPath, dfu.Serial, null, "dfu download", session.Time.GetUtcNow());
                        journal.Save($"alt {altSetting} 0x{spanStart:X8}", altSetting, spanStart, original);
                        // an unaligned start or end: the rest of the first and last sector is read and written back
                        int kept;
                        try
                        {
                            kept = await PartialPageWrite.DownloadAsync(dfu, (uint)start, checkedData!, new DfuDownloadOptions { AllowKeyRegion = parse.GetValue(allowKeys) }, bar, ct);
                        }
                        catch (DfuRequestRefusedException)
                        {
                            journal.Complete(); // refused before anything was erased
                            throw;
                        }
                        journal.Complete();
                        err.WriteLine($"Download done: {checkedData!.Length} bytes to 0x{start:X8} (slot {rigSlot.Number}, {dfu.Serial}){(kept > 0 ? $", {kept} byte(s) of the partial sectors around it read and written back unchanged" : "")}, device time {session.Time.GetElapsedTime(started).TotalSeconds:0.000} s");
                    }
                    if (parse.GetValue(leave)) await dfu.LeaveAsync(null, ct);
                    return ExitCodes.Ok;
                });
            }, RigClaim.OneSlot(parse, slot.GetOne(parse)));
        });
        return command;
    }

    private static long SegmentRemainder(DfuSeSession dfu, uint start)
    {
        var segment = dfu.SelectedAlt.MemoryLayout.FindSegment(start)
            ?? throw new DfuRequestRefusedException($"0x{start:X8} lies in no memory segment of alt {dfu.SelectedAlt.Alt} ({dfu.SelectedAlt.Name.Trim()}); give --length");
        return segment.End - start;
    }

    private static async Task<int> WithRig(ParseResult parse, FileInfo configFile, Func<RigSession, TextWriter, TextWriter, Task<int>> action, RigClaim claim)
    {
        var output = parse.InvocationConfiguration.Output;
        var err = parse.InvocationConfiguration.Error;
        if (!ConfigLoading.TryLoad(configFile, err, out var config)) return ExitCodes.BadInput;
        using var open = RigOpening.Open(config, err, RigOpening.PersistentSim(config), claim);
        if (open.Session is not { } session) return open.ExitCode;
        try
        {
            return await action(session, output, err);
        }
        catch (FormatException ex)
        {
            err.WriteLine($"hilrig: {ex.Message}");
            return ExitCodes.BadInput;
        }
        catch (DfuRequestRefusedException ex)
        {
            err.WriteLine($"hilrig: refused: {ex.Message}");
            return ExitCodes.BadInput;
        }
        catch (Core.Procedures.JournalPendingException ex)
        {
            err.WriteLine($"hilrig: {ex.Message}");
            return ExitCodes.RigFault;
        }
        catch (Exception ex) when (ex is UsbException or DfuException or ChoreographyException)
        {
            err.WriteLine($"hilrig: rig fault: {ex.Message}");
            return ExitCodes.RigFault;
        }
    }

    /// <summary>0x-prefixed hex or decimal, as dfu-util users write addresses and lengths.</summary>
    internal static bool TryParseNumber(string text, string option, TextWriter err, out long value)
    {
        var t = text.Trim();
        var ok = t.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? long.TryParse(t[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value)
            : long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        if (!ok || value < 0 || value > uint.MaxValue)
        {
            err.WriteLine($"hilrig: {option} '{text}': valid: a number such as 0x00020000 or 131072");
            value = 0;
            return false;
        }
        return true;
    }
}
