using HilRig.Sim.Optics;

namespace HilRig.Sim.Rig.I2c;

/// <summary>
/// TCS34725 as seen over I2C. Integration cycles run back to back from the moment AEN is set (a write to ATIME or
/// CONTROL restarts them: a simulator choice, so a reading never mixes two gains); the data registers hold the last
/// completed window: the light arriving (own LED plus a crosstalk fraction of the neighbours') times channel
/// responsivity, gain and integration time, plus ambient, plus seeded shot noise, clipped at full scale.
/// </summary>
public sealed class Tcs34725Model : II2cTarget
{
    /// <summary>
    /// Sensor channel response (R, G, B, C) to each LED die at equal power, roughly the datasheet's spectral
    /// responsivity at the LED's red (~625 nm), green (~525 nm) and blue (~465 nm) peaks; the filters leak.
    /// </summary>
    private static readonly double[,] Responsivity =
    {
        { 1.00, 0.10, 0.06, 1.10 },
        { 0.12, 0.85, 0.22, 1.05 },
        { 0.06, 0.20, 0.80, 0.95 },
    };

    /// <summary>Room light (warm white) per channel relative to its clear-channel count.</summary>
    private static readonly double[] AmbientShare = [0.36, 0.33, 0.24, 1.0];

    private readonly TimeProvider _time;
    private readonly ILightSource _own;
    private readonly IReadOnlyList<ILightSource> _neighbours;
    private readonly OpticsSettings _optics;
    private readonly Random _random;
    private readonly byte[] _registers = new byte[0x20];
    private int _pointer;
    private TimeSpan _cycleStart;
    private long _latchedWindow = -1;

    public Tcs34725Model(TimeProvider time, ILightSource own, IReadOnlyList<ILightSource> neighbours, OpticsSettings optics, Random random)
    {
        optics.Validate();
        _time = time;
        _own = own;
        _neighbours = neighbours;
        _optics = optics;
        _random = random;
        Reset();
    }

    /// <summary>Fault for tests: the part answers this ID instead of 0x44.</summary>
    public byte Id { get => _registers[0x12]; set => _registers[0x12] = value; }

    /// <summary>Fault for tests: the sensor stops acknowledging (unplugged, dead).</summary>
    public bool Nack { get; set; }

    /// <summary>Asked on each read that starts at the chip id register; true: this read answers <see cref="GlitchId"/> (a fault injected on purpose).</summary>
    public Func<bool>? IdGlitch { get; set; }

    /// <summary>The id a glitched read answers: neither a TCS34725's 0x44 nor a TCS34727's 0x4D.</summary>
    public byte GlitchId { get; set; } = 0x60;

    public byte Enable => _registers[0x00];

    public byte Atime => _registers[0x01];

    public int Gain => (_registers[0x0F] & 3) switch { 0 => 1, 1 => 4, 2 => 16, _ => 60 };

    public TimeSpan IntegrationTime => TimeSpan.FromTicks((256 - Atime) * 24_000L);

    public int MaxCount => Math.Min(65535, (256 - Atime) * 1024);

    private bool Running => (Enable & 0x03) == 0x03;

    public void Reset()
    {
        var id = _registers[0x12] == 0 ? (byte)0x44 : _registers[0x12];
        Array.Clear(_registers);
        _registers[0x01] = 0xFF;
        _registers[0x03] = 0xFF;
        _registers[0x12] = id;
        _latchedWindow = -1;
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        if (Nack) throw new IOException("TCS34725 did not acknowledge (NACK)");
        if (data.Length == 0) return;
        var command = data[0];
        if ((command & 0x80) == 0) throw new IOException($"TCS34725 command byte 0x{command:X2} lacks the CMD bit");
        var type = (command >> 5) & 3;
        if (type == 3) return; // special function: interrupt clear; no interrupts modelled
        _pointer = command & 0x1F;
        for (var i = 1; i < data.Length; i++)
        {
            WriteRegister(_pointer, data[i]);
            if (type == 1) _pointer = (_pointer + 1) & 0x1F;
        }
    }

    public void Read(Span<byte> data)
    {
        if (Nack) throw new IOException("TCS34725 did not acknowledge (NACK)");
        Refresh();
        if (_pointer == 0x12 && data.Length > 0 && IdGlitch?.Invoke() == true)
        {
            data[0] = GlitchId;
            for (var i = 1; i < data.Length; i++) data[i] = _registers[(0x12 + i) & 0x1F];
            _pointer = (0x12 + data.Length) & 0x1F;
            return;
        }
        // auto-increment on multi-byte reads for 0x80 and 0xA0 alike, as real parts do
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = _registers[_pointer];
            _pointer = (_pointer + 1) & 0x1F;
        }
    }

    private void WriteRegister(int register, byte value)
    {
        switch (register)
        {
            case 0x00:
            {
                var wasRunning = Running;
                _registers[0] = (byte)(value & 0x1B);
                if (Running && !wasRunning) Restart();
                if (!Running) _registers[0x13] &= 0xFE;
                break;
            }
            case 0x01:
            case 0x0F:
                _registers[register] = register == 0x0F ? (byte)(value & 3) : value;
                if (Running) Restart();
                break;
            case 0x03:
            case 0x04:
            case 0x05:
            case 0x06:
            case 0x07:
            case 0x0C:
            case 0x0D:
                _registers[register] = value;
                break;
            default:
                break; // read-only or reserved
        }
    }

    private void Restart()
    {
        _cycleStart = SimClock.Now(_time);
        _latchedWindow = -1;
        _registers[0x13] &= 0xFE;
    }

    private void Refresh()
    {
        if (!Running) return;
        var now = SimClock.Now(_time);
        var window = (now - _cycleStart).Ticks / IntegrationTime.Ticks - 1;
        if (window < 0 || window == _latchedWindow) return;
        _latchedWindow = window;
        _registers[0x13] |= 0x01; // AVALID
        var from = _cycleStart + IntegrationTime * window;
        var to = from + IntegrationTime;
        var own = _own.Average(from, to);
        double r = own.R, g = own.G, b = own.B;
        foreach (var neighbour in _neighbours)
        {
            var light = neighbour.Average(from, to);
            r += light.R * _optics.CrosstalkFraction;
            g += light.G * _optics.CrosstalkFraction;
            b += light.B * _optics.CrosstalkFraction;
        }
        var cycles = 256 - Atime;
        var scale = _optics.CouplingCountsPerCycle * cycles * Gain;
        for (var channel = 0; channel < 4; channel++)
        {
            var signal = (r * Responsivity[0, channel] + g * Responsivity[1, channel] + b * Responsivity[2, channel]) * scale;
            var mean = signal + _optics.AmbientCountsPerCycle * AmbientShare[channel] * cycles * Gain;
            var counts = mean + Gaussian() * Math.Sqrt(Math.Max(mean, 1)) * _optics.NoiseLevel;
            var clipped = (ushort)Math.Clamp(Math.Round(counts), 0, MaxCount);
            // register order: C, R, G, B from 0x14, low byte first
            var register = 0x14 + 2 * (channel == 3 ? 0 : channel + 1);
            _registers[register] = (byte)(clipped & 0xFF);
            _registers[register + 1] = (byte)(clipped >> 8);
        }
    }

    private double Gaussian()
    {
        var u1 = 1.0 - _random.NextDouble();
        var u2 = _random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
