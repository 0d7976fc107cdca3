using System.Globalization;
using HilRig.Core.Config;
using HilRig.Core.Inventory;
using HilRig.Core.Seeded;

namespace HilRig.Sim.Fleet;

/// <summary>What a simulated production history looks like.</summary>
/// <param name="Cores">Devices screened.</param>
/// <param name="Lots">Chip lots they come from.</param>
/// <param name="Seed">Same seed, same devices, lots, defects and rows.</param>
/// <param name="BadLots">Lots whose chips have high stuck-bit, bad-sector and slow rates.</param>
/// <param name="SoakCycles">Soak cycles run on each soaked device (0: no soak rows).</param>
/// <param name="SoakEvery">Every n-th device is soaked, half on BL13 and half on BL14.</param>
public sealed record FleetOptions(int Cores, int Lots, int Seed, int BadLots, int SoakCycles = 0, int SoakEvery = 10);

/// <summary>Chance of each external-flash defect in one chip of a lot.</summary>
public sealed record LotDefectRates(double StuckBits, double BadSectors, double Slow, double Dead)
{
    /// <summary>An ordinary lot: about one chip in a hundred fails screening.</summary>
    public static readonly LotDefectRates Good = new(0.006, 0.002, 0.004, 0.0005);

    /// <summary>A bad lot: about one chip in five fails screening.</summary>
    public static readonly LotDefectRates Bad = new(0.12, 0.06, 0.08, 0.01);

    public LotDefectRates Scaled(double factor) => new(StuckBits * factor, BadSectors * factor, Slow * factor, Dead * factor);
}

public sealed record FleetLot(string Name, string DateCode, string Supplier, bool Bad, LotDefectRates Rates);

/// <summary>One simulated Core of the fleet: who it is, which lot its flash chip came from, and what is wrong with it.</summary>
public sealed record FleetDevice(int Index, string DeviceId, FleetLot Lot, FlashCondition Flash)
{
    public DeviceLot ToInventory() => new(DeviceId, Lot.Name, Lot.DateCode, Lot.Supplier);
}

/// <summary>
/// A seeded population of Cores from chip lots, a few of them bad. Every device is derived from (seed, index)
/// alone, so the population streams in any size and the same seed always gives the same fleet.
/// </summary>
public sealed class FleetPlan
{
    private FleetPlan(FleetOptions options, IReadOnlyList<FleetLot> lots)
    {
        Options = options;
        Lots = lots;
    }

    public FleetOptions Options { get; }

    public IReadOnlyList<FleetLot> Lots { get; }

    public static FleetPlan Create(FleetOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Cores, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Lots, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(options.BadLots);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.BadLots, options.Lots);
        var rng = new SplitMix64(Mix(options.Seed, -1));
        // Which lots are bad: a seeded partial shuffle.
        var order = Enumerable.Range(0, options.Lots).ToArray();
        for (var i = 0; i < options.BadLots; i++)
        {
            var j = i + (int)(rng.Next() % (ulong)(order.Length - i));
            (order[i], order[j]) = (order[j], order[i]);
        }
        var bad = order.Take(options.BadLots).ToHashSet();
        var lots = new List<FleetLot>(options.Lots);
        for (var i = 0; i < options.Lots; i++)
        {
            // Reels arrive weekly from 2013 week 40 on; lot letters tell same-week reels apart.
            var week = 40 + i;
            var year = 13 + ((week - 1) / 52);
            week = ((week - 1) % 52) + 1;
            var dateCode = string.Create(CultureInfo.InvariantCulture, $"{year:00}{week:00}");
            var name = string.Create(CultureInfo.InvariantCulture, $"SST25-{dateCode}{(char)('A' + (i % 26))}");
            var supplier = i % 3 == 2 ? "Distributor-B" : "Microchip";
            // Good lots differ a little from each other (x0.5 to x1.5), as real ones do.
            var jitter = 0.5 + rng.NextDouble();
            lots.Add(bad.Contains(i)
                ? new FleetLot(name, dateCode, supplier, true, LotDefectRates.Bad.Scaled(jitter))
                : new FleetLot(name, dateCode, supplier, false, LotDefectRates.Good.Scaled(jitter)));
        }
        return new FleetPlan(options, lots);
    }

    /// <summary>Device <paramref name="index"/> (0-based) of the fleet.</summary>
    public FleetDevice Device(int index)
    {
        var rng = new SplitMix64(Mix(Options.Seed, index));
        // Real Core ids start 55ff or 54ff (STM32 unique id); 80 seeded bits make the rest.
        var id = string.Create(CultureInfo.InvariantCulture, $"{((rng.Next() & 1) == 0 ? "55ff" : "54ff")}{rng.Next():x16}{rng.Next() & 0xFFFF:x4}");
        var lot = Lots[(int)(rng.Next() % (ulong)Lots.Count)];
        var r = lot.Rates;
        var u = rng.NextDouble();
        FlashCondition flash;
        if (u < r.StuckBits)
            flash = new FlashCondition.StuckBits(1 + (int)Math.Min(63, -Math.Log(1 - rng.NextDouble()) * 6));
        else if ((u -= r.StuckBits) < r.BadSectors)
            flash = new FlashCondition.BadSectors(1 + (int)(rng.Next() % 3));
        else if ((u -= r.BadSectors) < r.Slow)
            flash = new FlashCondition.Slow(2 + Math.Round(rng.NextDouble() * 10, 1));
        else if ((u -= r.Slow) < r.Dead)
            flash = new FlashCondition.Dead();
        else
            flash = FlashCondition.Healthy;
        return new FleetDevice(index, id, lot, flash);
    }

    public IEnumerable<FleetDevice> Devices()
    {
        for (var i = 0; i < Options.Cores; i++)
            yield return Device(i);
    }

    internal static ulong Mix(int seed, long index) =>
        new SplitMix64(((ulong)(uint)seed << 32) ^ (ulong)index ^ 0x9E3779B97F4A7C15UL).Next();
}
