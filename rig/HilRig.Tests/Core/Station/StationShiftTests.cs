using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using HilRig.Cli.Station;
using HilRig.Core.Procedures;
using HilRig.Core.Station;

namespace HilRig.Tests.Station;

/// <summary>
/// Issue 17's must-show: a shift on the simulated 16-slot line in virtual time, with bad chips mixed in; the station
/// stopped as by SIGTERM in the middle (a slot mid-readback) and restarted on the same line and store.
/// </summary>
[NonParallelizable]
[Category("Integration")] // serves the station page on a loopback port
public partial class StationShiftTests
{
    [GeneratedRegex("id=\"yield\" data-f=\"yield\" data-value=\"([^\"]*)\"")]
    private static partial Regex YieldOnPage();

    private static async Task<double> PageYield(Microsoft.AspNetCore.Builder.WebApplication web)
    {
        using var http = new HttpClient();
        var html = await http.GetStringAsync(new Uri(HilRig.Dashboard.DashboardApp.Addresses(web)[0] + "/"));
        return double.Parse(YieldOnPage().Match(html).Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [Test]
    public async Task A_shift_of_208_Cores_on_16_slots_gives_every_Core_one_verdict_and_a_SIGTERM_and_restart_lose_nothing_and_harm_no_Core()
    {
        const int cores = 208;
        using var shift = SimulatedShift.Open(cores, lots: 4, badLots: 2, seed: 7, handling: 8);

        // first half of the shift; stopped while a slot is in the middle of its readback (destructive: it finishes it)
        var (first, recorder) = shift.StartStation(readbackOnly: true);
        var run = first.RunId;
        var inReadbackAtStop = new List<int>();
        await using (var web = StationWeb.Build(first.Board, "shift", "http://127.0.0.1:0"))
        {
            await web.StartAsync();
            shift.Run(first, () =>
            {
                var s = first.Board.Snapshot();
                if (s.Shift.Units < cores / 2) return false;
                inReadbackAtStop.AddRange(s.Tiles.Where(t => t.Step == "readback").Select(t => t.Slot));
                return inReadbackAtStop.Count > 0;
            }, TimeSpan.FromHours(3));
            await web.StopAsync();
        }
        recorder.Finish(Core.Results.RunStatus.Aborted);
        recorder.Dispose();
        var stoppedAt = shift.FinalRows(run, Screening.TestName).Count;
        Assert.That(inReadbackAtStop, Is.Not.Empty, "the stop came while a slot was writing a Core's regions");
        Assert.That(shift.OpenJournalsOfHealthyChips(), Is.Empty, "no Core left half-written: the slots mid-readback finished it before stopping");
        Assert.That(first.Station.Abandoned.Intersect(inReadbackAtStop), Is.Empty, "slots in a destructive step finish it");
        TestContext.Out.WriteLine($"stopped after {stoppedAt} verdicts; slot(s) {string.Join(",", inReadbackAtStop)} were in readback; abandoned {string.Join(",", first.Station.Abandoned)}");

        // the station restarted on the same line: the same shift goes on until the line runs out
        var (second, resumed) = shift.StartStation(readbackOnly: true, resume: run);
        Assert.That(second.Board.Snapshot().Shift.Units, Is.EqualTo(first.Board.Snapshot().Shift.Units), "the restarted page counts what was judged before");
        double pageYield;
        await using (var web = StationWeb.Build(second.Board, "shift", "http://127.0.0.1:0"))
        {
            await web.StartAsync();
            var took = shift.Run(second, () => shift.LineDone(second), TimeSpan.FromHours(6));
            TestContext.Out.WriteLine($"second half: {took.TotalMinutes:0.0} min of rig time");
            resumed.Flush();
            pageYield = await PageYield(web);
            await web.StopAsync();
        }
        resumed.Finish(Core.Results.RunStatus.Aborted);
        resumed.Dispose();

        var rows = shift.FinalRows(run, Screening.TestName);
        var judged = rows.Where(r => r.Verdict is "pass" or "fail").ToList();
        var snapshot = second.Board.Snapshot();
        TestContext.Out.WriteLine($"{rows.Count} final rows, {judged.Count} verdicts, {rows.Count - judged.Count} rig faults; page: {snapshot.Shift}");

        Assert.Multiple(() =>
        {
            Assert.That(shift.Arrived, Has.Count.EqualTo(cores), "the whole population went through the slots");
            // every Core exactly one final verdict
            Assert.That(judged.GroupBy(r => r.DeviceId).Where(g => g.Count() != 1).Select(g => $"{g.Key} x{g.Count()}"), Is.Empty);
            Assert.That(judged.Select(r => r.DeviceId).ToHashSet(), Is.EquivalentTo(shift.Arrived.Keys));
            var bad = shift.Arrived.Values.Where(a => SimulatedShift.IsBadChip(a.Device.Flash)).Select(a => a.Device.DeviceId).ToHashSet();
            Assert.That(bad, Has.Count.GreaterThanOrEqualTo(10), "bad chips were mixed in");
            var verdicts = judged.ToDictionary(r => r.DeviceId, r => r.Verdict);
            Assert.That(bad.Where(id => verdicts[id] != "fail"), Is.Empty, "every bad chip caught");
            Assert.That(verdicts.Where(v => !bad.Contains(v.Key) && v.Value != "pass").Select(v => v.Key), Is.Empty, "no healthy Core failed");

            // the page's yield is the store's
            var storeYield = (double)judged.Count(r => r.Verdict == "pass") / judged.Count;
            Assert.That(pageYield, Is.EqualTo(storeYield).Within(1e-12));
            Assert.That(snapshot.Shift.Units, Is.EqualTo(cores));

            // no harm: keys untouched on every Core; every Core that passed has its three image slots as it came
            foreach (var (id, arrived) in shift.Arrived)
            {
                var now = shift.HashesNow(id);
                Assert.That(now.Keys, Is.EqualTo(arrived.Hashes.Keys), $"keys area of {id}");
                if (verdicts[id] == "pass") Assert.That(now.Images, Is.EqualTo(arrived.Hashes.Images), $"factory, backup and OTA regions of {id}");
            }
            Assert.That(shift.OpenJournalsOfHealthyChips(), Is.Empty);
        });
    }
}
