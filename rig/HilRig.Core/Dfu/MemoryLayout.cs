using System.Globalization;

namespace HilRig.Core.Dfu;

/// <summary>One run of equal pages of a DfuSe memory map, with its R/E/W type bits.</summary>
public sealed record MemorySegment(uint Start, int PageSize, int PageCount, bool Readable, bool Erasable, bool Writable)
{
    public long Length => (long)PageSize * PageCount;

    /// <summary>One past the last byte.</summary>
    public long End => Start + Length;

    public bool Contains(uint address) => address >= Start && address < End;

    /// <summary>Start of the page holding <paramref name="address"/> (pages are laid out from the segment start, so no power-of-two needed).</summary>
    public uint PageStart(uint address) => (uint)(Start + (address - Start) / (uint)PageSize * (uint)PageSize);

    /// <summary>dfu-util's "(rew)" notation.</summary>
    public string TypeText => $"{(Readable ? "r" : "")}{(Erasable ? "e" : "")}{(Writable ? "w" : "")}";

    public override string ToString() => $"0x{Start:X8}-0x{End - 1:X8} {PageCount} x {PageSize} ({TypeText})";
}

/// <summary>
/// A DfuSe alt-setting name parsed as a memory map (UM0424, protocols.md §2.5):
/// <c>@Name/0xADDR/NN*SSSSut,NN*SSSSut/0xADDR2/...</c>.
/// </summary>
public sealed class MemoryLayout
{
    private MemoryLayout(string name, IReadOnlyList<MemorySegment> segments)
    {
        Name = name;
        Segments = segments;
    }

    /// <summary>The name between '@' and the first '/', trailing spaces kept ("Internal Flash  ").</summary>
    public string Name { get; }

    public IReadOnlyList<MemorySegment> Segments { get; }

    public MemorySegment? FindSegment(uint address) => Segments.FirstOrDefault(s => s.Contains(address));

    public override string ToString() => $"@{Name}: {string.Join(", ", Segments)}";

    /// <summary>Parses an alt name; a malformed one throws <see cref="FormatException"/> naming the offending part.</summary>
    public static MemoryLayout Parse(string altName)
    {
        ArgumentNullException.ThrowIfNull(altName);
        if (!altName.StartsWith('@'))
            throw new FormatException($"memory layout '{altName}': must start with '@' (DfuSe form @Name/0xADDR/NN*SSSSut,...)");
        var firstSlash = altName.IndexOf('/', StringComparison.Ordinal);
        if (firstSlash < 0)
            throw new FormatException($"memory layout '{altName}': no '/0xADDR/' section after the name");
        var name = altName[1..firstSlash];
        var parts = altName[(firstSlash + 1)..].Split('/');
        var count = parts.Length;
        if (count > 0 && parts[^1].Length == 0) count--; // a trailing '/' ends the last section
        if (count == 0)
            throw new FormatException($"memory layout '{altName}': no '/0xADDR/' section after the name");
        if (count % 2 != 0)
            throw new FormatException($"memory layout '{altName}': section '{parts[count - 1]}' has an address but no page groups");

        var segments = new List<MemorySegment>();
        for (var i = 0; i < count; i += 2)
        {
            var address = ParseAddress(altName, parts[i]);
            var groups = parts[i + 1];
            if (groups.Length == 0)
                throw new FormatException($"memory layout '{altName}': section at '{parts[i]}' has no page groups (valid: NN*SSSSut, e.g. 20*001Ka)");
            foreach (var group in groups.Split(','))
            {
                var segment = ParseGroup(altName, group, address);
                segments.Add(segment);
                address += segment.Length;
                if (address > 0x1_0000_0000L)
                    throw new FormatException($"memory layout '{altName}': group '{group}' runs past the 4 GiB address space");
            }
        }
        return new MemoryLayout(name, segments);
    }

    private static long ParseAddress(string altName, string text)
    {
        var t = text.Trim();
        if (!t.StartsWith("0x", StringComparison.OrdinalIgnoreCase) || t.Length == 2 ||
            !uint.TryParse(t.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var address))
            throw new FormatException($"memory layout '{altName}': start address '{text}' is not a 32-bit hex number like 0x08000000");
        return address;
    }

    private static MemorySegment ParseGroup(string altName, string group, long start)
    {
        // count '*' size unit type, e.g. "108*001Kg"; ST ROMs write a space as the unit for bytes ("01*016 g").
        var star = group.IndexOf('*', StringComparison.Ordinal);
        string Bad(string why) => $"memory layout '{altName}': page group '{group}' {why} (valid: NN*SSSSut, unit B/K/M/space, type a-g)";
        if (star <= 0) throw new FormatException(Bad("has no 'count*' prefix"));
        if (!int.TryParse(group.AsSpan(0, star), NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count <= 0)
            throw new FormatException(Bad($"has page count '{group[..star]}', not a positive decimal number"));
        var rest = group[(star + 1)..];
        var digits = 0;
        while (digits < rest.Length && char.IsAsciiDigit(rest[digits])) digits++;
        if (digits == 0 || !int.TryParse(rest.AsSpan(0, digits), NumberStyles.None, CultureInfo.InvariantCulture, out var size) || size <= 0)
            throw new FormatException(Bad("has no positive decimal page size after '*'"));
        if (rest.Length != digits + 2)
            throw new FormatException(Bad($"must end with one unit and one type letter after the size, found '{rest[digits..]}'"));
        var multiplier = rest[digits] switch
        {
            'B' or ' ' => 1L,
            'K' => 1024L,
            'M' => 1024L * 1024,
            var u => throw new FormatException(Bad($"has unit '{u}'")),
        };
        var type = rest[digits + 1];
        if (type is < 'a' or > 'g') throw new FormatException(Bad($"has type '{type}'"));
        var pageSize = size * multiplier;
        if (pageSize > int.MaxValue) throw new FormatException(Bad("has a page size over 2 GiB"));
        var bits = type & 7;
        return new MemorySegment((uint)start, (int)pageSize, count, (bits & 1) != 0, (bits & 2) != 0, (bits & 4) != 0);
    }
}
