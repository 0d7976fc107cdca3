using System.Diagnostics;
using System.Globalization;
using HilRig.Core.Results;

namespace HilRig.Cli.Commands;

/// <summary>
/// What a command prints while it upgrades an existing store's schema (a step may rebuild an index of a 7 GB store for
/// minutes): each step as it starts and, when done, how long it took. Standard error only, so a JSON or CSV answer on
/// standard output stays as it is; a store being created says nothing (its steps are instant).
/// </summary>
internal sealed class SchemaProgressLine(TextWriter error)
{
    private readonly Stopwatch _step = new();

    public void Report(SchemaStepProgress step)
    {
        ArgumentNullException.ThrowIfNull(step);
        if (step.From == 0) return;
        var name = $"store {Shown(step.Store)}: schema step {step.Step} of {step.Latest} ({step.Title})";
        if (!step.Finished)
        {
            _step.Restart();
            error.WriteLine($"{name} ...");
        }
        else
        {
            error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name} done in {_step.Elapsed.TotalSeconds:0.0} s"));
        }
        error.Flush();
    }

    /// <summary>A store file under the current folder by its relative path, as the user most likely named it.</summary>
    private static string Shown(string store)
    {
        if (!Path.IsPathFullyQualified(store)) return store;
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, store);
        return relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathFullyQualified(relative) ? store : relative;
    }
}
