namespace HilRig.Core.Config;

/// <summary>One problem in a config file, printed as <c>file:line:column: field: message</c>.</summary>
public sealed record ConfigError(string File, long Line, long Column, string Field, string Message)
{
    public override string ToString() =>
        Field.Length == 0 ? $"{File}:{Line}:{Column}: {Message}" : $"{File}:{Line}:{Column}: {Field}: {Message}";
}

/// <summary>Thrown when a config file has problems; carries every problem found, not just the first.</summary>
public sealed class ConfigException : Exception
{
    public ConfigException(IReadOnlyList<ConfigError> errors)
        : base(string.Join(Environment.NewLine, errors))
    {
        Errors = errors;
    }

    public ConfigException()
        : this([])
    {
    }

    public ConfigException(string message)
        : base(message)
    {
        Errors = [];
    }

    public ConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [];
    }

    public IReadOnlyList<ConfigError> Errors { get; }
}
