using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace HilRig.Core.Config;

/// <summary>One key a mapping accepts: adding a key to the schema is one line in a table of these.</summary>
internal sealed record Field<T>(string Name, bool Required, Action<ConfigReader, YamlNode, string, T> Read);

/// <summary>Reads YAML nodes into values, collecting every problem with its position instead of stopping at the first.</summary>
internal sealed class ConfigReader(string file)
{
    public string File { get; } = file;

    public List<ConfigError> Errors { get; } = [];

    public void Error(YamlNode node, string field, string message) =>
        Errors.Add(new ConfigError(File, node.Start.Line, node.Start.Column, field, message));

    public static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    public static string Show(YamlNode node) => node switch
    {
        YamlScalarNode s => $"'{s.Value}'",
        YamlSequenceNode => "a list",
        YamlMappingNode => "a mapping",
        _ => "an unknown node",
    };

    /// <summary>Reads a mapping through its field table; returns the nodes seen per key (for later cross-checks).</summary>
    public Dictionary<string, YamlNode> ReadMapping<T>(YamlNode node, string path, T target, IReadOnlyList<Field<T>> fields)
    {
        var seen = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        var valid = string.Join(", ", fields.Select(f => f.Name));
        if (node is not YamlMappingNode map)
        {
            Error(node, path, $"{Show(node)} is not a mapping; expected keys: {valid}");
            return seen;
        }
        foreach (var (keyNode, value) in map.Children)
        {
            var key = (keyNode as YamlScalarNode)?.Value ?? "";
            var field = fields.FirstOrDefault(f => f.Name == key);
            if (field is null)
            {
                Error(keyNode, Join(path, key), $"unknown key '{key}'; valid: {valid}");
                continue;
            }
            seen[key] = value;
            field.Read(this, value, Join(path, key), target);
        }
        foreach (var missing in fields.Where(f => f.Required && !seen.ContainsKey(f.Name)))
            Error(map, Join(path, missing.Name), $"missing required key '{missing.Name}'");
        return seen;
    }

    public IReadOnlyList<YamlNode> ReadSequence(YamlNode node, string path, string what)
    {
        if (node is YamlSequenceNode seq)
            return seq.Children.ToList();
        Error(node, path, $"{Show(node)} is not a list; expected a list of {what}");
        return [];
    }

    public string? ReadString(YamlNode node, string path, string what)
    {
        if (node is YamlScalarNode { Value: { Length: > 0 } value })
            return value;
        Error(node, path, $"{Show(node)} is not {what}; expected a non-empty text");
        return null;
    }

    public static bool TryParseInt(string? text, out long value)
    {
        value = 0;
        if (text is null)
            return false;
        var t = text.Replace("_", "", StringComparison.Ordinal);
        if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            return long.TryParse(t.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        return long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>An integer (decimal or 0x hex) within [min, max]; <paramref name="what"/> names it in the error.</summary>
    public int? ReadInt(YamlNode node, string path, long min, long max, string what, bool hex = false, string? valid = null)
    {
        var range = valid ?? (hex
            ? $"0x{min:x2}-0x{max:x2}"
            : string.Create(CultureInfo.InvariantCulture, $"{min}-{max}"));
        var text = (node as YamlScalarNode)?.Value;
        if (TryParseInt(text, out var value) && value >= min && value <= max)
            return (int)value;
        var shown = node is YamlScalarNode ? text : Show(node);
        Error(node, path, $"{shown} is not {what}; valid: {range}");
        return null;
    }

    public double? ReadNumber(YamlNode node, string path, string what, Func<double, bool> accept, string valid)
    {
        var text = (node as YamlScalarNode)?.Value;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            && double.IsFinite(value) && accept(value))
            return value;
        var shown = node is YamlScalarNode ? text : Show(node);
        Error(node, path, $"{shown} is not {what}; valid: {valid}");
        return null;
    }

    public bool? ReadBool(YamlNode node, string path)
    {
        var text = (node as YamlScalarNode)?.Value;
        if (string.Equals(text, "true", StringComparison.OrdinalIgnoreCase))
            return true;
        if (string.Equals(text, "false", StringComparison.OrdinalIgnoreCase))
            return false;
        Error(node, path, $"{(node is YamlScalarNode ? text : Show(node))} is not a boolean; valid: true, false");
        return null;
    }

    /// <summary>One of a fixed set of names, case-insensitive.</summary>
    public TEnum? ReadChoice<TEnum>(YamlNode node, string path, string what, IReadOnlyList<(string Name, TEnum Value)> choices)
        where TEnum : struct
    {
        var text = (node as YamlScalarNode)?.Value;
        foreach (var (name, value) in choices)
        {
            if (string.Equals(name, text, StringComparison.OrdinalIgnoreCase))
                return value;
        }
        Error(node, path,
            $"{(node is YamlScalarNode ? text : Show(node))} is not {what}; valid: {string.Join(", ", choices.Select(c => c.Name))}");
        return null;
    }
}
