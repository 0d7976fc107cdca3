using System.Diagnostics.CodeAnalysis;
using HilRig.Core.Config;

namespace HilRig.Cli.Commands;

internal static class ConfigLoading
{
    /// <summary>
    /// Loads the rig config; on failure prints every problem as one file:line:column line to
    /// <paramref name="error"/> and returns false, so the command can exit with <see cref="ExitCodes.BadInput"/>.
    /// </summary>
    public static bool TryLoad(FileInfo file, TextWriter error, [NotNullWhen(true)] out RigConfig? config)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(error);
        try
        {
            // ToString keeps the path as the user typed it, which is how errors should name the file.
            config = RigConfigLoader.Load(file.ToString());
            return true;
        }
        catch (ConfigException e)
        {
            foreach (var problem in e.Errors)
                error.WriteLine(problem.ToString());
            config = null;
            return false;
        }
    }

    /// <summary>As <see cref="TryLoad(FileInfo, TextWriter, out RigConfig?)"/>, with --store FILE (when given) as the rig's SQLite results store.</summary>
    public static bool TryLoad(FileInfo file, FileInfo? store, TextWriter error, [NotNullWhen(true)] out RigConfig? config)
    {
        if (!TryLoad(file, error, out config)) return false;
        if (store is not null)
            config = config with { Results = new ResultsStoreSettings(ResultsStoreKind.Sqlite, store.FullName, null) };
        return true;
    }
}
