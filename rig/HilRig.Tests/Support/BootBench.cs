using HilRig.Core.Config;
using HilRig.Core.Spark;
using HilRig.Sim.Device;
using HilRig.Sim.Device.Bootloader;
using HilRig.Sim.Device.Firmware;
using HilRig.Sim.Device.Flash;
using HilRig.Sim.Time;

namespace HilRig.Tests.SimDevice.Bootloader;

/// <summary>Records every LED program with its time since the start of the current boot.</summary>
internal sealed class LedRecorder(VirtualTimeProvider time) : ILedOutput
{
    public TimeSpan Origin { get; set; }

    public List<(TimeSpan At, LedProgram Program)> Log { get; } = [];

    public LedProgram Current { get; private set; } = LedProgram.Off;

    public void Show(LedProgram program)
    {
        Current = program;
        Log.Add((time.Elapsed - Origin, program));
    }

    public string Describe() => string.Join(" | ", Log.Select(e => $"{e.At.TotalMilliseconds:0}ms {e.Program.Pattern} {e.Program.Rgb:X6}"));
}

/// <summary>A shipped Core's memories (Tinker in the factory slot and the app area, flags 0x5000) around one bootloader.</summary>
internal sealed class BootBench : IDisposable
{
    public BootBench(BootloaderKind kind = BootloaderKind.BL14, FlashCondition? condition = null, int seed = 1)
        : this(kind == BootloaderKind.BL13 ? BootloaderBuild.BL13 : kind == BootloaderKind.BL14 ? BootloaderBuild.BL14 : BootloaderBuild.Candidate(SimCandidateConfig.Default), condition, seed)
    {
    }

    public BootBench(BootloaderBuild build, FlashCondition? condition = null, int seed = 1)
    {
        var kind = build.Kind;
        Sim = new SimScheduler();
        Internal = new Stm32InternalFlash { BootloaderWriteProtected = true };
        Chip = new Sst25vf016b(condition ?? FlashCondition.Healthy, seed);
        External = new SparkSpiFlashDriver(Chip);
        Flags = new SystemFlags();
        Led = new LedRecorder(Sim.Time);
        Bootloader = new SparkBootloader(build, Internal, External, Flags, Led, Sim.Time);
        Tinker = SparkAppImageGenerator.Tinker(seed);
        Chip.ManufactureProgram(SparkMemoryMap.FactoryImageAddress, Tinker);
        Internal.ManufactureProgram(SparkMemoryMap.AppAddress, Tinker);
        Flags.FlashOtaUpdate = SystemFlags.UpdateNormal;
        Flags.Save(Internal, build.FlagWords);
    }

    public SimScheduler Sim { get; }

    public Stm32InternalFlash Internal { get; }

    public Sst25vf016b Chip { get; }

    public SparkSpiFlashDriver External { get; }

    public SystemFlags Flags { get; }

    public LedRecorder Led { get; }

    public SparkBootloader Bootloader { get; }

    public byte[] Tinker { get; }

    /// <summary>One bootloader pass; MODE is held from reset for <paramref name="holdMode"/> (infinite = never released).</summary>
    public (BootOutcome Outcome, TimeSpan Took) Boot(ResetCause cause = ResetCause.PowerOn, TimeSpan? holdMode = null)
    {
        return Sim.Run(async () =>
        {
            var start = Sim.Time.Elapsed;
            Led.Origin = start;
            Led.Log.Clear();
            var hold = holdMode ?? TimeSpan.Zero;
            bool ModePressed() => hold == Timeout.InfiniteTimeSpan || Sim.Time.Elapsed - start < hold;
            var outcome = await Bootloader.RunAsync(cause, ModePressed);
            return (outcome, Sim.Time.Elapsed - start);
        });
    }

    public byte[] AppArea() => Internal.View(SparkMemoryMap.AppAddress, SparkMemoryMap.AppMaxSize).ToArray();

    public byte[] Slot(uint address)
    {
        var bytes = new byte[SparkMemoryMap.AppMaxSize];
        Chip.Read(address, bytes);
        return bytes;
    }

    public void WriteFlashFlag(ushort update)
    {
        var page = new SystemFlags();
        page.Load(Internal);
        page.FlashOtaUpdate = update;
        page.Save(Internal);
    }

    public SystemFlags FlagsPage(int words = SystemFlags.WordCount2014)
    {
        var page = new SystemFlags();
        page.Load(Internal, words);
        return page;
    }

    public void Dispose() => Sim.Dispose();
}
