using System.Text;
using HilRig.Core.Checksums;
using HilRig.Core.Config;
using HilRig.Core.Spark;
using HilRig.Sim.Cloud;
using HilRig.Sim.Device.Bootloader;
using HilRig.Sim.Device.Flash;

namespace HilRig.Sim.Device.App;

/// <summary>The CC3000's stored Wi-Fi profiles (its NVMEM): kept across power cycles, wiped by a factory reset's flag.</summary>
public sealed class WifiNvmem
{
    /// <summary>The CC3000 keeps 7 profiles.</summary>
    public const int MaxProfiles = 7;

    private readonly List<(string Ssid, int Security, string Password)> _profiles = [];

    public int Count => _profiles.Count;

    /// <summary>The stored profiles, oldest first (what a saved simulator state keeps).</summary>
    public IReadOnlyList<(string Ssid, int Security, string Password)> Profiles => [.. _profiles];

    /// <summary>Replaces the profiles with <paramref name="profiles"/> (a saved state, or the same Core moved to another slot).</summary>
    public void RestoreFrom(IEnumerable<(string Ssid, int Security, string Password)> profiles)
    {
        _profiles.Clear();
        foreach (var p in profiles) Add(p.Ssid, p.Security, p.Password);
    }

    public IReadOnlyList<string> Ssids => [.. _profiles.Select(p => p.Ssid)];

    public void Add(string ssid, int security, string password)
    {
        _profiles.RemoveAll(p => p.Ssid == ssid);
        if (_profiles.Count == MaxProfiles) _profiles.RemoveAt(0);
        _profiles.Add((ssid, security, password));
    }

    public void Clear() => _profiles.Clear();
}

/// <summary>What the app's life hands back to the Core: how the MCU was reset next.</summary>
internal interface IAppHost
{
    TimeProvider Time { get; }
    ILedOutput Led { get; }
    SystemFlags Flags { get; }
    Stm32InternalFlash InternalFlash { get; }
    SparkSpiFlashDriver SpiFlash { get; }
    WifiNvmem Nvmem { get; }
    SimCloud? Cloud { get; }
    SimFirmware Firmware { get; }
    string DeviceId { get; }
    bool ModePressed { get; }
    int FlagWords { get; }
    void Log(string what);
    SimSerialPort ConnectSerial();
    void DisconnectSerial();
}

/// <summary>
/// The Tinker app's life on a simulated Core (spark-core.md §5-§8): start-up white fade; the NVMEM wipe a factory
/// reset asked for; without Wi-Fi credentials flashing blue listening mode with the serial `i` and `w` dialogues;
/// with them flashing green, flashing cyan, fast cyan, then breathing cyan on the cloud; MODE held 3 s enters
/// listening mode; the OTA receiver of the firmware generation in use. Returns when the MCU resets.
/// </summary>
internal sealed class TinkerApp(IAppHost host, string identity)
{
    public static readonly TimeSpan StartupFade = TimeSpan.FromMilliseconds(700);
    public static readonly TimeSpan WifiConnect = TimeSpan.FromSeconds(1.5);
    public static readonly TimeSpan CloudConnect = TimeSpan.FromSeconds(0.6);
    public static readonly TimeSpan Handshake = TimeSpan.FromSeconds(0.8);
    public static readonly TimeSpan ListenHold = TimeSpan.FromSeconds(3);
    public static readonly TimeSpan CredentialsSave = TimeSpan.FromSeconds(7);
    public static readonly TimeSpan ChunkMissedAfter = TimeSpan.FromSeconds(3);
    public static readonly TimeSpan UpdateTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The debounce timer's step (TIM1, 10 ms) and the main loop's tick.</summary>
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(10);

    private const int ListenToggleMs = 250;

    /// <summary>The further debounced MODE hold in listening mode that deletes the Wi-Fi profiles.</summary>
    public static readonly TimeSpan WipeHold = TimeSpan.FromSeconds(7);

    private const int WipeToggleMs = 50;
    private const int WipeToggles = 25;

    private TimeProvider Time => host.Time;

    private TimeSpan _modeHeld;

