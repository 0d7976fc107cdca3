using System.Diagnostics;
using HilRig.Core.Slots;
using HilRig.Tests.Cli;

namespace HilRig.Tests.Slots;

/// <summary>
/// One process drives a slot at a time: a second hilrig on the same slots waits (--wait) or is refused naming the
/// holder, slots held by others are left alone (their simulated flash included), and a lease dies with its process.
/// </summary>
[Category("Integration")]
[NonParallelizable]
public class SlotLeaseTests
{
    private static readonly int[] Rig = [1, 2, 3, 4, 5, 6, 7, 8];

    private static string NewFolder() => Directory.CreateTempSubdirectory("hilrig-lease-").FullName;

    [Test]
    public async Task Slot_leases_exclude_the_same_slot_and_the_whole_rig_but_not_other_slots()
    {
        var dir = NewFolder();
        using var three = await SlotLease.AcquireAsync(dir, [3], Rig, "hilrig screen --slots 3", TimeSpan.Zero, TimeProvider.System);

        using (await SlotLease.AcquireAsync(dir, [4, 5], Rig, "hilrig screen --slots 4-5", TimeSpan.Zero, TimeProvider.System))
        {
            // another slot is free
        }
        var same = Assert.ThrowsAsync<SlotBusyException>(() => SlotLease.AcquireAsync(dir, [2, 3], Rig, "hilrig screen --slots 2-3", TimeSpan.Zero, TimeProvider.System));
        Assert.That(same!.Message, Does.StartWith($"slot 3 is held by pid {Environment.ProcessId} (hilrig screen --slots 3) since "));
        var whole = Assert.ThrowsAsync<SlotBusyException>(() => SlotLease.AcquireAsync(dir, null, Rig, "hilrig doctor", TimeSpan.Zero, TimeProvider.System));
        Assert.That(whole!.Message, Does.StartWith("slot 3 is held by"));
        Assert.That(whole.Holders.Single().Command, Is.EqualTo("hilrig screen --slots 3"));

        // all or nothing: the refused claim on 2-3 left slot 2 free
        using (await SlotLease.AcquireAsync(dir, [2], Rig, "hilrig power on --slot 2", TimeSpan.Zero, TimeProvider.System)) { }

        three.Dispose();
        using var rig = await SlotLease.AcquireAsync(dir, null, Rig, "hilrig doctor", TimeSpan.Zero, TimeProvider.System);
        var slot = Assert.ThrowsAsync<SlotBusyException>(() => SlotLease.AcquireAsync(dir, [7], Rig, "hilrig power off --slot 7", TimeSpan.Zero, TimeProvider.System));
        Assert.That(slot!.Message, Does.StartWith("the whole rig is held by pid").And.Contain("(hilrig doctor)"));
    }

    [Test]
    public async Task A_second_command_on_a_held_slot_is_refused_with_exit_4_naming_the_holder_and_the_lease_dies_with_its_process()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        using var holder = StartHilrig("led", "watch", "--slot", "3", "--seconds", "60", "--config", config);
        await WaitUntilHeldAsync(config, 3, holder);

        var (exit, output, error) = CliHarness.Run("power", "off", "--slot", "3", "--config", config);
        Assert.That(exit, Is.EqualTo(4), error);
        Assert.That(output, Is.Empty, "the refused command drove nothing");
        Assert.That(error.Trim(), Does.Match($@"^hilrig: slot 3 is held by pid {holder.Id} \(hilrig led watch --slot 3 --seconds 60 --config .*\) since \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC; give --wait SECONDS to wait for it$"));
        Assert.That(CliHarness.Run("doctor", "--config", config).Exit, Is.EqualTo(4), "whole-rig work waits for every slot");

        // another slot is free meanwhile
        var other = CliHarness.Run("power", "on", "--slot", "4", "--config", config);
        Assert.That(other.Exit, Is.Zero, other.Error);

