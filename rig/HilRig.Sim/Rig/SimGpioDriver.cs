using System.Device.Gpio;

namespace HilRig.Sim.Rig;

/// <summary>
/// The simulated rig's GPIO header: a GpioDriver, so Core's real GpioController code drives it. Simulated
/// hardware subscribes to output pins (a relay coil, a MODE or RESET line) with <see cref="Watch"/>.
/// </summary>
public sealed class SimGpioDriver(int pinCount = 28) : GpioDriver
{
    private readonly Dictionary<int, PinState> _pins = [];
    private readonly object _gate = new();

    protected override int PinCount => pinCount;

    /// <summary>
    /// A fault on the wiring, asked on every change of an output (pin, new level): true and the line does not follow
    /// (reads back its old level, nothing downstream sees the change) until it is written again.
    /// </summary>
    public Func<int, PinValue, bool>? LineFault { get; set; }

    /// <summary>Simulated hardware attached to an output pin learns every level written to it.</summary>
    public void Watch(int pin, Action<PinValue> onLevel)
    {
        lock (_gate) { State(pin).Watchers.Add(onLevel); }
    }

    /// <summary>The level on a pin as the hardware sees it (unopened pins float low).</summary>
    public PinValue Level(int pin)
    {
        lock (_gate) { return _pins.TryGetValue(pin, out var s) ? s.Value : PinValue.Low; }
    }

    protected override void OpenPin(int pinNumber)
    {
        CheckPin(pinNumber);
        lock (_gate) { State(pinNumber).Open = true; }
    }

    protected override void ClosePin(int pinNumber)
    {
        lock (_gate) { State(pinNumber).Open = false; }
    }

    protected override void SetPinMode(int pinNumber, PinMode mode)
    {
        CheckPin(pinNumber);
        lock (_gate) { State(pinNumber).Mode = mode; }
    }

    protected override PinMode GetPinMode(int pinNumber)
    {
        lock (_gate) { return State(pinNumber).Mode; }
    }

    protected override bool IsPinModeSupported(int pinNumber, PinMode mode) =>
        mode is PinMode.Input or PinMode.Output or PinMode.InputPullUp or PinMode.InputPullDown;

    protected override PinValue Read(int pinNumber)
    {
        CheckPin(pinNumber);
        lock (_gate) { return State(pinNumber).Value; }
    }

    protected override void Write(int pinNumber, PinValue value)
    {
        CheckPin(pinNumber);
        Action<PinValue>[] watchers;
        lock (_gate)
        {
            var s = State(pinNumber);
            if (s.Mode != PinMode.Output)
                throw new InvalidOperationException($"GPIO {pinNumber} is not an output (mode {s.Mode})");
            if (s.Value != value && s.Open && LineFault is { } fault && fault(pinNumber, value)) return;
            s.Value = value;
            watchers = [.. s.Watchers];
        }
        foreach (var w in watchers) w(value);
    }

    protected override WaitForEventResult WaitForEvent(int pinNumber, PinEventTypes eventTypes, CancellationToken cancellationToken) =>
        throw new NotSupportedException("the rig only drives outputs; simulated inputs are not wired");

    protected override void AddCallbackForPinValueChangedEvent(int pinNumber, PinEventTypes eventTypes, PinChangeEventHandler callback) =>
        throw new NotSupportedException("the rig only drives outputs; simulated inputs are not wired");

    protected override void RemoveCallbackForPinValueChangedEvent(int pinNumber, PinChangeEventHandler callback) =>
        throw new NotSupportedException("the rig only drives outputs; simulated inputs are not wired");

    private void CheckPin(int pin)
    {
        if (pin < 0 || pin >= pinCount) throw new ArgumentOutOfRangeException(nameof(pin), pin, $"the simulated header has GPIO 0-{pinCount - 1}");
    }

    private PinState State(int pin)
    {
        if (!_pins.TryGetValue(pin, out var s)) _pins[pin] = s = new PinState();
        return s;
    }

    private sealed class PinState
    {
        public bool Open;
        public PinMode Mode = PinMode.Input;
        public PinValue Value = PinValue.Low;
        public List<Action<PinValue>> Watchers { get; } = [];
    }
}
