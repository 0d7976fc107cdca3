using HilRig.Core.Config;
using HilRig.Core.Spark;
using HilRig.Sim.Device;
using HilRig.Sim.Device.Bootloader;
using HilRig.Sim.Device.Firmware;
using HilRig.Sim.Rig;

namespace HilRig.Tests.SimDevice.Firmware;

public class SparkBootloaderImageTests
{
    private static readonly BootloaderBuild[] Builds =
        [BootloaderBuild.BL13, BootloaderBuild.BL14, BootloaderBuild.Candidate(SimCandidateConfig.Default), BootloaderBuild.Candidate(new SimCandidateConfig(12.5, false))];

    private static byte[] Pages(byte[] image)
    {
        var pages = Enumerable.Repeat((byte)0xFF, SparkMemoryMap.BootloaderMaxSize).ToArray();
        image.CopyTo(pages, 0);
        return pages;
    }

    [TestCaseSource(nameof(Builds))]
    public void A_generated_image_is_a_plausible_bootloader_that_names_its_build(BootloaderBuild build)
    {
        var image = SparkBootloaderImage.Generate(build, seed: 3);
        Assert.That(image, Has.Length.EqualTo(SparkBootloaderImage.DefaultSize));
        Assert.That(BootloaderImage.Validate(image, "bl.bin"), Is.Null, "what the host checks before flashing");
        Assert.That(new AppImage(image).InitialStackPointer, Is.EqualTo(SparkMemoryMap.SramTop));
        Assert.That(SparkBootloaderImage.Read(Pages(image)), Is.EqualTo(build));
        Assert.That(SparkBootloaderImage.Generate(build, seed: 3), Is.EqualTo(image), "same build and seed, same bytes");
    }

    [Test]
    public void A_changed_byte_erased_pages_or_a_foreign_image_are_no_bootloader()
    {
        var image = SparkBootloaderImage.Generate(BootloaderBuild.BL14);
        var flipped = (byte[])image.Clone();
        flipped[5000] ^= 0x10;
        Assert.That(SparkBootloaderImage.Read(Pages(flipped)), Is.Null);
        Assert.That(SparkBootloaderImage.Read(Pages([])), Is.Null);
        var foreign = (byte[])image.Clone();
        Array.Clear(foreign, 7 * 4, 8);
        Assert.That(SparkBootloaderImage.Read(Pages(foreign)), Is.Null);
        Assert.That(SparkBootloaderImage.Read(Pages(image[..8000])), Is.Null, "half written");
    }

    [Test]
    public void A_Core_reads_its_build_at_every_reset_and_without_one_it_is_dark_and_off_the_bus()
    {
        using var rig = SimRig.Build(TestRigs.Load(TestRigs.DefaultCores(), bootloader: "candidate"));
        var core = rig.Slot(1).Core;
        Assert.That(core.Bootloader!.Kind, Is.EqualTo(BootloaderKind.Candidate), "manufactured from the config");
        Assert.That(core.InternalFlash.BootloaderWriteProtected, Is.True, "factory Cores by default");
        rig.Scheduler.Run(async () =>
        {
            core.SetRelay(true);
            await Task.Delay(TimeSpan.FromSeconds(2), rig.Time);
        });
        Assert.That(core.State, Is.Not.EqualTo(CoreState.Hung));

        rig.Scheduler.Run(async () =>
        {
            core.SetRelay(false);
            core.InternalFlash.ManufactureProgram(SparkMemoryMap.BootloaderAddress, Enumerable.Repeat((byte)0xFF, SparkMemoryMap.InternalPageSize).ToArray());
            core.SetRelay(true);
            core.SetMode(true); // MODE through a power-up: a Core with a bootloader would go to DFU
            await Task.Delay(TimeSpan.FromSeconds(5), rig.Time);
            core.SetMode(false);
            await Task.Delay(TimeSpan.FromSeconds(1), rig.Time);
        });
        Assert.That(core.State, Is.EqualTo(CoreState.Hung));
        Assert.That(core.Bootloader, Is.Null);
        Assert.That(core.Led.Current, Is.EqualTo(LedProgram.Off));
        Assert.That(rig.Usb.GetDevices().Where(d => d.Path == core.UsbPath), Is.Empty);
        Assert.That(core.History[^1], Does.Contain("no valid bootloader"));
    }

    [Test]
    public void Changing_sim_bootloader_reflashes_the_bootloader_pages_of_saved_Cores()
    {
        var dir = Path.Combine(Path.GetTempPath(), "hilrig-tests", Guid.NewGuid().ToString("N"));
        using (var rig = SimRig.Build(TestRigs.Load(TestRigs.DefaultCores())))
            SimRigState.Save(rig, dir);
        using var later = SimRig.Build(TestRigs.Load(TestRigs.DefaultCores(), bootloader: "BL13"));
        Assert.That(SimRigState.Load(later, dir), Has.Count.EqualTo(8));
        var pages = later.Slot(2).Core.InternalFlash.View(SparkMemoryMap.BootloaderAddress, SparkMemoryMap.BootloaderMaxSize);
        Assert.That(SparkBootloaderImage.Read(pages), Is.EqualTo(BootloaderBuild.BL13));
    }
}
