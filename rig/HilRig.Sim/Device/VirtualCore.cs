using HilRig.Core.Config;
using HilRig.Core.Spark;
using HilRig.Sim.Cloud;
using HilRig.Sim.Device.App;
using HilRig.Sim.Device.Bootloader;
using HilRig.Sim.Device.Dfu;
using HilRig.Sim.Device.Firmware;
using HilRig.Sim.Device.Flash;
using HilRig.Sim.Usb;

namespace HilRig.Sim.Device;

/// <summary>What a simulated Core is doing right now.</summary>
public enum CoreState
{
    Off,
    Halted,
    Bootloader,
    Dfu,
    App,
    Hung,
}

/// <summary>How a simulated Core is built: identity, chip, bootloader.</summary>
public sealed record VirtualCoreSpec(int Slot, string DeviceId, string Lot, FlashCondition Flash, BootloaderKind Bootloader, int Seed)
{
    /// <summary>The bootloader build manufactured into pages 0-18; null: the plain build of <see cref="Bootloader"/>.</summary>
    public BootloaderBuild? Build { get; init; }

    /// <summary>Option bytes write-protect bootloader pages 0-15 (factory Cores); false: an unlocked Core.</summary>
    public bool BootloaderProtected { get; init; }

    public BootloaderBuild BuildOrDefault => Build ?? Bootloader switch
    {
        BootloaderKind.BL13 => BootloaderBuild.BL13,
        BootloaderKind.Candidate => BootloaderBuild.Candidate(SimCandidateConfig.Default),
        _ => BootloaderBuild.BL14,
    };
}

/// <summary>
/// One simulated Spark Core: its memories (STM32 internal flash, SST25VF016B), flags, LED and USB function, and its
/// life: power and RESET start the bootloader, MODE steers it, DFU puts the DFU device on the bus, a leave request
/// resets it, an intact app runs, a corrupt one crashes into the watchdog chain (BL14) or hangs (BL13).
/// Every reset reads the bootloader build from pages 0-18 (a simulated build is a behaviour stamped in its image); an
/// image that is not an intact build bricks the Core: dark, nothing on USB, until a programmer rewrites it.
/// Everything runs on the simulation thread and its clock.
/// </summary>
public sealed class VirtualCore : IAppHost
{
    /// <summary>Reserved vector-table words (7, 8) where generated images carry their length and CRC-32.</summary>
    private readonly TimeProvider _time;
    private readonly VirtualUsbBus _bus;
    private SparkBootloader? _bootloader;
    private CancellationTokenSource? _life;
    private bool _relayOn;
    private bool _vbusOn = true;
    private bool _resetHeld;
    private SparkDfuDevice? _dfu;
    private SimSerialPort? _serial;
    private int _lifeGeneration;

    public VirtualCore(VirtualCoreSpec spec, VirtualUsbBus bus, string usbPath, ILedOutput led, TimeProvider time)
    {
        Spec = spec;
        _bus = bus;
        _time = time;
        UsbPath = usbPath;
        Led = led;
        DeviceId = SparkIdentity.Normalize(spec.DeviceId);
        DfuSerial = SparkIdentity.DfuSerial(DeviceId);
        Chip = new Sst25vf016b(spec.Flash, spec.Seed);
        SpiFlash = new SparkSpiFlashDriver(Chip);
        InternalFlash = new Stm32InternalFlash { BootloaderWriteProtected = spec.BootloaderProtected };
        Flags = new SystemFlags();
    }

    public VirtualCoreSpec Spec { get; }

    public string DeviceId { get; }

    public string DfuSerial { get; }

    public string UsbPath { get; }

    public ILedOutput Led { get; }

    public Sst25vf016b Chip { get; }

    public SparkSpiFlashDriver SpiFlash { get; }

    public Stm32InternalFlash InternalFlash { get; }

    public SystemFlags Flags { get; }

