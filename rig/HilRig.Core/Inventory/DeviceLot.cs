namespace HilRig.Core.Inventory;

/// <summary>Which external-flash chip lot sits on a device, as the inventory says.</summary>
/// <param name="DeviceId">24 lowercase hex digits.</param>
/// <param name="Lot">Chip lot, never empty.</param>
/// <param name="DateCode">Chip date code YYWW (e.g. "1402"), or null when unknown.</param>
/// <param name="Supplier">Who supplied the chip, or null when unknown.</param>
public sealed record DeviceLot(string DeviceId, string Lot, string? DateCode, string? Supplier)
{
    /// <summary>
    /// The lot stored for a real Core the rig knows no lot for (no inventory imported yet): never the simulator's
    /// placeholder, so reports do not mix real Cores into a simulated population's lot.
    /// </summary>
    public const string Unknown = "unknown";
}

/// <summary>An inventory file that was rejected as a whole; <see cref="Errors"/> lists every problem found.</summary>
public sealed class InventoryFormatException : Exception
{
    public InventoryFormatException()
        : this([])
    {
    }

    public InventoryFormatException(string message)
        : base(message)
    {
        Errors = [message];
    }

    public InventoryFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [message];
    }

    public InventoryFormatException(IReadOnlyList<string> errors)
        : base(Summarise(errors))
    {
        Errors = errors;
    }

    /// <summary>One line per problem: "file:line: field: 'value': what is valid".</summary>
    public IReadOnlyList<string> Errors { get; }

    private static string Summarise(IReadOnlyList<string> errors) =>
        errors.Count switch
        {
            0 => "inventory rejected",
            1 => errors[0],
            _ => $"inventory rejected, {errors.Count} problems, nothing imported:{Environment.NewLine}{string.Join(Environment.NewLine, errors)}",
        };
}
