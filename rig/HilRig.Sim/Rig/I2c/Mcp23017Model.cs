namespace HilRig.Sim.Rig.I2c;

/// <summary>
/// The MCP23017's register file as its I2C target: BANK = 0 and BANK = 1 address maps, the sequential address
/// pointer (SEQOP), IODIR/OLAT/GPIO semantics. Output pins drive simulated hardware through <see cref="Watch"/>.
/// </summary>
public sealed class Mcp23017Model : II2cTarget
{
    private const int RegisterCount = 0x16;
    private readonly byte[] _regs = new byte[RegisterCount]; // stored in BANK = 0 order
    private readonly List<Action<int, bool>> _watchers = [];
    private int _pointer;
    private ushort _lastDriven;

    public Mcp23017Model()
    {
        _regs[0x00] = 0xFF; // IODIRA: inputs at power-on
        _regs[0x01] = 0xFF;
    }

    /// <summary>Levels read on input pins (what is wired to them); bit n = pin n.</summary>
    public ushort InputLevels { get; set; }

    /// <summary>
    /// A fault on the wiring, asked on every change an output latch makes (pin, new level): true and the pin does not
    /// follow (it keeps its level, the GPIO register shows it, nothing downstream sees the change) until the latch is
    /// written again.
    /// </summary>
    public Func<int, bool, bool>? LineFault { get; set; }

    /// <summary>Simulated hardware on the pins learns each output level (pin, high). Inputs do not drive.</summary>
    public void Watch(Action<int, bool> onPinLevel) => _watchers.Add(onPinLevel);

    /// <summary>The level an output pin drives, or null for an input pin (high impedance).</summary>
    public bool? OutputLevel(int pin)
    {
        var iodir = _regs[0x00] | (_regs[0x01] << 8);
        if ((iodir & (1 << pin)) != 0) return null;
        var olat = _regs[0x14] | (_regs[0x15] << 8);
        return (olat & (1 << pin)) != 0;
    }

    private bool Bank1 => (_regs[0x0A] & 0x80) != 0;

    private bool SequentialDisabled => (_regs[0x0A] & 0x20) != 0;

    public void Write(ReadOnlySpan<byte> data)
    {
        if (data.Length == 0) return;
        _pointer = data[0];
        foreach (var value in data[1..])
        {
            Store(_pointer, value);
            Advance();
        }
        // a write of the register pointer alone (before a read) changes no register
        if (data.Length > 1) Propagate();
    }

    public void Read(Span<byte> data)
    {
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = Load(_pointer);
            Advance();
        }
    }

    private void Advance()
    {
        if (SequentialDisabled)
        {
            // BANK 0 toggles between the A/B pair; BANK 1 stays on the register.
            if (!Bank1) _pointer ^= 1;
            return;
        }
        _pointer = Bank1
            ? (_pointer & 0x0F) >= 0x0A ? (_pointer >= 0x10 ? 0x00 : 0x10) : _pointer + 1
            : (_pointer + 1) % RegisterCount;
    }

    /// <summary>Maps a wire address to the BANK = 0 register index, or -1 for an unimplemented address.</summary>
    private int Index(int address)
    {
        if (!Bank1) return address < RegisterCount ? address : -1;
        var port = address >= 0x10 ? 1 : 0;
        var reg = address & 0x0F;
        return reg <= 0x0A ? reg * 2 + port : -1;
    }

    private byte Load(int address)
    {
        var i = Index(address);
        if (i < 0) return 0;
        if (i is 0x12 or 0x13)
        {
            // GPIO reads pin levels: outputs their latch, inputs what is wired to them, IPOL inverting inputs.
            var port = i - 0x12;
            var iodir = _regs[port];
            var levels = (byte)(InputLevels >> (8 * port));
            var olat = (byte)(_lastDriven >> (8 * port)); // what the output pins are at, which a stuck line keeps
            var pins = (byte)((olat & ~iodir) | (levels & iodir));
            return (byte)(pins ^ (_regs[0x02 + port] & iodir));
        }
        return _regs[i];
    }

    private void Store(int address, byte value)
    {
        var i = Index(address);
        if (i < 0 || i is 0x0E or 0x0F or 0x10 or 0x11) return; // INTF/INTCAP are read-only
        if (i is 0x0A or 0x0B)
        {
            _regs[0x0A] = _regs[0x0B] = value; // one IOCON register at two addresses
            return;
        }
        if (i is 0x12 or 0x13) i += 2; // writing GPIO writes OLAT
        _regs[i] = value;
    }

    private void Propagate()
    {
        ushort driven = 0;
        for (var pin = 0; pin < 16; pin++)
            if (OutputLevel(pin) == true) driven |= (ushort)(1 << pin);
        var iodir = (ushort)(_regs[0x00] | (_regs[0x01] << 8));
        for (var pin = 0; pin < 16; pin++)
        {
            var bit = (ushort)(1 << pin);
            if ((iodir & bit) != 0) continue;
            var high = (driven & bit) != 0;
            if (high == ((_lastDriven & bit) != 0) && _reported.Contains(pin)) continue;
            if (_reported.Contains(pin) && LineFault is { } fault && fault(pin, high))
            {
                driven = (ushort)((driven & ~bit) | (_lastDriven & bit)); // the pin stays where it was
                continue;
            }
            _reported.Add(pin);
            foreach (var w in _watchers) w(pin, high);
        }
        _lastDriven = driven;
    }

    private readonly HashSet<int> _reported = [];
}
