using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace HilRig.Core.Config;

/// <summary>Defaults for simulated Cores that the config leaves out.</summary>
public static class SimDefaults
{
    /// <summary>Lot of a Core in a slot that sim.cores does not list.</summary>
    public const string UnlistedLot = "unlisted";

    /// <summary>
    /// A device id for a simulated Core without one in the config: 24 lowercase hex, starting "55ff" or "54ff" as
    /// real Cores' STM32 unique ids do. SHA-256 rather than System.Random so the id never changes between runtimes.
    /// </summary>
    public static string DeviceIdFor(int seed, int slot)
    {
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(
            string.Create(CultureInfo.InvariantCulture, $"hilrig-sim-core/{seed}/{slot}")));
        var prefix = (digest[0] & 1) == 0 ? "55ff" : "54ff";
        return prefix + Convert.ToHexStringLower(digest, 1, 10);
    }
}
