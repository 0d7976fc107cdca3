using System.Device.Gpio;
using System.Device.I2c;
using HilRig.Core.Config;
using HilRig.Hardware.Cloud;
using HilRig.Hardware.Pi;

namespace HilRig.Composition;

/// <summary>
/// The Raspberry Pi as a backend: opens the devices the config uses, in wiring order (the header's GPIO chip, each
/// I2C bus, libusb), so the first one missing stops the rig with one line naming it. Nothing else: the composition
/// builds the slots on them exactly as it does on the simulator.
/// </summary>
internal static class PiBackend
{
    public static RigDevices Open(RigConfig config, RigSessionOptions options)
    {
        var devices = options.PiDevices ?? (IPiDevices?)SimulatedPiDevices.FromEnvironment(config, options.Simulator) ?? new LinuxPiDevices();
        var simulated = devices as SimulatedPiDevices;
        var buses = new SortedDictionary<int, I2cBus>();
        IDisposable? usbOwned = null;
        ParticleCloudClient? cloudClient = null;
        void Release()
        {
            foreach (var bus in buses.Values) bus.Dispose();
            usbOwned?.Dispose();
            cloudClient?.Dispose();
            simulated?.Dispose();
        }
        try
        {
            GpioDriver? header = null;
            var lines = config.Slots.SelectMany(s => new[] { s.Power, s.Mode, s.Reset }).ToList();
            if (lines.OfType<GpioLine>().Any()) header = devices.OpenGpioChip(config.Pi.GpioChip);

            I2cBus Bus(int? number)
            {
                var key = number ?? config.Pi.I2cBus;
                if (!buses.TryGetValue(key, out var bus)) buses[key] = bus = devices.OpenI2cBus(key);
                return bus;
            }
            // every bus the wiring names, opened now so a missing one stops the rig before anything moves
            var used = config.Slots.Select(s => s.Sensor.I2cBus ?? config.Pi.I2cBus).ToHashSet();
            if (lines.OfType<ExpanderLine>().Any()) used.Add(config.Pi.I2cBus);
            foreach (var number in used.Order()) Bus(number);

            var usb = devices.OpenUsb();
            usbOwned = usb as IDisposable;
            cloudClient = simulated is null && config.Cloud is { } cloud ? new ParticleCloudClient(cloud) : null;

            return new RigDevices
            {
                Time = devices.Time,
                Header = header,
                I2cBus = Bus,
                DescribeI2c = n => $"/dev/i2c-{n ?? config.Pi.I2cBus}",
                Usb = usb,
                Serial = slot => devices.SlotSerial(slot.Usb.DevicePath),
                // over simulated devices the Cores connect to the simulator's cloud (the REST client is tested against it served)
                Cloud = simulated is { } s ? s.Sim.Cloud : cloudClient,
                Facts = RunFacts.Pi(config, simulated is null ? "linux" : $"simulated ({SimulatedPiDevices.Variable})"),
                Run = simulated is { } run ? run.Sim.Scheduler.RunAsync : work => work(),
                SamplingPacing = simulated is { } paced ? paced.Sim.Scheduler.Time.Background : devices.Time,
                Simulator = simulated?.Sim,
                Stop = () => simulated?.StopClock(),
                Release = Release,
            };
        }
        catch
        {
            Release();
            throw;
        }
    }
}
