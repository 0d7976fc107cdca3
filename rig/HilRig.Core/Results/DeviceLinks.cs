using Dapper;

namespace HilRig.Core.Results;

/// <summary>DFU serial to device id links (migration step 7).</summary>
public sealed partial class ResultsStore
{
    /// <summary>Records (or moves) the link of a DFU serial to the device id that reported it.</summary>
    public void LinkDfuSerial(string dfuSerial, string deviceId, DateTimeOffset at)
    {
        ArgumentException.ThrowIfNullOrEmpty(dfuSerial);
        ArgumentException.ThrowIfNullOrEmpty(deviceId);
        Write((db, tx) => LinkIn(db, tx, dfuSerial, deviceId, at));
    }

    private static void LinkIn(System.Data.IDbConnection db, System.Data.IDbTransaction tx, string dfuSerial, string deviceId, DateTimeOffset at) =>
        db.Execute(
            """
            INSERT INTO device_links (dfu_serial, device_id, linked_at) VALUES (@dfuSerial, @deviceId, @at)
            ON CONFLICT (dfu_serial) DO UPDATE SET device_id = excluded.device_id, linked_at = excluded.linked_at
            """,
            new { dfuSerial, deviceId = deviceId.ToLowerInvariant(), at = StoreText.Time(at) }, tx);

    /// <summary>The device id linked to <paramref name="dfuSerial"/>; null when never seen together.</summary>
    public string? DeviceIdForDfuSerial(string dfuSerial)
    {
        using var db = OpenConnection();
        return db.QueryFirstOrDefault<string?>("SELECT device_id FROM device_links WHERE dfu_serial = @dfuSerial", new { dfuSerial });
    }
}