    public async Task<ResetCause> RunAsync(CancellationToken ct)
    {
        host.Led.Show(LedProgram.StartupFade());
        await Task.Delay(StartupFade, Time, ct);
        if (host.Flags.NvmemSparkReset == 0x0001)
        {
            // SPARK_WLAN_Setup: a factory reset asked for the Wi-Fi profiles to go
            host.Nvmem.Clear();
            host.Flags.NvmemSparkReset = 0x0000;
            await Task.Delay(host.Flags.Save(host.InternalFlash, host.FlagWords), Time, ct);
            host.Log("app: Wi-Fi profiles wiped (factory reset flag)");
        }

        var listen = host.Nvmem.Count == 0;
        while (true)
        {
            if (listen)
            {
                await ListeningModeAsync(ct);
                listen = false;
            }
            if (await ConnectAsync(ct) is not { } connection)
            {
                listen = true;
                continue;
            }
            try
            {
                var next = await ConnectedAsync(connection, ct);
                if (next is { } reset) return reset;
                listen = true;
            }
            finally
            {
                connection.Close();
            }
        }
    }

    /// <summary>True when MODE has been held for <see cref="ListenHold"/> (debounced on the 10 ms tick).</summary>
    private bool ModeHeldLongEnough()
    {
        _modeHeld = host.ModePressed ? _modeHeld + Tick : TimeSpan.Zero;
        return _modeHeld >= ListenHold;
    }

    /// <summary>Waits through one connection phase; null when MODE asked for listening mode instead.</summary>
    private async Task<bool> PhaseAsync(LedProgram led, TimeSpan duration, CancellationToken ct)
    {
        host.Led.Show(led);
        var start = Time.GetTimestamp();
        while (Time.GetElapsedTime(start) < duration)
        {
            await Task.Delay(Tick, Time, ct);
            if (ModeHeldLongEnough()) return false;
        }
        return true;
    }

    private async Task<CloudConnection?> ConnectAsync(CancellationToken ct)
    {
        if (!await PhaseAsync(LedProgram.Flashing(SparkColors.Green, 100), WifiConnect, ct)) return null;
        while (host.Cloud is null)
        {
            // no cloud on this rig: the Core keeps trying (flashing cyan) until MODE or reset
            if (!await PhaseAsync(LedProgram.Flashing(SparkColors.Cyan, 100), TimeSpan.FromSeconds(5), ct)) return null;
        }
        if (!await PhaseAsync(LedProgram.Flashing(SparkColors.Cyan, 100), CloudConnect, ct)) return null;
        if (!await PhaseAsync(LedProgram.Flashing(SparkColors.Cyan, 50), Handshake, ct)) return null;
        host.Led.Show(LedProgram.Breathing(SparkColors.Cyan));
        host.Log($"app: {identity} connected to the cloud");
        return host.Cloud.Connect(host.DeviceId, identity);
    }

    /// <summary>Breathing cyan until MODE (null: listening mode) or an OTA that resets the MCU.</summary>
    private async Task<ResetCause?> ConnectedAsync(CloudConnection connection, CancellationToken ct)
    {
        while (true)
        {
            await Task.Delay(Tick, Time, ct);
            if (ModeHeldLongEnough()) return null;
            if (connection.Receive() is OtaMessage.UpdateBegin)
                return await ReceiveUpdateAsync(connection, ct);
        }
    }

