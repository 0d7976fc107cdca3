using System.Text;
using System.Text.RegularExpressions;

namespace HilRig.Core.Serial;

public enum WifiSecurity
{
    Unsecured = 0,
    Wep = 1,
    Wpa = 2,
    Wpa2 = 3,
}

public sealed record WifiCredentials(string Ssid, WifiSecurity Security, string Password)
{
    /// <summary>The rig's test network (the simulated cloud accepts any credentials).</summary>
    public static readonly WifiCredentials RigNetwork = new("hilrig-test", WifiSecurity.Wpa2, "hilrig-test-pass");
}

/// <summary>
/// The two listening-mode commands of the 2013-2014 firmware (spark-core.md §7): `i` answers the device id,
/// `w` walks SSID, security and password prompts. Output comes at 1 ms per character.
/// </summary>
public static partial class ListeningModeSerial
{
    /// <summary>spark-cli's identify timeout.</summary>
    public static readonly TimeSpan IdentifyTimeout = TimeSpan.FromSeconds(5);

    public static readonly TimeSpan PromptTimeout = TimeSpan.FromSeconds(5);

    public const string SsidPrompt = "SSID: ";
    public const string SecurityPrompt = "Security 0=unsecured, 1=WEP, 2=WPA, 3=WPA2: ";
    public const string PasswordPrompt = "Password: ";
    public const string SavingLine = "Thanks! Wait about 7 seconds while I save those credentials...";
    public const string ConnectLine = "Awesome. Now we'll connect!";

    /// <summary>Sends `i` and returns the 24-hex device id (spark-cli's regex).</summary>
    public static async Task<string> IdentifyAsync(ISerialLink link, TimeProvider time, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(link);
        await link.WriteAsync("i"u8.ToArray(), ct);
        var text = await ReadUntilAsync(link, time, t => IdRegex().IsMatch(t), IdentifyTimeout, "the `i` answer", ct);
        return IdRegex().Match(text).Groups[2].Value.ToLowerInvariant();
    }

    /// <summary>Sends `w` and answers the prompts; returns the transcript once the Core says it is saving.</summary>
    public static async Task<string> ProvisionWifiAsync(ISerialLink link, TimeProvider time, WifiCredentials credentials, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(link);
        ArgumentNullException.ThrowIfNull(credentials);
        var transcript = new StringBuilder();
        async Task Expect(string prompt)
        {
            transcript.Append(await ReadUntilAsync(link, time, t => t.Contains(prompt, StringComparison.Ordinal), PromptTimeout, $"'{prompt.Trim()}'", ct, transcript.ToString()));
        }
        Task Send(string text) => link.WriteAsync(Encoding.ASCII.GetBytes(text), ct);

        await Send("w");
        await Expect(SsidPrompt);
        await Send(credentials.Ssid + "\r");
        await Expect(SecurityPrompt);
        await Send(((int)credentials.Security).ToString(System.Globalization.CultureInfo.InvariantCulture) + "\r");
        if (credentials.Security != WifiSecurity.Unsecured)
        {
            await Expect(PasswordPrompt);
            await Send(credentials.Password + "\r");
        }
        await Expect(SavingLine);
        return transcript.ToString();
    }

    private static async Task<string> ReadUntilAsync(
        ISerialLink link, TimeProvider time, Func<string, bool> done, TimeSpan timeout, string what, CancellationToken ct, string before = "")
    {
        var text = new StringBuilder();
        var buffer = new byte[256];
        var start = time.GetTimestamp();
        while (!done(text.ToString()))
        {
            var left = timeout - time.GetElapsedTime(start);
            if (left <= TimeSpan.Zero)
                throw new SerialDialogueException(
                    $"no {what} within {timeout.TotalSeconds:0.#} s; the Core sent {Quote(text.ToString())}", before + text);
            var n = await link.ReadAsync(buffer, left, ct);
            text.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
        return text.ToString();
    }

    private static string Quote(string text) => text.Length == 0 ? "nothing" : $"\"{text.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)}\"";

    [GeneratedRegex(@"Your (core|device) id is\s+(\w+)\r?\n")]
    private static partial Regex IdRegex();
}