    /// <summary>The CC3000's stored Wi-Fi profiles; they survive power cycles.</summary>
    public WifiNvmem Nvmem { get; } = new();

    /// <summary>The cloud the app connects to once it has Wi-Fi; null: no cloud on this rig (flashing cyan forever).</summary>
    public SimCloud? Cloud { get; set; }

    /// <summary>Which OTA receiver the app firmware has (spark-core.md §6.1).</summary>
    public SimFirmware Firmware { get; set; } = SimFirmware.Seed2014;

    /// <summary>Raised on the simulation thread when listening mode enumerates the serial port (Serial.begin).</summary>
    public event Action<VirtualCore, SimSerialPort>? SerialPortOpened;

    /// <summary>The serial port while listening mode has it enumerated, else null.</summary>
    public SimSerialPort? SerialPort => _serial;

    public CoreState State { get; private set; } = CoreState.Off;

    public bool ModePressed { get; private set; }

    public bool Powered => _relayOn && _vbusOn;

    /// <summary>The bootloader build the Core ran at its last reset (its manufactured build before the first); null: bricked.</summary>
    public BootloaderBuild? Bootloader { get; private set; }

    /// <summary>The identity string of the app that runs now, if any.</summary>
    public string? RunningApp { get; private set; }

    /// <summary>Every boot outcome and notable event, in order, with virtual time: the Core's own log for tests and evidence.</summary>
    public List<string> History { get; } = [];

    /// <summary>Factory state: keys, Tinker at 0x20000 (through the chip's own cell physics), the app, flags 0x5000.</summary>
    public void Manufacture(byte[] factoryImage, byte[]? appImage = null)
    {
        ManufactureBootloader();
        var random = new Random(Spec.Seed ^ 0x4B455953);
        var serverKey = new byte[SparkMemoryMap.ServerPublicKeyLength];
        var privateKey = new byte[SparkMemoryMap.CorePrivateKeyLength];
        random.NextBytes(serverKey);
        random.NextBytes(privateKey);
        serverKey[0] = privateKey[0] = 0x30; // DER SEQUENCE
        Chip.ManufactureProgram(SparkMemoryMap.ServerPublicKeyAddress, serverKey);
        Chip.ManufactureProgram(SparkMemoryMap.CorePrivateKeyAddress, privateKey);
        Chip.ManufactureProgram(SparkMemoryMap.FactoryImageAddress, factoryImage);

        var app = appImage ?? factoryImage;
        for (var page = 0; page < SparkMemoryMap.AppPageCount; page++)
            InternalFlash.ErasePage(SparkMemoryMap.AppAddress + (uint)(page * SparkMemoryMap.InternalPageSize));
        InternalFlash.Write(SparkMemoryMap.AppAddress, app);
        Flags.FlashOtaUpdate = Flags.BkpDr10 = SystemFlags.UpdateNormal;
        Flags.FactoryReset = 0xFFFF;
        Flags.NvmemSparkReset = 0x0000;
        Flags.OtaFlashedStatus = 0x0000;
        Flags.Save(InternalFlash, FlagWords);
    }

    /// <summary>
    /// This Core's memories taken from <paramref name="other"/> (the same Core in another slot's wiring): internal and
    /// external flash cells and the CC3000's Wi-Fi profiles. Both must be unpowered.
    /// </summary>
    public void TakeMemoriesOf(VirtualCore other)
    {
        ArgumentNullException.ThrowIfNull(other);
        InternalFlash.RestoreCells(other.InternalFlash.SnapshotCells());
        Chip.RestoreCells(other.Chip.SnapshotCells());
        Nvmem.RestoreFrom(other.Nvmem.Profiles);
    }

    /// <summary>The factory's programmer writes the spec's bootloader build into pages 0-18 (the rest of them erased).</summary>
    public void ManufactureBootloader()
    {
        var pages = new byte[SparkMemoryMap.BootloaderMaxSize];
        Array.Fill(pages, (byte)0xFF);
        SparkBootloaderImage.Generate(Spec.BuildOrDefault, Spec.Seed).CopyTo(pages, 0);
        InternalFlash.ManufactureProgram(SparkMemoryMap.BootloaderAddress, pages);
        Bootloader = Spec.BuildOrDefault;
    }

