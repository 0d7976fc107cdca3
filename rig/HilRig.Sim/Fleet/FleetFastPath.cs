using System.Globalization;
using HilRig.Core.Config;
using HilRig.Core.Procedures;
using HilRig.Core.Results;
using HilRig.Core.Spark;
using HilRig.Core.Seeded;

namespace HilRig.Sim.Fleet;

/// <summary>What the fast path wrote.</summary>
public sealed record FleetSummary(int Devices, long Results, int ScreenRuns, int SoakRuns);

/// <summary>
/// The fleet's fast path: writes the rows the real procedures would write (same tests, verdicts, failure modes,
/// signature text built by the same <see cref="BitErrorMap"/>, evidence in the same JSON shape) straight into the
/// store, without simulating USB and flash timing, so millions of results take minutes instead of days.
/// What it models: a slow chip passes with a longer device time (as the simulated readback does); stuck cells
/// and bad sectors fail with their bit-error map; a dead chip fails as a flash that never finishes an erase;
/// rig faults (USB) happen on 0.3 % of first attempts, and on 8 % in one worn slot, and are retested in
/// the next slot; half of the failed units are retested and fail again (a bad chip does not heal). Soaked devices
/// get one row per cycle on BL13 or BL14, BL13 leaving a Core stuck in DFU more often.
/// Evidence is stored for failed and rig-fault attempts only; its bit-error maps count the defective cells, not
/// every byte compared.
/// </summary>
public sealed class FleetFastPath(FleetPlan plan, int slotCount)
{
    /// <summary>When the simulated production starts: a fixed date, so the same seed gives the same rows.</summary>
    public static readonly DateTimeOffset Epoch = new(2014, 1, 6, 0, 0, 0, TimeSpan.Zero);

    public const string SoakTest = Core.Procedures.SoakRunner.CycleTest;
    public const int DevicesPerRun = 1000;
    private const double RigFaultRate = 0.003;
    private const double WornSlotRigFaultRate = 0.08;
    private static readonly TimeSpan HealthyReadback = TimeSpan.FromMilliseconds(17022);
    private static readonly TimeSpan SlowPerFactor = TimeSpan.FromMilliseconds(8820);

    /// <summary>The slot whose worn pogo pins cause most USB faults (slot health should point at it).</summary>
    public int WornSlot { get; } = 1 + (int)(FleetPlan.Mix(plan.Options.Seed, -2) % (ulong)slotCount);

    /// <summary>Writes the whole fleet's history into the store in one transaction (<see cref="ResultRecorder.BulkLoadHistory"/>).</summary>
    /// <param name="phaseEnded">Told each phase of the load as it ends (for the benches, which time them).</param>
    public FleetSummary WriteTo(ResultsStore store, string rigId, Action<string>? phaseEnded = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        store.ImportDevices(plan.Devices().Select(d => d.ToInventory()), Epoch);
        var options = plan.Options;
        var screenRuns = (options.Cores + DevicesPerRun - 1) / DevicesPerRun;
        var runIds = new Guid[screenRuns];
        for (var i = 0; i < screenRuns; i++)
        {
            var start = BatchStart(i * DevicesPerRun);
            runIds[i] = store.StartRun(new RunInfo(rigId, "fleet-fast-path", options.Seed, "BL14", "screen", start));
        }
        var soakRuns = new Dictionary<string, Guid>(StringComparer.Ordinal);
        if (options.SoakCycles > 0)
        {
            foreach (var bl in new[] { "BL13", "BL14" })
                soakRuns[bl] = store.StartRun(new RunInfo(rigId, "fleet-fast-path", options.Seed, bl, "soak", BatchStart(options.Cores)));
        }

        long results = 0;
        IEnumerable<(Guid, SlotFinding)> History()
        {
            foreach (var device in plan.Devices())
            {
                var run = runIds[device.Index / DevicesPerRun];
                foreach (var finding in Screen(device))
                {
                    results++;
                    yield return (run, finding);
                }
                if (options.SoakCycles > 0 && device.Index % options.SoakEvery == 0)
                {
                    foreach (var cycle in Soak(device, soakRuns))
                    {
                        results++;
                        yield return cycle;
                    }
                }
            }
        }
        ResultRecorder.BulkLoadHistory(store, History(), phaseEnded);
        for (var i = 0; i < screenRuns; i++)
            store.FinishRun(runIds[i], RunStatus.Failed, BatchStart(Math.Min(options.Cores, (i + 1) * DevicesPerRun)));
        foreach (var run in soakRuns.Values)
            store.FinishRun(run, RunStatus.Failed, BatchStart(options.Cores) + TimeSpan.FromHours(options.SoakCycles));
        return new FleetSummary(options.Cores, results, screenRuns, soakRuns.Count);
    }

    // A rig screens slotCount Cores at a time, about 25 s per batch.
    private DateTimeOffset BatchStart(int deviceIndex) => Epoch + TimeSpan.FromSeconds(25.0 * (deviceIndex / slotCount));

