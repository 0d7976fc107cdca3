using System.Buffers.Binary;
using System.Device.I2c;

namespace HilRig.Core.Chips.Tcs34725;

/// <summary>One raw RGBC reading.</summary>
public readonly record struct RgbcCounts(ushort C, ushort R, ushort G, ushort B);

/// <summary>
/// TCS34725 colour sensor over <see cref="I2cDevice"/>. Several sensors behind a mux share one device at 0x29;
/// each instance keeps its own slot's settings. I/O errors (a NACK) surface as <see cref="SensorException"/>
/// naming the slot.
/// </summary>
public sealed class Tcs34725
{
    /// <summary>Datasheet minimum between PON and AEN is 2.4 ms; a little margin for oscillator start.</summary>
    public static readonly TimeSpan PowerOnDelay = TimeSpan.FromMilliseconds(3);

    private readonly I2cDevice _device;
    private readonly TimeProvider _time;

    public Tcs34725(I2cDevice device, TimeProvider time, string slot)
    {
        _device = device;
        _time = time;
        Slot = slot;
    }

    public string Slot { get; }

    public byte Atime { get; private set; } = 0xFF;

    public int Gain { get; private set; } = 1;

    public TimeSpan IntegrationTime => Tcs34725Registers.IntegrationTime(Atime);

    public int MaxCount => Tcs34725Registers.MaxCount(Atime);

    /// <summary>Chip ID read by <see cref="InitializeAsync"/>.</summary>
    public byte ChipId { get; private set; }

    /// <summary>
    /// Checks the ID, powers on (PON, wait, PON|AEN), sets integration time and gain, and waits for the first
    /// completed integration (AVALID).
    /// </summary>
    public async Task InitializeAsync(TimeSpan integration, int gain, CancellationToken cancellationToken = default)
    {
        ChipId = ReadRegister(Tcs34725Registers.Id);
        if (ChipId != Tcs34725Registers.IdTcs34725 && ChipId != Tcs34725Registers.IdTcs34727)
            throw new SensorException(Slot, $"colour sensor at 0x{Tcs34725Registers.DefaultAddress:X2} answered ID 0x{ChipId:X2}; expected 0x44 (TCS34725) or 0x4D (TCS34727)");
        WriteRegister(Tcs34725Registers.Enable, Tcs34725Registers.EnablePon);
        await Task.Delay(PowerOnDelay, _time, cancellationToken);
        SetIntegrationTime(integration);
        SetGain(gain);
        WriteRegister(Tcs34725Registers.Enable, Tcs34725Registers.EnablePon | Tcs34725Registers.EnableAen);
        await WaitForValidAsync(IntegrationTime * 3, cancellationToken);
    }

    public void SetIntegrationTime(TimeSpan integration)
    {
        var atime = Tcs34725Registers.AtimeFor(integration);
        WriteRegister(Tcs34725Registers.Atime, atime);
        Atime = atime;
    }

    public void SetGain(int gain)
    {
        var code = Tcs34725Registers.GainCode(gain);
        WriteRegister(Tcs34725Registers.Control, code);
        Gain = gain;
    }

    /// <summary>Clears PON and AEN (read-modify-write ENABLE).</summary>
    public void PowerDown()
    {
        var enable = ReadRegister(Tcs34725Registers.Enable);
        WriteRegister(Tcs34725Registers.Enable, (byte)(enable & ~(Tcs34725Registers.EnablePon | Tcs34725Registers.EnableAen)));
    }

    public bool IsValid() => (ReadRegister(Tcs34725Registers.Status) & Tcs34725Registers.StatusAvalid) != 0;

    /// <summary>Polls STATUS.AVALID through the time provider until an integration has completed.</summary>
    public async Task WaitForValidAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var start = _time.GetTimestamp();
        var poll = TimeSpan.FromTicks(Math.Max(Tcs34725Registers.Cycle.Ticks, IntegrationTime.Ticks / 4));
        while (!IsValid())
        {
            if (_time.GetElapsedTime(start) >= timeout)
                throw new SensorException(Slot, $"colour sensor never set AVALID within {timeout.TotalMilliseconds:0.#} ms (integration {IntegrationTime.TotalMilliseconds:0.#} ms)");
            await Task.Delay(poll, _time, cancellationToken);
        }
    }

    /// <summary>8-byte auto-increment block read from CDATAL: C, R, G, B, each low byte first.</summary>
    /// <summary>The RGBC data registers in one auto-increment read; no allocation (the sampler calls it 40 times a second per slot).</summary>
    public RgbcCounts ReadCounts()
    {
        try
        {
            _device.WriteRead(ReadRgbc, _rgbc);
        }
        catch (IOException ex)
        {
            throw new SensorException(Slot, $"colour sensor at 0x{Tcs34725Registers.DefaultAddress:X2} did not answer while reading RGBC data (NACK or bus error: {ex.Message})", ex);
        }
        return Decode(_rgbc);
    }

    private static readonly byte[] ReadRgbc = [Tcs34725Registers.CommandAutoIncrement | Tcs34725Registers.Cdatal];

    private readonly byte[] _rgbc = new byte[8];

    internal static RgbcCounts Decode(ReadOnlySpan<byte> data) => new(
        BinaryPrimitives.ReadUInt16LittleEndian(data[0..2]),
        BinaryPrimitives.ReadUInt16LittleEndian(data[2..4]),
        BinaryPrimitives.ReadUInt16LittleEndian(data[4..6]),
        BinaryPrimitives.ReadUInt16LittleEndian(data[6..8]));

    /// <summary>Any channel at the chip's full-scale count for the current ATIME.</summary>
    public bool IsSaturated(RgbcCounts counts) => IsSaturated(counts, MaxCount);

    public static bool IsSaturated(RgbcCounts counts, int maxCount) =>
        counts.C >= maxCount || counts.R >= maxCount || counts.G >= maxCount || counts.B >= maxCount;

    public byte ReadRegister(byte register)
    {
        var value = new byte[1];
        Transfer(() => _device.WriteRead([(byte)(Tcs34725Registers.Command | register)], value), $"reading register 0x{register:X2}");
        return value[0];
    }

    public void WriteRegister(byte register, byte value) =>
        Transfer(() => _device.Write([(byte)(Tcs34725Registers.Command | register), value]), $"writing register 0x{register:X2}");

    private void Transfer(Action action, string what)
    {
        try
        {
            action();
        }
        catch (IOException ex)
        {
            throw new SensorException(Slot, $"colour sensor at 0x{Tcs34725Registers.DefaultAddress:X2} did not answer while {what} (NACK or bus error: {ex.Message})", ex);
        }
    }
}