    /// <summary>Flag words of the build the Core runs (BL13's 4-word page or the 2014 5-word page).</summary>
    private int FlagWords => (Bootloader ?? Spec.BuildOrDefault).FlagWords;

    /// <summary>The power relay's contact (in series with the hub port's VBUS).</summary>
    public void SetRelay(bool on)
    {
        var was = Powered;
        _relayOn = on;
        OnSupplyChanged(was);
    }

    /// <summary>VBUS from the hub port.</summary>
    public void SetVbus(bool on)
    {
        var was = Powered;
        _vbusOn = on;
        OnSupplyChanged(was);
    }

    public void SetMode(bool pressed) => ModePressed = pressed;

    /// <summary>RESET held keeps the MCU in reset; the release starts the bootloader.</summary>
    public void SetReset(bool pressed)
    {
        if (pressed == _resetHeld) return;
        _resetHeld = pressed;
        if (!Powered) return;
        if (pressed)
        {
            Halt(CoreState.Halted);
            Log("reset held");
        }
        else
        {
            StartLife(ResetCause.ResetPin);
        }
    }

    private void OnSupplyChanged(bool was)
    {
        if (was == Powered) return;
        if (!Powered)
        {
            Halt(CoreState.Off);
            Chip.PowerCycle();
            // Backup registers are not kept without VBAT (the bootloader mirrors every flag in flash).
            Flags.ClearBackupRegisters();
            Log("power off");
            return;
        }
        Log("power on");
        if (!_resetHeld) StartLife(ResetCause.PowerOn);
        else State = CoreState.Halted;
    }

    private void Halt(CoreState state)
    {
        _life?.Cancel();
        _life = null;
        DisconnectUsb();
        Led.Show(LedProgram.Off);
        State = state;
        RunningApp = null;
    }

    private void StartLife(ResetCause cause)
    {
        _life?.Cancel();
        DisconnectUsb();
        var life = new CancellationTokenSource();
        _life = life;
        var generation = ++_lifeGeneration;
        _ = RunLifeAsync(cause, generation, life.Token);
    }

    private async Task RunLifeAsync(ResetCause cause, int generation, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                State = CoreState.Bootloader;
                RunningApp = null;
                var build = SparkBootloaderImage.Read(InternalFlash.View(SparkMemoryMap.BootloaderAddress, SparkMemoryMap.BootloaderMaxSize));
                Bootloader = build;
                if (build is null)
                {
                    // The reset vector points into garbage: no LED, no USB, no DFU; only a programmer (SWD/JTAG) helps.
                    State = CoreState.Hung;
                    Led.Show(LedProgram.Off);
                    Log($"boot ({cause}): no valid bootloader in pages 0-18: bricked");
                    await Task.Delay(Timeout.InfiniteTimeSpan, _time, ct);
                    return;
                }
                if (_bootloader?.Build != build) _bootloader = new SparkBootloader(build, InternalFlash, SpiFlash, Flags, Led, _time);
                var outcome = await _bootloader.RunAsync(cause, () => ModePressed, ct);
                if (generation != _lifeGeneration) return;
                Log($"boot ({cause}): {Describe(outcome)}");
                switch (outcome)
                {
                    case BootOutcome.Reset:
                        cause = ResetCause.Software;
                        continue;
                    case BootOutcome.EnterDfu:
                        cause = await RunDfuAsync(ct);
                        continue;
                    case BootOutcome.RunApp run:
                        cause = await RunAppAsync(run, ct);
                        continue;
                    case BootOutcome.Hung hung:
                        State = CoreState.Hung;
                        Log($"hung in {hung.Operation}");
                        await Task.Delay(Timeout.InfiniteTimeSpan, _time, ct);
                        return;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // power lost or RESET pressed: the life ends where it was
        }
    }

