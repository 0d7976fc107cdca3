namespace HilRig.Core.Led;

/// <summary>
/// A slot's colour-sensor calibration, stored per rig and slot: dark counts with the Core powered off (ambient and
/// sensor offset, in counts per ms at 1x gain, per channel), their noise, and the gain chosen so the brightest LED
/// state does not saturate. <see cref="Slot"/> is -1 when the calibration came from a trace file.
/// </summary>
public sealed record SlotCalibration(int Slot, double DarkR, double DarkG, double DarkB, double DarkC, double DarkNoiseC, int Gain, double IntegrationMs, double LitC = 0)
{
    public static readonly SlotCalibration None = new(-1, 0, 0, 0, 0, 0, 1, 0);
}
