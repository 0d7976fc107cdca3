namespace HilRig.Sim.Rig.I2c;

/// <summary>
/// TCA9548A: one control register (power-up 0x00); bit n connects downstream bus n. A multi-byte write keeps the
/// last byte. Its own address is never forwarded.
/// </summary>
public sealed class Tca9548aModel : II2cTarget, II2cSwitch
{
    private readonly SimI2cBus[] _channels;

    public Tca9548aModel(string name)
    {
        _channels = [.. Enumerable.Range(0, 8).Select(ch => new SimI2cBus($"{name} ch{ch}"))];
    }

    public byte Control { get; private set; }

    /// <summary>Fault for tests: the mux stops acknowledging.</summary>
    public bool Nack { get; set; }

    public SimI2cBus Channel(int channel) => _channels[channel];

    public IEnumerable<SimI2cBus> ConnectedDownstream
    {
        get
        {
            for (var ch = 0; ch < _channels.Length; ch++)
                if ((Control & (1 << ch)) != 0) yield return _channels[ch];
        }
    }

    public void Reset() => Control = 0;

    public void Write(ReadOnlySpan<byte> data)
    {
        if (Nack) throw new IOException("TCA9548A did not acknowledge (NACK)");
        if (data.Length > 0) Control = data[^1];
    }

    public void Read(Span<byte> data)
    {
        if (Nack) throw new IOException("TCA9548A did not acknowledge (NACK)");
        data.Fill(Control);
    }
}