    private async Task<ResetCause> RunDfuAsync(CancellationToken ct)
    {
        State = CoreState.Dfu;
        Led.Show(LedProgram.Flashing(SparkColors.Yellow, SparkBootloader.DfuToggleMs));
        var left = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var dfu = new SparkDfuDevice(_time, InternalFlash, SpiFlash, DfuSerial);
        dfu.Leave += () => left.TrySetResult();
        _dfu = dfu;
        _bus.Connect(UsbPath, dfu);
        using (ct.Register(() => left.TrySetCanceled(ct)))
            await left.Task;
        // Finish_Update: flags 0x5000, USB D+ off, system reset. The status reply that reported dfuMANIFEST has been
        // sent; the device disappears after it, as a real Core does.
        await Task.Delay(TimeSpan.FromMilliseconds(1), _time, ct);
        Flags.FlashOtaUpdate = Flags.BkpDr10 = SystemFlags.UpdateNormal;
        Flags.Save(InternalFlash, FlagWords);
        DisconnectUsb();
        Log("DFU leave: flags 0x5000, reset");
        return ResetCause.Software;
    }

    private async Task<ResetCause> RunAppAsync(BootOutcome.RunApp run, CancellationToken ct)
    {
        State = CoreState.App;
        var integrity = AppIntegrity.Check(run.Image);
        if (!run.Plausible || integrity == AppIntegrityResult.Corrupt)
        {
            // The CPU runs garbage: nothing kicks the watchdog, the LED stays as the bootloader left it.
            Log(run.Plausible ? "app image corrupt: crashed" : "jumped into garbage: crashed");
            if (run.WatchdogTimeout is { } timeout)
            {
                await Task.Delay(timeout, _time, ct);
                Log("watchdog reset");
                return ResetCause.IndependentWatchdog;
            }
            State = CoreState.Hung;
            await Task.Delay(Timeout.InfiniteTimeSpan, _time, ct);
            return ResetCause.Software;
        }

        RunningApp = SparkAppImageGenerator.ReadIdentity(run.Image) ?? "unknown app";
        Flags.BkpDr1 = SystemFlags.HealthKicked; // the app got past start-up and kicks the watchdog
        return await new TinkerApp(this, RunningApp).RunAsync(ct);
    }

    private void DisconnectUsb()
    {
        DisconnectSerialPort();
        if (_dfu is null) return;
        _bus.Disconnect(UsbPath);
        _dfu = null;
    }

    private void DisconnectSerialPort()
    {
        if (_serial is null) return;
        _serial.Close();
        _serial = null;
        _bus.Disconnect(UsbPath);
    }

    TimeProvider IAppHost.Time => _time;

    int IAppHost.FlagWords => FlagWords;

    void IAppHost.Log(string what) => Log(what);

    SimSerialPort IAppHost.ConnectSerial()
    {
        DisconnectSerialPort();
        _serial = new SimSerialPort(_time);
        _bus.Connect(UsbPath, new SparkSerialFunction(_time, DfuSerial));
        SerialPortOpened?.Invoke(this, _serial);
        return _serial;
    }

    void IAppHost.DisconnectSerial() => DisconnectSerialPort();

    private void Log(string what) => History.Add($"{_time.GetUtcNow():HH:mm:ss.fff} {what}");

    private static string Describe(BootOutcome outcome) => outcome switch
    {
        BootOutcome.EnterDfu d => $"DFU ({d.Reason})",
        BootOutcome.RunApp r => $"run app (plausible={r.Plausible})",
        BootOutcome.Reset => "reset",
        BootOutcome.Hung h => $"hung ({h.Operation})",
        _ => outcome.ToString(),
    } + (outcome.Actions.Count > 0 ? $" after {string.Join(", ", outcome.Actions)}" : "");
}