    /// <summary>
    /// The OTA receiver (CCL FLASH_Begin / FLASH_Update / FLASH_End): erase the 128 KiB OTA slot under solid magenta,
    /// take 256-byte chunks with their CRC-32, toggle the LED per chunk, reset after 30 s without one, and on
    /// UpdateDone set the flags to 0x0005 and reset into the bootloader's OTA apply.
    /// </summary>
    private async Task<ResetCause?> ReceiveUpdateAsync(CloudConnection connection, CancellationToken ct)
    {
        host.Log($"app: UpdateBegin ({host.Firmware})");
        host.Led.Show(LedProgram.Solid(SparkColors.Magenta));
        host.Flags.OtaFlashedStatus = 0;
        await Task.Delay(host.Flags.Save(host.InternalFlash, host.FlagWords), Time, ct);
        const uint slot = SparkMemoryMap.OtaImageAddress;
        for (var sector = 0u; sector < SparkMemoryMap.ImageRegionSize / SparkMemoryMap.SpiSectorSize; sector++)
        {
            if (!await FlashAsync(host.SpiFlash.Erase(slot + sector * SparkMemoryMap.SpiSectorSize), ct))
                return await StalledAsync("OTA slot erase", ct);
        }
        connection.Send(new OtaMessage.UpdateReady());

        var address = slot;
        var lit = true;
        var lastChunk = Time.GetTimestamp();
        var lastMissed = lastChunk;
        var written = 0;
        while (true)
        {
            await Task.Delay(Tick, Time, ct);
            if (!connection.Open)
            {
                // socket lost mid-transfer: the update flag is cleared, the old app stays
                host.Log($"app: cloud connection lost during OTA after {written} chunk(s)");
                return null;
            }
            if (Time.GetElapsedTime(lastChunk) >= UpdateTimeout)
            {
                host.Log($"app: no chunk for {UpdateTimeout.TotalSeconds:0} s: reset (flags unchanged)");
                return ResetCause.Software;
            }
            var expected = (int)((address - slot) / SimCloud.ChunkSize);
            switch (connection.Receive())
            {
                case OtaMessage.Chunk chunk when chunk.Index != expected:
                    // a retransmission of one already saved (its answer was lost): answer again, write nothing
                    if (chunk.Index < expected) connection.Send(new OtaMessage.ChunkReceived(chunk.Index, true));
                    break;
                case OtaMessage.Chunk chunk:
                    lastChunk = lastMissed = Time.GetTimestamp();
                    if (Crc32.Compute(chunk.Data) != chunk.Crc)
                    {
                        connection.Send(new OtaMessage.ChunkReceived(chunk.Index, false));
                        break;
                    }
                    if (!await FlashAsync(host.SpiFlash.Write(address, chunk.Data), ct)) return await StalledAsync("OTA chunk write", ct);
                    if (host.Firmware == SimFirmware.Verified)
                    {
                        var back = new byte[chunk.Data.Length];
                        await Task.Delay(host.SpiFlash.Read(address, back), Time, ct);
                        if (!back.AsSpan().SequenceEqual(chunk.Data))
                        {
                            // a failed write cannot be retried without an erase: erase the sector and ask from its start
                            var sector = address & ~(uint)(SparkMemoryMap.SpiSectorSize - 1);
                            if (!await FlashAsync(host.SpiFlash.Erase(sector), ct)) return await StalledAsync("OTA sector erase", ct);
                            address = sector;
                            var from = (int)((sector - slot) / SimCloud.ChunkSize);
                            host.Log($"app: chunk {chunk.Index} did not verify: sector 0x{sector:X6} erased, ChunkMissed {from}");
                            connection.Send(new OtaMessage.ChunkMissed(from));
                            break;
                        }
                    }
                    address += (uint)chunk.Data.Length;
                    written++;
                    lit = !lit;
                    host.Led.Show(lit ? LedProgram.Solid(SparkColors.Magenta) : LedProgram.Off);
                    connection.Send(new OtaMessage.ChunkReceived(chunk.Index, true));
                    break;
                case OtaMessage.UpdateDone:
                    host.Flags.FlashOtaUpdate = host.Flags.BkpDr10 = SystemFlags.UpdateOtaAvailable;
                    await Task.Delay(host.Flags.Save(host.InternalFlash, host.FlagWords), Time, ct);
                    host.Log($"app: UpdateDone after {written} chunk(s): flags 0x0005, reset");
                    return ResetCause.Software;
                default:
                    if (Time.GetElapsedTime(lastMissed) >= ChunkMissedAfter)
                    {
                        lastMissed = Time.GetTimestamp();
                        connection.Send(new OtaMessage.ChunkMissed(expected));
                    }
                    break;
            }
        }
    }

    /// <summary>Spends a flash operation's device time; false when the chip never clears BUSY.</summary>
    private async Task<bool> FlashAsync(FlashOpResult op, CancellationToken ct)
    {
        if (op.Hung) return false;
        await Task.Delay(op.Duration, Time, ct);
        return true;
    }

    /// <summary>The SPI driver has no timeout: the app sits with the LED as it was until the 30 s OTA timeout resets it.</summary>
    private async Task<ResetCause> StalledAsync(string operation, CancellationToken ct)
    {
        host.Log($"app: {operation} hung: stalled until the OTA timeout");
        await Task.Delay(UpdateTimeout, Time, ct);
        return ResetCause.Software;
    }

    /// <summary>Start_Smart_Config: flashing blue, the serial port up, the credentials reader answering `i` and `w`.</summary>
    private async Task ListeningModeAsync(CancellationToken ct)
    {
        host.Log("app: listening mode");
        host.Led.Show(LedProgram.Flashing(SparkColors.Blue, ListenToggleMs));
        var serial = host.ConnectSerial();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        // the debounced MODE count starts over in listening mode (BUTTON_ResetDebouncedState)
        _modeHeld = TimeSpan.Zero;
        _ = WatchProfileWipeAsync(stop.Token);
        try
        {
            while (true)
            {
                var key = (char)await serial.DeviceReadAsync(ct);
                if (key == 'i')
                {
                    await serial.DeviceWriteAsync($"Your core id is {host.DeviceId}\r\n", ct);
                }
                else if (key == 'w' && await ReadCredentialsAsync(serial, ct))
                {
                    return;
                }
            }
        }
        finally
        {
            // synchronously, on the simulation thread: CancelAsync would run the timers' callbacks on the thread pool
#pragma warning disable CA1849
            stop.Cancel();
#pragma warning restore CA1849
            host.DisconnectSerial();
        }
    }

