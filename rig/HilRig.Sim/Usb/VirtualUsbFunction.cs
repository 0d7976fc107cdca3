using System.Buffers.Binary;
using HilRig.Core.Usb;

namespace HilRig.Sim.Usb;

/// <summary>How a simulated device answers one control request.</summary>
public readonly record struct ControlResponse(int Length, bool Stalled)
{
    public static ControlResponse Ok(int length = 0) => new(length, false);

    public static readonly ControlResponse Stall = new(0, true);
}

/// <summary>
/// A simulated USB device function on the virtual bus: descriptors, standard requests, and the class requests
/// its subclass implements. A function can be busy: like a real device that NAKs while its firmware works, every
/// control transfer then waits until the busy time has passed (or the host's timeout fires).
/// </summary>
public abstract class VirtualUsbFunction
{
    public const ushort LangIdUsEnglish = 0x0409;

    private long _busyUntilTicks;
    private bool _busyForever;

    protected VirtualUsbFunction(TimeProvider time) => Time = time;

    protected TimeProvider Time { get; }

    public abstract UsbDeviceDescriptor DeviceDescriptor { get; }

    /// <summary>The whole configuration descriptor (wTotalLength bytes).</summary>
    public abstract byte[] GetConfigDescriptor(int index);

    /// <summary>The BOS descriptor, or null when the device has none.</summary>
    public virtual byte[]? GetBosDescriptor() => null;

    /// <summary>String descriptor text by index (index 0, the language ids, is answered by the base class). Null: the device stalls.</summary>
    protected abstract string? GetString(int index);

    /// <summary>A class-specific descriptor (DFU functional 0x21, hub 0x29). Null: stall.</summary>
    protected virtual byte[]? GetClassDescriptor(byte type, byte index) => null;

    /// <summary>Class and vendor requests, and standard requests the base does not answer. IN data goes into <paramref name="data"/>.</summary>
    protected abstract ValueTask<ControlResponse> HandleRequestAsync(UsbSetup setup, Memory<byte> data, CancellationToken cancellationToken);

    /// <summary>The host selected an alternate setting (already checked to exist).</summary>
    protected internal virtual void OnAltSettingSelected(int interfaceNumber, int altSetting) { }

    /// <summary>A USB bus reset (libusb_reset_device).</summary>
    protected internal virtual void OnBusReset() { }

    /// <summary>The device NAKs every request for <paramref name="duration"/> from now.</summary>
    protected void BusyFor(TimeSpan duration)
    {
        if (duration == Timeout.InfiniteTimeSpan)
        {
            _busyForever = true;
            return;
        }
        var until = Time.GetTimestamp() + (long)(duration.TotalSeconds * Time.TimestampFrequency);
        if (until > _busyUntilTicks) _busyUntilTicks = until;
    }

    /// <summary>Ends a hang (power cycle or reset of the device's firmware).</summary>
    protected void ClearBusy()
    {
        _busyForever = false;
        _busyUntilTicks = 0;
    }

    internal TimeSpan BusyRemaining
    {
        get
        {
            if (_busyForever) return Timeout.InfiniteTimeSpan;
            var left = _busyUntilTicks - Time.GetTimestamp();
            return left <= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(left / (double)Time.TimestampFrequency);
        }
    }

    internal async ValueTask<ControlResponse> DispatchAsync(UsbSetup setup, Memory<byte> data, CancellationToken ct)
    {
        if (setup.Type == 0 && setup.Request == UsbRequest.GetDescriptor && setup.IsDeviceToHost)
            return GetDescriptor(setup, data.Span);
        if (setup.Type == 0 && setup.Request == UsbRequest.GetConfiguration && setup.IsDeviceToHost)
        {
            if (data.Length < 1) return ControlResponse.Ok(0);
            data.Span[0] = 1;
            return ControlResponse.Ok(1);
        }
        if (setup.Type == 0 && setup.Request == UsbRequest.GetStatus && setup.Recipient == 0 && setup.IsDeviceToHost)
        {
            var n = Math.Min(2, data.Length);
            data.Span[..n].Clear();
            return ControlResponse.Ok(n);
        }
        if (setup.Type == 0 && setup.Request == 9 /* SET_CONFIGURATION */ && !setup.IsDeviceToHost)
            return setup.Value <= 1 ? ControlResponse.Ok() : ControlResponse.Stall;
        if (setup.Type == 0 && setup.Request == 11 /* SET_INTERFACE */ && setup.Recipient == 1 && !setup.IsDeviceToHost)
        {
            var config = UsbConfiguration.Parse(GetConfigDescriptor(0));
            var exists = config.Interfaces.Any(i => i.Number == setup.Index && i.AltSettings.Any(a => a.AlternateSetting == setup.Value));
            if (!exists) return ControlResponse.Stall;
            OnAltSettingSelected(setup.Index, setup.Value);
            return ControlResponse.Ok();
        }
        return await HandleRequestAsync(setup, data, ct);
    }

    private ControlResponse GetDescriptor(UsbSetup setup, Span<byte> data)
    {
        var type = (byte)(setup.Value >> 8);
        var index = (byte)setup.Value;
        byte[]? descriptor = type switch
        {
            UsbDescriptorType.Device => DeviceDescriptor.ToBytes(),
            UsbDescriptorType.Configuration => index < DeviceDescriptor.NumConfigurations ? GetConfigDescriptor(index) : null,
            UsbDescriptorType.String => StringDescriptor(index),
            UsbDescriptorType.Bos => GetBosDescriptor(),
            _ => GetClassDescriptor(type, index),
        };
        if (descriptor is null) return ControlResponse.Stall;
        var n = Math.Min(descriptor.Length, data.Length);
        descriptor.AsSpan(0, n).CopyTo(data);
        return ControlResponse.Ok(n);
    }

    /// <summary>Override to return a descriptor whose bLength differs from its text (the Core's interface strings do).</summary>
    protected virtual byte[]? StringDescriptor(byte index)
    {
        if (index == 0)
        {
            var langs = new byte[4];
            langs[0] = 4;
            langs[1] = UsbDescriptorType.String;
            BinaryPrimitives.WriteUInt16LittleEndian(langs.AsSpan(2), LangIdUsEnglish);
            return langs;
        }
        var text = GetString(index);
        return text is null ? null : UsbStrings.Encode(text);
    }
}
