using Dapper;
using HilRig.Core.Led;

namespace HilRig.Core.Results;

/// <summary>A slot's colour-sensor calibration as stored for a rig, with when it was taken.</summary>
public sealed record StoredCalibration(string RigId, SlotCalibration Calibration, DateTimeOffset CalibratedAt);

public sealed partial class ResultsStore
{
    /// <summary>Stores a slot's calibration for a rig, replacing the one before (one transaction).</summary>
    public void SaveCalibration(string rigId, SlotCalibration calibration, DateTimeOffset calibratedAt)
    {
        ArgumentException.ThrowIfNullOrEmpty(rigId);
        ArgumentNullException.ThrowIfNull(calibration);
        Write((db, tx) => db.Execute(
            """
            INSERT INTO sensor_calibrations (rig_id, slot, dark_r, dark_g, dark_b, dark_c, dark_noise_c, gain, integration_ms, lit_c, calibrated_at)
            VALUES (@rigId, @slot, @darkR, @darkG, @darkB, @darkC, @darkNoiseC, @gain, @integrationMs, @litC, @calibratedAt)
            ON CONFLICT (rig_id, slot) DO UPDATE SET
                dark_r = excluded.dark_r, dark_g = excluded.dark_g, dark_b = excluded.dark_b, dark_c = excluded.dark_c,
                dark_noise_c = excluded.dark_noise_c, gain = excluded.gain, integration_ms = excluded.integration_ms,
                lit_c = excluded.lit_c, calibrated_at = excluded.calibrated_at
            """,
            new
            {
                rigId, slot = calibration.Slot, darkR = calibration.DarkR, darkG = calibration.DarkG, darkB = calibration.DarkB,
                darkC = calibration.DarkC, darkNoiseC = calibration.DarkNoiseC, gain = calibration.Gain,
                integrationMs = calibration.IntegrationMs, litC = calibration.LitC, calibratedAt = StoreText.Time(calibratedAt),
            }, tx));
    }

    /// <summary>The stored calibrations of a rig's slots, in slot order.</summary>
    public IReadOnlyList<StoredCalibration> GetCalibrations(string rigId)
    {
        using var db = OpenConnection();
        return db.Query<CalibrationRow>(
            """
            SELECT rig_id AS RigId, slot AS Slot, dark_r AS DarkR, dark_g AS DarkG, dark_b AS DarkB, dark_c AS DarkC,
                   dark_noise_c AS DarkNoiseC, gain AS Gain, integration_ms AS IntegrationMs, lit_c AS LitC, calibrated_at AS CalibratedAt
            FROM sensor_calibrations WHERE rig_id = @rigId ORDER BY slot
            """,
            new { rigId })
            .Select(r => new StoredCalibration(r.RigId,
                new SlotCalibration((int)r.Slot, r.DarkR, r.DarkG, r.DarkB, r.DarkC, r.DarkNoiseC, (int)r.Gain, r.IntegrationMs, r.LitC),
                StoreText.ParseTime(r.CalibratedAt)))
            .ToList();
    }

    /// <summary>A stored calibration as Dapper reads it (also what sync forwards).</summary>
    internal sealed class CalibrationRow
    {
        public string RigId { get; set; } = "";
        public long Slot { get; set; }
        public double DarkR { get; set; }
        public double DarkG { get; set; }
        public double DarkB { get; set; }
        public double DarkC { get; set; }
        public double DarkNoiseC { get; set; }
        public long Gain { get; set; }
        public double IntegrationMs { get; set; }
        public double LitC { get; set; }
        public string CalibratedAt { get; set; } = "";
    }
}