    /// <summary>
    /// MODE held on in listening mode until the debounced count reaches <see cref="WipeHold"/> (about 10 s from the
    /// first press) deletes every Wi-Fi profile, under rapid blue (spark-core.md §8); listening mode goes on.
    /// </summary>
    private async Task WatchProfileWipeAsync(CancellationToken ct)
    {
        try
        {
            while (true)
            {
                await Task.Delay(Tick, Time, ct);
                _modeHeld = host.ModePressed ? _modeHeld + Tick : TimeSpan.Zero;
                if (_modeHeld < WipeHold) continue;
                _modeHeld = TimeSpan.Zero;
                host.Led.Show(LedProgram.Flashing(SparkColors.Blue, WipeToggleMs));
                await Task.Delay(TimeSpan.FromMilliseconds(WipeToggles * WipeToggleMs), Time, ct);
                host.Nvmem.Clear();
                host.Log("app: MODE held in listening mode: Wi-Fi profiles deleted");
                host.Led.Show(LedProgram.Flashing(SparkColors.Blue, ListenToggleMs));
            }
        }
        catch (OperationCanceledException)
        {
            // listening mode ended
        }
    }

    private async Task<bool> ReadCredentialsAsync(SimSerialPort serial, CancellationToken ct)
    {
        await serial.DeviceWriteAsync("SSID: ", ct);
        var ssid = await ReadLineAsync(serial, 32, ct);
        int security;
        while (true)
        {
            await serial.DeviceWriteAsync("Security 0=unsecured, 1=WEP, 2=WPA, 3=WPA2: ", ct);
            var answer = await ReadLineAsync(serial, 1, ct);
            if (answer.Length == 1 && answer[0] is >= '0' and <= '3')
            {
                security = answer[0] - '0';
                break;
            }
        }
        if (security == 1)
            await serial.DeviceWriteAsync("\r\n ** Even though the CC3000 supposedly supports WEP,\r\n ** we at Spark have never been able to get it to work.\r\n ** If you have a choice, please use WPA2.\r\n", ct);
        var password = "";
        if (security != 0)
        {
            await serial.DeviceWriteAsync("Password: ", ct);
            password = await ReadLineAsync(serial, 64, ct);
        }
        await serial.DeviceWriteAsync("Thanks! Wait about 7 seconds while I save those credentials...\r\n\r\n", ct);
        host.Led.Show(LedProgram.Solid(SparkColors.Blue));
        await Task.Delay(CredentialsSave, Time, ct);
        host.Nvmem.Add(ssid, security, password);
        host.Log($"app: Wi-Fi credentials for '{ssid}' saved");
        await serial.DeviceWriteAsync(
            "Awesome. Now we'll connect!\r\n\r\nIf you see a pulsing cyan light, your Spark Core\r\nhas connected to the Cloud and is ready to go!\r\n\r\n" +
            "If your LED flashes red or you encounter any other problems,\r\nvisit https://www.spark.io/support to debug.\r\n\r\n    Spark <3 you!\r\n", ct);
        return true;
    }

    /// <summary>Echoes typed characters, ends on CR or LF, backspace/DEL erase, at most <paramref name="max"/> characters.</summary>
    private static async Task<string> ReadLineAsync(SimSerialPort serial, int max, CancellationToken ct)
    {
        var line = new StringBuilder();
        while (true)
        {
            var c = (char)await serial.DeviceReadAsync(ct);
            if (c is '\r' or '\n')
            {
                if (line.Length == 0 && max > 1) continue;
                await serial.DeviceWriteAsync("\r\n", ct);
                return line.ToString();
            }
            if (c is '\b' or (char)0x7F)
            {
                if (line.Length > 0)
                {
                    line.Length--;
                    await serial.DeviceWriteAsync("\b \b", ct);
                }
                continue;
            }
            if (line.Length < max)
            {
                line.Append(c);
                await serial.DeviceWriteAsync(c.ToString(), ct);
            }
        }
    }
}