    /// <summary>The screening attempts of one device: a rig fault retested, a failure sometimes retested.</summary>
    public IEnumerable<SlotFinding> Screen(FleetDevice device)
    {
        var rng = new SplitMix64(FleetPlan.Mix(plan.Options.Seed, device.Index + 0x4000_0000L));
        var slot = 1 + (device.Index % slotCount);
        var at = BatchStart(device.Index);
        var attempt = 1;
        var faultRate = slot == WornSlot ? WornSlotRigFaultRate : RigFaultRate;
        if (rng.NextDouble() < faultRate)
        {
            yield return RigFault(device, slot, attempt++, at);
            slot = 1 + (slot % slotCount);
            at += TimeSpan.FromSeconds(25);
        }
        var outcome = Readback(device, ref rng);
        yield return Record(device, slot, attempt++, at, outcome);
        if (outcome.Verdict == Verdict.Fail && rng.NextDouble() < 0.5)
        {
            slot = 1 + (slot % slotCount);
            at += TimeSpan.FromSeconds(25);
            yield return Record(device, slot, attempt, at, outcome);
        }
    }

    private static SlotFinding Record(FleetDevice device, int slot, int attempt, DateTimeOffset at, Outcome o) =>
        new(slot, device.DeviceId, Screening.TestName, o.Verdict, o.FailureMode, o.Signature, at, at + o.DeviceTime, o.DeviceTime, o.Evidence) { Attempt = attempt };

    private static SlotFinding RigFault(FleetDevice device, int slot, int attempt, DateTimeOffset at)
    {
        var signature = "USB failed during readback: LIBUSB_ERROR_PIPE on control transfer (the Core dropped off the hub port)";
        var evidence = new Evidence(SparkIdentity.DfuSerial(device.DeviceId), "readback", signature);
        var time = TimeSpan.FromMilliseconds(6100);
        return new SlotFinding(slot, device.DeviceId, Screening.TestName, Verdict.RigFault, FailureModes.UsbTransport, signature, at, at + time, time, evidence)
            { Attempt = attempt };
    }

    private readonly record struct Outcome(Verdict Verdict, string? FailureMode, string Signature, TimeSpan DeviceTime, Evidence? Evidence);

    private static Outcome Readback(FleetDevice device, ref SplitMix64 rng)
    {
        switch (device.Flash)
        {
            case FlashCondition.Slow slow:
                return new Outcome(Verdict.Pass, null, "no bit errors", HealthyReadback + (SlowPerFactor * (slow.Factor - 1)), null);
            case FlashCondition.Dead:
                return new Outcome(Verdict.Fail, FailureModes.BadExternalFlash,
                    $"SPI flash never finishes the erase of factory (0x{SparkMemoryMap.FactoryRegion.Start:X6}), again after a power cycle: BUSY stays set (dead or hung chip)",
                    TimeSpan.FromMilliseconds(20256),
                    new Evidence(SparkIdentity.DfuSerial(device.DeviceId), "restore factory (retry)", "erase of factory never finished"));
            case FlashCondition.StuckBits stuck:
                return BitErrors(device, StuckCells(stuck.Count, ref rng), [], ref rng);
            case FlashCondition.BadSectors sectors:
                return BitErrors(device, [], BadSectorList(sectors.Count, ref rng), ref rng);
            default:
                return new Outcome(Verdict.Pass, null, "no bit errors", HealthyReadback, null);
        }
    }

    private static List<(uint Address, int Bit, bool AtOne)> StuckCells(int count, ref SplitMix64 rng)
    {
        var cells = new List<(uint, int, bool)>(count);
        var span = FlashCondition.StuckBitsEnd - FlashCondition.StuckBitsStart;
        for (var i = 0; i < count; i++)
            cells.Add((FlashCondition.StuckBitsStart + (uint)(rng.Next() % span), (int)(rng.Next() % 8), (rng.Next() & 2) != 0));
        return cells;
    }

    private static List<uint> BadSectorList(int count, ref SplitMix64 rng)
    {
        var sectors = new SortedSet<uint>();
        var first = FlashCondition.StuckBitsStart / FlashCondition.SectorSize;
        var n = (FlashCondition.StuckBitsEnd - FlashCondition.StuckBitsStart) / FlashCondition.SectorSize;
        while (sectors.Count < count)
            sectors.Add((first + (uint)(rng.Next() % n)) * FlashCondition.SectorSize);
        return [.. sectors];
    }

