using HilRig.Composition;
using HilRig.Core.Led;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Core.Slots;
using HilRig.Fixtures;

namespace HilRig.Tests.Suites;

/// <summary>
/// The result recorder and Allure writer under NUnit itself: a [Retry] keeps every attempt, and a report's LED
/// timeline and serial transcript become attachments. The procedure here is a scripted one (first attempt fails,
/// second passes) because what is tested is the recording, not a Core.
/// </summary>
[NonParallelizable]
[RigTestActions]
public class RecorderTests
{
    private static int _attempts;
    private string _allure = null!;
    private string _store = null!;

    private sealed class FlakyProcedure : ISlotProcedure
    {
        public string Test => "flaky";

        public Task<SlotReport> RunAsync(RigSession session, RigSlot slot, CancellationToken ct)
        {
            var attempt = Interlocked.Increment(ref _attempts);
            var led = new LedTimeline(
            [
                new LedSegment(TimeSpan.Zero, TimeSpan.FromSeconds(1), LedState.Dark, 1),
                new LedSegment(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), new LedState(LedColor.Yellow, LedPattern.Flashing), 0.9),
            ]);
            return Task.FromResult(new SlotReport(
                slot.Number, "55ff00000000000000000002", slot.Lot, Test,
                attempt == 1 ? Verdict.Fail : Verdict.Pass, attempt == 1 ? FailureModes.NoListeningMode : null,
                attempt == 1 ? "no listening mode within 10 s" : "listening", TimeSpan.FromSeconds(5),
                [new ProcedureStep("hold MODE", TimeSpan.Zero, TimeSpan.FromSeconds(5))],
                SerialTranscript: $"attempt {attempt}\r\nYour core id is 55ff00000000000000000002\r\n")
            { Led = led });
        }
    }

    [OneTimeSetUp]
    public void OpenRig()
    {
        var configPath = TestRigs.WriteConfig(TestRigs.DefaultCores());
        var folder = Path.GetDirectoryName(configPath)!;
        _allure = Path.Combine(folder, "allure-results");
        _store = Path.Combine(folder, "results", "hilrig.db");
        RigRun.Open(HilRig.Core.Config.RigConfigLoader.Load(configPath), _allure);
    }

    [OneTimeTearDown]
    public void CloseRig() => RigRun.Close();

    [Test, Order(1), Retry(3)]
    public async Task A_case_that_fails_once_then_passes()
    {
        await RigRun.RunAndJudgeAsync(new SlotCase(2, null, "SST25-1348A"), new FlakyProcedure());
    }

    [Test, Order(2)]
    public void Every_attempt_is_stored_and_reported_never_only_the_last()
    {
        var rows = ResultsStore.Open(_store).GetResults().Where(r => r.Test == "flaky").OrderBy(r => r.Attempt).ToList();
        Assert.That(rows.Select(r => (r.Attempt, r.Verdict)), Is.EqualTo(new[] { (1, Verdict.Fail), (2, Verdict.Pass) }));
        Assert.That(rows[0].FailureMode, Is.EqualTo(FailureModes.NoListeningMode));
        Assert.That(rows.Select(r => r.Slot), Is.All.EqualTo(2));

        var results = AllureFormat.Results(_allure).Where(r => r.GetProperty("name").GetString() == nameof(A_case_that_fails_once_then_passes)).ToList();
        Assert.That(results.Select(r => r.GetProperty("status").GetString()), Is.EquivalentTo(new[] { "failed", "passed" }));
        Assert.That(results.Select(r => r.GetProperty("historyId").GetString()).Distinct().Count(), Is.EqualTo(1), "Allure shows the first attempt as a retry of the same test");
        var failed = results.Single(r => r.GetProperty("status").GetString() == "failed");
        Assert.That(failed.GetProperty("statusDetails").GetProperty("message").GetString(), Does.StartWith("DUT failure (no-listening-mode)").And.Contain("LED timeline: 0.0-1.0 s off, 1.0-5.0 s flashing yellow"));
    }

    [Test, Order(3)]
    public void LED_timeline_and_serial_transcript_become_attachments()
    {
        var result = AllureFormat.Results(_allure).First(r => r.GetProperty("name").GetString() == nameof(A_case_that_fails_once_then_passes));
        var attachments = AllureFormat.Attachments(result).ToDictionary(a => a.GetProperty("name").GetString()!, a => a);
        Assert.That(attachments.Keys, Is.SupersetOf(new[] { "LED timeline", "LED strip chart", "serial transcript", "procedure log" }));

        var chart = attachments["LED strip chart"];
        Assert.That(chart.GetProperty("type").GetString(), Is.EqualTo("image/png"));
        var png = File.ReadAllBytes(Path.Combine(_allure, chart.GetProperty("source").GetString()!));
        Assert.That(png.Take(8), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), "a PNG file");
        Assert.That(png, Has.Length.GreaterThan(1000));

        var timeline = File.ReadAllText(Path.Combine(_allure, attachments["LED timeline"].GetProperty("source").GetString()!));
        Assert.That(timeline, Does.Contain("1.0-5.0 s flashing yellow"));
        var transcript = File.ReadAllText(Path.Combine(_allure, attachments["serial transcript"].GetProperty("source").GetString()!));
        Assert.That(transcript, Does.Contain("Your core id is"));
        Assert.That(result.GetProperty("steps")[0].GetProperty("name").GetString(), Is.EqualTo("hold MODE"));
    }
}
