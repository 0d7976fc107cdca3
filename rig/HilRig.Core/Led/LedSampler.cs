using HilRig.Core.Chips;
using HilRig.Core.Chips.Tca9548a;
using HilRig.Core.Chips.Tcs34725;

namespace HilRig.Core.Led;

/// <summary>Where a slot's colour sensor sits: behind a mux channel, at 0x29 like every other.</summary>
public sealed record LedSlotSensor(int Slot, Tca9548a Mux, int Channel, Tcs34725 Sensor);

public sealed record LedSamplerOptions
{
    /// <summary>Time between two readings of the same slot; the integration time matches it so windows tile.</summary>
    public TimeSpan Cadence { get; init; } = TimeSpan.FromMilliseconds(24);

    /// <summary>At least one 100 Hz PWM period (10 ms); 24 ms resolves 50 ms fast flashing.</summary>
    public TimeSpan Integration { get; init; } = TimeSpan.FromMilliseconds(24);

    public int InitialGain { get; init; } = 4;

    /// <summary>Samples kept per slot (4096 at 24 ms is about 98 s).</summary>
    public int BufferSize { get; init; } = 4096;

    public int I2cClockHz { get; init; } = I2cTiming.FastModeHz;

    /// <summary>Step the gain down on a saturated reading and back up after a long dim stretch.</summary>
    public bool AutoRange { get; init; } = true;
}

/// <summary>
/// One per rig: reads every slot's TCS34725 through its mux channel on a fixed cadence (all waits through the
/// <see cref="TimeProvider"/>), accounts the I2C time each transaction takes, keeps a bounded buffer of samples per
/// slot and classifies it into a timeline on demand. A sensor that fails is a rig fault for that slot; the
/// other slots keep being sampled.
/// </summary>
public sealed class LedSampler
{
    private static readonly TimeSpan SelectCost = I2cTiming.Transaction(1, 0) + I2cTiming.Transaction(0, 1);
    private readonly TimeProvider _time;
    private readonly long _origin;
    private readonly SortedDictionary<int, SlotState> _slots = [];

    // the round's order: by mux, then channel, so each mux is selected once per round and never switched back
    private readonly SlotState[] _order;
    private Tca9548a? _selectedMux;

    public LedSampler(IEnumerable<LedSlotSensor> sensors, TimeProvider time, LedSamplerOptions? options = null)
    {
        Options = options ?? new LedSamplerOptions();
        if (Options.Cadence <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(options), Options.Cadence, "LED sampler cadence must be positive");
        _time = time;
        _origin = time.GetTimestamp();
        foreach (var sensor in sensors)
        {
            if (!_slots.TryAdd(sensor.Slot, new SlotState(sensor, Options.BufferSize)))
                throw new ArgumentException($"slot {sensor.Slot} has two colour sensors", nameof(sensors));
        }
        var muxes = _slots.Values.Select(s => s.Sensor.Mux).Distinct().ToList();
        _order = [.. _slots.Values.OrderBy(s => muxes.IndexOf(s.Sensor.Mux)).ThenBy(s => s.Sensor.Channel).ThenBy(s => s.Sensor.Slot)];
    }

    public LedSamplerOptions Options { get; }

    public IReadOnlyCollection<int> Slots => _slots.Keys;

    /// <summary>I2C bus time spent so far, as accounted in device time.</summary>
    public TimeSpan I2cTime { get; private set; }

    /// <summary>Time since the sampler was created: the time base of samples and timelines.</summary>
    public TimeSpan Now => _time.GetElapsedTime(_origin);

    /// <summary>Raised for every sample taken, on the sampler's context (live display, trace recording).</summary>
    public event Action<int, LedSample>? SampleTaken;