        holder.Kill(); // SIGKILL: no clean-up runs, the kernel drops the lock
        await holder.WaitForExitAsync();
        var after = CliHarness.Run("power", "on", "--slot", "3", "--config", config);
        Assert.That(after.Exit, Is.Zero, after.Error);
    }

    [Test]
    public async Task Wait_lets_a_command_run_once_the_holder_is_done()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        using var holder = StartHilrig("led", "watch", "--slot", "2", "--seconds", "4", "--config", config);
        await WaitUntilHeldAsync(config, 2, holder);

        var (exit, output, error) = CliHarness.Run("power", "on", "--slot", "2", "--wait", "120", "--config", config);

        Assert.That(exit, Is.Zero, error);
        Assert.That(holder.HasExited, Is.True, "ran only after the holder let go");
        Assert.That(output, Does.Contain("slot 2: power on"));
    }

    [Test]
    public async Task A_dfu_download_on_one_slot_is_kept_while_another_process_holds_other_slots()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        var dir = Path.GetDirectoryName(config)!;
        var image = Path.Combine(dir, "pattern.bin");
        var pattern = Enumerable.Range(0, 4096).Select(i => (byte)(i * 7 + 1)).ToArray();
        await File.WriteAllBytesAsync(image, pattern);
        // a session over slot 1 that outlives the download; before leases it saved every slot's flash when it ended
        using var holder = StartHilrig("led", "watch", "--slot", "1", "--seconds", "60", "--config", config);
        await WaitUntilHeldAsync(config, 1, holder);

        var down = CliHarness.Run("dfu", "download", "--slot", "3", "--alt", "1", "--address", "0x80000", image, "--config", config);
        Assert.That(down.Exit, Is.Zero, down.Error);
        Assert.That(PosixSignals.Terminate(holder.Id), Is.Zero);
        await holder.WaitForExitAsync();

        var back = Path.Combine(dir, "back.bin");
        var up = CliHarness.Run("dfu", "upload", "--slot", "3", "--alt", "1", "--address", "0x80000", "--length", "4096", back, "--config", config);
        Assert.That(up.Exit, Is.Zero, up.Error);
        SameBytes.AssertEqual(await File.ReadAllBytesAsync(back), pattern, "the other process's saved state did not revert slot 3");
    }

    [Test]
    public async Task Concurrent_screens_on_the_same_slots_take_turns_and_all_finish()
    {
        var config = TestRigs.WriteConfig(TestRigs.DefaultCores());
        var screens = Enumerable.Range(0, 4)
            .Select(_ => StartHilrig("screen", "--readback-only", "--slots", "1-2", "--wait", "300", "--format", "json", "--config", config)).ToList();
        try
        {
            var results = await Task.WhenAll(screens.Select(async p =>
            {
                var error = p.StandardError.ReadToEndAsync();
                var output = await p.StandardOutput.ReadToEndAsync();
                await p.WaitForExitAsync();
                return (p.ExitCode, output, Error: await error);
            }));
            foreach (var (code, output, error) in results)
            {
                Assert.That(code, Is.Zero, error);
                Assert.That(output, Does.Contain("\"verdict\": \"pass\""));
                Assert.That(error, Does.Not.Contain("   at "), "no stack trace");
            }
        }
        finally
        {
            foreach (var p in screens) p.Dispose();
        }
    }

    private static Process StartHilrig(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(TestContext.CurrentContext.TestDirectory, "hilrig.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        return Process.Start(start)!;
    }

    /// <summary>Until the child holds the slot (its name is in the slot's lock file and the lock is taken).</summary>
    private static async Task WaitUntilHeldAsync(string config, int slot, Process holder)
    {
        var file = SlotLease.SlotFile(Path.Combine(Path.GetDirectoryName(config)!, "results", "locks"), slot);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (SlotLease.HolderOf(file)?.Pid != holder.Id)
        {
            Assert.That(holder.HasExited, Is.False, () => $"the holder ended early: {holder.StandardError.ReadToEnd()}");
            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System, timeout.Token);
        }
    }
}