    /// <summary>Builds the bit-error maps the readback would: erase pass (0xFF expected), zeros pass (0x00 expected).</summary>
    private static Outcome BitErrors(FleetDevice device, List<(uint Address, int Bit, bool AtOne)> cells, List<uint> badSectors, ref SplitMix64 rng)
    {
        var all = new BitErrorMap(SparkMemoryMap.SpiSectorSize);
        var regions = new List<RegionReadback>();
        var zeros = new byte[16];
        foreach (var region in SparkMemoryMap.ImageRegions)
        {
            var map = new BitErrorMap(SparkMemoryMap.SpiSectorSize);
            foreach (var (address, bit, atOne) in cells.Where(c => region.Contains(c.Address)).OrderBy(c => c.Address))
            {
                var mask = (byte)(1 << bit);
                if (atOne)
                {
                    // A cell stuck at 1 reads 1 after 0 is programmed.
                    var block = new byte[16];
                    block[address % 16] = mask;
                    map.Compare(address / 16 * 16, zeros, block);
                    all.Compare(address / 16 * 16, zeros, block);
                }
                else
                {
                    byte[] erased = [0xFF];
                    byte[] read = [(byte)(0xFF & ~mask)];
                    map.Compare(address, erased, read, afterErase: true);
                    all.Compare(address, erased, read, afterErase: true);
                }
            }
            var restoreVerified = true;
            foreach (var sector in badSectors.Where(region.Contains))
            {
                // A sector that does not erase leaves a different scatter of 0 bits on each erase.
                var erased = new byte[FlashCondition.SectorSize];
                Array.Fill(erased, (byte)0xFF);
                var read = (byte[])erased.Clone();
                var bits = 10 + (int)(rng.Next() % 8);
                for (var i = 0; i < bits; i++)
                    read[rng.Next() % (ulong)read.Length] &= (byte)~(1 << (int)(rng.Next() % 8));
                map.Compare(sector, erased, read, afterErase: true);
                all.Compare(sector, erased, read, afterErase: true);
                map.MarkEraseUnstable(sector);
                all.MarkEraseUnstable(sector);
                restoreVerified = false;
            }
            regions.Add(new RegionReadback(region.Name, $"0x{region.Start:X6}", region.Length, map.Clean && restoreVerified, restoreVerified,
                map.Signature(), map.ToSummary(), 4276));
        }
        var signature = $"{all.Signature()} [{string.Join("; ", regions.Where(r => !r.Pass).Select(r => $"{r.Region}: {r.BitErrors.ErrorBits} bit(s){(r.RestoreVerified ? "" : ", original content could not be restored")}"))}]";
        var time = TimeSpan.FromMilliseconds(17230);
        var readback = new DfuReadbackResult(Verdict.Fail, FailureModes.BadExternalFlash, signature, regions, all.ToSummary(), time, null);
        var evidence = new Evidence(SparkIdentity.DfuSerial(device.DeviceId), "done", Readback: readback);
        return new Outcome(Verdict.Fail, FailureModes.BadExternalFlash, signature, time, evidence);
    }

    /// <summary>What the LED observer sees when a Core stays in DFU after :leave: the app never starts.</summary>
    private static readonly Evidence StuckInDfuTimeline = new(Led:
    [
        new LedEvidence(0, 1.8, "flashing yellow", 0.97),
        new LedEvidence(1.8, 1.95, "off", 0.99),
        new LedEvidence(1.95, 30, "flashing yellow", 0.97),
    ]);

    /// <summary>One row per soak cycle (test "soak"): BL13 leaves a Core stuck in DFU more often than BL14; a bad chip fails more cycles.</summary>
    public IEnumerable<(Guid RunId, SlotFinding Finding)> Soak(FleetDevice device, IReadOnlyDictionary<string, Guid> runs)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(runs);
        var rng = new SplitMix64(FleetPlan.Mix(plan.Options.Seed, device.Index + 0x6000_0000L));
        var bootloader = device.Index / plan.Options.SoakEvery % 2 == 0 ? "BL13" : "BL14";
        var runId = runs[bootloader];
        var slot = 1 + (device.Index % slotCount);
        var stuckRate = bootloader == "BL13" ? 0.004 : 0.001;
        var flashRate = device.Flash is FlashCondition.HealthyFlash or FlashCondition.Slow ? 0 : 0.05;
        var start = BatchStart(plan.Options.Cores) + TimeSpan.FromSeconds(device.Index % 997);
        var cycleTime = TimeSpan.FromSeconds(42);
        for (var cycle = 1; cycle <= plan.Options.SoakCycles; cycle++)
        {
            var at = start + (cycleTime * (cycle - 1));
            var u = rng.NextDouble();
            var (verdict, mode, signature) =
                u < 0.0005 ? (Verdict.RigFault, FailureModes.UsbTransport, "USB failed during leave DFU: device not found after port reset")
                : (u -= 0.0005) < stuckRate ? (Verdict.Fail, FailureModes.StuckInDfu, string.Create(CultureInfo.InvariantCulture, $"stayed in DFU after :leave in cycle {cycle} (LED flashing yellow)"))
                : (u -= stuckRate) < flashRate ? (Verdict.Fail, FailureModes.BadExternalFlash, string.Create(CultureInfo.InvariantCulture, $"factory reset restored a corrupt image in cycle {cycle}"))
                : (Verdict.Pass, (string?)null, (string?)null);
            yield return (runId, new SlotFinding(slot, device.DeviceId, SoakTest, verdict, mode, signature, at, at + cycleTime, cycleTime,
                verdict == Verdict.Fail && mode == FailureModes.StuckInDfu ? StuckInDfuTimeline : null) { Cycle = cycle, Attempt = 1 });
        }
    }
}