    /// <summary>Powers up every sensor; a sensor that fails is recorded as that slot's rig fault.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        foreach (var state in _slots.Values)
        {
            try
            {
                Select(state);
                await state.Sensor.Sensor.InitializeAsync(Options.Integration, state.Calibration?.Gain ?? Options.InitialGain, cancellationToken);
                state.Fault = null;
            }
            catch (SensorException ex)
            {
                state.Fault = ex;
            }
        }
    }

    /// <summary>
    /// Calibrates a slot whose Core is powered off: dark counts over 16 windows at the highest gain that does not
    /// saturate on ambient light. If <paramref name="lightUp"/> is given it is then called (power the Core into its
    /// brightest state, e.g. solid white) and the gain is stepped down until a second of readings stays below 75 %
    /// of full scale.
    /// </summary>
    public async Task<SlotCalibration> CalibrateAsync(int slot, Func<CancellationToken, Task>? lightUp = null, CancellationToken cancellationToken = default)
    {
        var state = Slot(slot);
        var sensor = state.Sensor.Sensor;
        try
        {
            Select(state);
            // a slot that never started (or faulted) gets a fresh power-on, which reports the fault again if it persists
            if (state.Fault is not null || sensor.ChipId is not (Tcs34725Registers.IdTcs34725 or Tcs34725Registers.IdTcs34727))
                await sensor.InitializeAsync(Options.Integration, Options.InitialGain, cancellationToken);
            var gains = Tcs34725Registers.Gains;
            var darkGain = gains[0];
            List<RgbcCounts> dark = [];
            for (var g = gains.Count - 1; g >= 0; g--)
            {
                dark = await ReadWindowsAsync(state, gains[g], 16, cancellationToken);
                darkGain = gains[g];
                if (dark.Max(d => d.C) < 0.1 * sensor.MaxCount) break;
            }
            var k = 1.0 / (darkGain * sensor.IntegrationTime.TotalMilliseconds);
            var meanC = dark.Average(d => (double)d.C);
            var noise = Math.Sqrt(dark.Average(d => (d.C - meanC) * (d.C - meanC))) * k;
            var gain = Math.Min(darkGain, Options.InitialGain);
            var litC = 0.0;
            if (lightUp is not null)
            {
                await lightUp(cancellationToken);
                var windows = (int)Math.Ceiling(1000 / sensor.IntegrationTime.TotalMilliseconds);
                for (var g = gains.Count - 1; g >= 0; g--)
                {
                    if (gains[g] > darkGain) continue;
                    gain = gains[g];
                    var lit = await ReadWindowsAsync(state, gain, windows, cancellationToken);
                    litC = lit.Average(d => (double)d.C) / (gain * sensor.IntegrationTime.TotalMilliseconds) - meanC * k;
                    if (lit.Max(d => Math.Max(d.C, Math.Max(d.R, Math.Max(d.G, d.B)))) < 0.75 * sensor.MaxCount) break;
                }
            }
            Select(state);
            sensor.SetGain(gain);
            Account(I2cTiming.Transaction(2, 0));
            state.DiscardNext = true;
            var calibration = new SlotCalibration(slot, dark.Average(d => d.R) * k, dark.Average(d => d.G) * k, dark.Average(d => d.B) * k,
                meanC * k, noise, gain, sensor.IntegrationTime.TotalMilliseconds, Math.Max(0, litC));
            lock (state.Gate)
            {
                state.Calibration = calibration;
                state.Cached = null;
                state.SeenWhiteAt = null;
            }
            state.Fault = null;
            return calibration;
        }
        catch (SensorException ex)
        {
            state.Fault = ex;
            throw;
        }
    }

    /// <summary>Applies a calibration stored earlier for this rig and slot.</summary>
    public void ApplyCalibration(SlotCalibration calibration)
    {
        var state = Slot(calibration.Slot);
        lock (state.Gate)
        {
            state.Calibration = calibration;
            state.Cached = null;
            state.SeenWhiteAt = null;
        }
        if (state.Fault is not null) return;
        Select(state);
        state.Sensor.Sensor.SetGain(calibration.Gain);
        state.DiscardNext = true;
    }

    public SlotCalibration? Calibration(int slot) => Slot(slot).Calibration;

    /// <summary>The rig fault that stopped sampling this slot, if any.</summary>
    public SensorException? Fault(int slot) => Slot(slot).Fault;

    public IReadOnlyList<LedSample> Samples(int slot)
    {
        var state = Slot(slot);
        lock (state.Gate) return state.Buffer.From(0);
    }

    public long SampleCount(int slot)
    {
        var state = Slot(slot);
        lock (state.Gate) return state.Count;
    }

    public LedTimeline Timeline(int slot) => Timeline(slot, null);

    /// <summary>
    /// The slot's timeline from all buffered samples, or only from <see cref="ContextBefore"/> ahead of
    /// <paramref name="since"/> (cheaper for polling). Unchanged samples give the cached timeline.
    /// </summary>
    public LedTimeline Timeline(int slot, TimeSpan? since)
    {
        var state = Slot(slot);
        var from = since is { } s ? s - ContextBefore : TimeSpan.MinValue;
        // the sampling loop adds samples on its own context while callers (a CLI command, a test) read timelines
        // from theirs: snapshot under the slot's lock, classify outside it
        List<LedSample> samples;
        long count;
        SlotCalibration? calibration;
        var seenWhite = 0.0;
        lock (state.Gate)
        {
            if (state.Cached is { } cached && cached.Count == state.Count && cached.From == from) return cached.Timeline;
            samples = state.Buffer.From(state.Buffer.FirstAtOrAfter(from));
            count = state.Count;
            calibration = state.Calibration;
            // a partial timeline is the whole buffer's tail: without a calibrated white level it is held to the light the
            // whole buffer shows (the slot's own LED before a cut), or a slot dark for its last seconds sees only its
            // neighbours' leak and calls that lit (seed 2718's extra relay-stuck: "the LED still shows flashing white")
            if (since is not null && calibration is not { LitC: > 0 })
            {
                if (state.SeenWhiteAt is null || state.Count - state.SeenWhiteAt >= SeenWhiteEvery)
                    (state.SeenWhite, state.SeenWhiteAt) = (LedClassifier.BrightestLevel(state.Buffer.From(0), calibration?.DarkC ?? 0), state.Count);
                seenWhite = state.SeenWhite;
            }
        }
        var timeline = new LedClassifier(calibration, seenWhite).Classify(samples);
        lock (state.Gate)
        {
            if (state.Count == count && ReferenceEquals(state.Calibration, calibration)) state.Cached = (count, from, timeline);
        }
        return timeline;
    }

    /// <summary>Samples after which the whole buffer's brightest light is looked at again for partial timelines (about 6 s at
    /// 24 ms; every poll would cost a 200-cycle chaos bench over 60 % more CPU): a poll's own stretch counts as well.</summary>
    internal const int SeenWhiteEvery = 256;

    /// <summary>How much earlier than asked a partial timeline starts, so a pattern in progress is recognised.</summary>
    public static readonly TimeSpan ContextBefore = TimeSpan.FromSeconds(6);

    /// <summary>The state now, classified from the last seconds only (cheap enough to poll with a full buffer).</summary>
    public LedState CurrentState(int slot) => Timeline(slot, Now - ContextBefore).Current?.State ?? LedState.Dark;

    /// <summary>
    /// Writes a slot's raw samples as trace CSV (with its calibration as the <c># dark</c> line) for
    /// <paramref name="duration"/> while the sampler runs: the body of <c>hilrig led record</c>.
    /// </summary>
    public async Task<int> RecordAsync(int slot, TimeSpan duration, TextWriter writer, CancellationToken cancellationToken = default)
    {
        var state = Slot(slot);
        var written = 0;
        TraceCsv.Write(writer, [], state.Calibration);
        void OnSample(int s, LedSample sample)
        {
            if (s != slot) return;
            writer.WriteLine(TraceCsv.Line(sample));
            written++;
        }
        SampleTaken += OnSample;
        try
        {
            await Task.Delay(duration, _time, cancellationToken);
        }
        finally
        {
            SampleTaken -= OnSample;
        }
        if (state.Fault is { } fault) throw fault;
        return written;
    }

    /// <summary>Expectations on a slot's LED, polled on the sampler's time base.</summary>
    public LedExpectations Expect(int slot) =>
        new(since => Timeline(slot, since), _time, () => Now, $"slot {slot}", () => Fault(slot)) { SnapshotEvidence = () => Snapshot(slot) };

    /// <summary>
    /// <see cref="Timeline(int)"/> as of now, classified when first asked for: a failed wait that is caught and
    /// shrugged off (an optional choreography step, a power-off check) never pays for classifying the whole buffer.
    /// </summary>
    private Func<LedTimeline> Snapshot(int slot)
    {
        var state = Slot(slot);
        List<LedSample> samples;
        SlotCalibration? calibration;
        lock (state.Gate)
        {
            if (state.Cached is { } cached && cached.Count == state.Count && cached.From == TimeSpan.MinValue) return () => cached.Timeline;
            samples = state.Buffer.From(0);
            calibration = state.Calibration;
        }
        return () => new LedClassifier(calibration).Classify(samples);
    }

    /// <summary>Samples every slot on the cadence until cancelled.</summary>
    public Task RunAsync(CancellationToken cancellationToken) => RunAsync(null, cancellationToken);

    /// <summary>
    /// Samples every slot on the cadence until cancelled, its waits on <paramref name="pacing"/>: the same clock as
    /// the sampler's, but a simulator's background view of it, so sampling for the rig's whole life never moves an
    /// idle virtual clock by itself.
    /// </summary>
    /// <remarks>
    /// Round k is due at k cadences after the start, whatever the earlier rounds took, so the schedule does not drift.
    /// A round found a whole cadence late (a busy moment on a clock that runs faster than real time) is skipped, not
    /// run back to back with the next: a burst of catch-up rounds would only make the next moment busier.
    /// </remarks>
    public async Task RunAsync(TimeProvider? pacing, CancellationToken cancellationToken)
    {
        var clock = pacing ?? _time;
        var cadence = Options.Cadence.Ticks;
        var start = _time.GetTimestamp();
        long round = 0;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                // one wait per round, not one per slot: the round's reads hold the bus for their accounted time in one go
                var spent = SampleRound();
                round++;
                var elapsed = _time.GetElapsedTime(start).Ticks;
                if (elapsed >= round * cadence)
                {
                    Overruns++;
                    var next = (elapsed / cadence) + 1;
                    SkippedRounds += next - round;
                    round = next;
                }
                var due = Math.Max(round * cadence - elapsed, spent.Ticks);
                await Task.Delay(TimeSpan.FromTicks(due), clock, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // stopping is the normal end of sampling
        }
    }

    /// <summary>Rounds that ended a whole cadence or more after they were due.</summary>
    public long Overruns { get; private set; }

    /// <summary>Rounds left out because the sampler was that late (each slot missed one sample per round).</summary>
    public long SkippedRounds { get; private set; }

    /// <summary>Reads each healthy slot once, mux by mux and channel by channel, then waits for the bus time it took.</summary>
    public async Task SampleRoundAsync(CancellationToken cancellationToken = default)
    {
        var spent = SampleRound();
        if (spent > TimeSpan.Zero) await Task.Delay(spent, _time, cancellationToken);
    }

    /// <summary>One reading of every healthy slot; returns the I2C bus time accounted for it.</summary>
    private TimeSpan SampleRound()
    {
        // a procedure's chip id check (ReadChipId) may come from another thread: the mux selection is the bus's state
        lock (_bus) return SampleRoundOnBus();
    }

    private readonly Lock _bus = new();

    /// <summary>
    /// Failed reads in a row (NACK, bus error) after which a slot's sensor is a rig fault: about 0.6 s at the 24 ms
    /// cadence, so a noisy bus's scattered NACKs never add up to it and a sensor that is gone is named within a second.
    /// </summary>
    public const int FailedReadsForFault = 25;

    /// <summary>Reads that failed and were left out, the sensor answering again the next round.</summary>
    public long MissedReads { get; private set; }

    /// <summary>
    /// Reads the chip id of <paramref name="slot"/>'s colour sensor now (register 0x12), between sampling rounds; null
    /// when the slot's sensor already failed (its fault says why). A NACK is a <see cref="SensorException"/>.
    /// </summary>
    public byte? ReadChipId(int slot)
    {
        var state = Slot(slot);
        if (state.Fault is not null) return null;
        lock (_bus)
        {
            Select(state);
            var id = state.Sensor.Sensor.ReadRegister(Tcs34725Registers.Id);
            Account(I2cTiming.Transaction(1, 1, Options.I2cClockHz));
            return id;
        }
    }

    private TimeSpan SampleRoundOnBus()
    {
        var before = I2cTime;
        foreach (var state in _order)
        {
            if (state.Fault is not null) continue;
            try
            {
                SampleSlot(state);
                state.FailedReads = 0;
            }
            catch (SensorException ex)
            {
                // one NACK on a long cable is a missing sample, not a dead sensor: the slot's sensor is out only
                // when its reads keep failing round after round
                if (++state.FailedReads >= FailedReadsForFault) state.Fault = ex;
                else MissedReads++;
            }
        }
        return I2cTime - before;
    }

    private void SampleSlot(SlotState state)
    {
        var sensor = state.Sensor.Sensor;
        Select(state);
        var counts = sensor.ReadCounts();
        Account(I2cTiming.Transaction(1, 8, Options.I2cClockHz));
        if (state.DiscardNext)
        {
            // the window in the data registers may predate the last gain change
            state.DiscardNext = false;
            return;
        }
        var sample = new LedSample(Now, counts.R, counts.G, counts.B, counts.C, sensor.Gain, state.IntegrationMs(sensor));
        state.Add(sample);
        SampleTaken?.Invoke(state.Sensor.Slot, sample);
        if (Options.AutoRange) AutoRange(state, counts);
    }

    private void AutoRange(SlotState state, RgbcCounts counts)
    {
        var sensor = state.Sensor.Sensor;
        var gains = Tcs34725Registers.Gains;
        var index = IndexOf(sensor.Gain);
        var peak = Math.Max(counts.C, Math.Max(counts.R, Math.Max(counts.G, counts.B)));
        if (sensor.IsSaturated(counts) || peak >= 0.9 * sensor.MaxCount)
        {
            state.DimSamples = 0;
            if (index == 0) return;
            ChangeGain(state, gains[index - 1]);
            return;
        }
        var ceiling = state.Calibration?.Gain ?? Options.InitialGain;
        if (index + 1 >= gains.Count || gains[index + 1] > ceiling) return;
        var ratio = gains[index + 1] / (double)gains[index];
        state.DimSamples = peak * ratio < 0.5 * sensor.MaxCount ? state.DimSamples + 1 : 0;
        // a whole breathing period dim before stepping up, so a pattern does not make the gain oscillate
        if (state.DimSamples * Options.Cadence.TotalMilliseconds >= 5000)
        {
            state.DimSamples = 0;
            ChangeGain(state, gains[index + 1]);
        }
    }

    private void ChangeGain(SlotState state, int gain)
    {
        state.Sensor.Sensor.SetGain(gain);
        Account(I2cTiming.Transaction(2, 0, Options.I2cClockHz));
        state.DiscardNext = true;
        GainChanges++;
    }

    public long GainChanges { get; private set; }

    private static int IndexOf(int gain)
    {
        for (var i = 0; i < Tcs34725Registers.Gains.Count; i++)
            if (Tcs34725Registers.Gains[i] == gain) return i;
        return 0;
    }

    private async Task<List<RgbcCounts>> ReadWindowsAsync(SlotState state, int gain, int windows, CancellationToken cancellationToken)
    {
        var sensor = state.Sensor.Sensor;
        Select(state);
        sensor.SetGain(gain);
        Account(I2cTiming.Transaction(2, 0, Options.I2cClockHz));
        var list = new List<RgbcCounts>(windows);
        // the first window after a gain change may still hold the old gain
        await Task.Delay(sensor.IntegrationTime * 2, _time, cancellationToken);
        for (var i = 0; i < windows; i++)
        {
            Select(state);
            list.Add(sensor.ReadCounts());
            Account(I2cTiming.Transaction(1, 8, Options.I2cClockHz));
            await Task.Delay(sensor.IntegrationTime, _time, cancellationToken);
        }
        return list;
    }

    private void Select(SlotState state)
    {
        var mux = state.Sensor.Mux;
        if (_selectedMux is not null && !ReferenceEquals(_selectedMux, mux))
        {
            // every sensor answers 0x29: the other mux must let go first
            try
            {
                _selectedMux.DeselectAll();
            }
            finally
            {
                _selectedMux = null;
            }
            Account(SelectCost);
        }
        if (mux.Selected != state.Sensor.Channel)
        {
            try
            {
                mux.Select(state.Sensor.Channel);
            }
            catch (SensorException ex)
            {
                throw new SensorException($"slot {state.Sensor.Slot}", ex.Message, ex);
            }
            Account(SelectCost);
        }
        _selectedMux = mux;
    }

    private void Account(TimeSpan busTime) => I2cTime += busTime;

    private SlotState Slot(int slot) =>
        _slots.TryGetValue(slot, out var state)
            ? state
            : throw new ArgumentOutOfRangeException(nameof(slot), slot, $"no colour sensor for slot {slot}; slots with sensors: {string.Join(", ", _slots.Keys)}");

    private sealed class SlotState(LedSlotSensor sensor, int capacity)
    {
        public LedSlotSensor Sensor { get; } = sensor;

        public SampleRing Buffer { get; } = new(capacity);

        public long Count { get; private set; }

        public SlotCalibration? Calibration { get; set; }

        public SensorException? Fault { get; set; }

        public int FailedReads { get; set; }

        public bool DiscardNext { get; set; }

        public int DimSamples { get; set; }

        private TimeSpan _integration;
        private double _integrationMs;

        /// <summary>The sensor's integration time in ms, converted once per change rather than once per sample.</summary>
        public double IntegrationMs(Tcs34725 sensor)
        {
            var t = sensor.IntegrationTime;
            if (t != _integration)
            {
                _integration = t;
                _integrationMs = t.TotalMilliseconds;
            }
            return _integrationMs;
        }

        public (long Count, TimeSpan From, LedTimeline Timeline)? Cached { get; set; }

        /// <summary>The whole buffer's brightest light (counts/ms at 1x over dark) as of sample <see cref="SeenWhiteAt"/>.</summary>
        public double SeenWhite { get; set; }

        public long? SeenWhiteAt { get; set; }

        /// <summary>Guards <see cref="Buffer"/>, <see cref="Count"/> and <see cref="Cached"/> between the sampling loop and readers.</summary>
        public object Gate { get; } = new();

        public void Add(LedSample sample)
        {
            lock (Gate)
            {
                Buffer.Add(sample);
                Count++;
            }
        }
    }

    /// <summary>
    /// The last samples of a slot, oldest first, in time order (the sampler's clock only moves forward): a poll copies
    /// only the stretch it classifies, found by binary search, instead of filtering the whole buffer every time.
    /// </summary>
    private sealed class SampleRing(int capacity)
    {
        private readonly LedSample[] _items = new LedSample[Math.Max(1, capacity)];
        private int _head;

        public int Count { get; private set; }

        private LedSample this[int i] => _items[(_head + i) % _items.Length];

        public void Add(LedSample sample)
        {
            if (Count == _items.Length)
            {
                _items[_head] = sample;
                _head = (_head + 1) % _items.Length;
                return;
            }
            _items[(_head + Count) % _items.Length] = sample;
            Count++;
        }

        /// <summary>Index of the first sample taken at or after <paramref name="time"/> (Count if none).</summary>
        public int FirstAtOrAfter(TimeSpan time)
        {
            int lo = 0, hi = Count;
            while (lo < hi)
            {
                var mid = lo + (hi - lo) / 2;
                if (this[mid].Time < time) lo = mid + 1;
                else hi = mid;
            }
            return lo;
        }

        public List<LedSample> From(int index)
        {
            var list = new List<LedSample>(Count - index);
            var start = (_head + index) % _items.Length;
            var n = Count - index;
            var first = Math.Min(n, _items.Length - start);
            list.AddRange(new ReadOnlySpan<LedSample>(_items, start, first));
            list.AddRange(new ReadOnlySpan<LedSample>(_items, 0, n - first));
            return list;
        }
    }
}
