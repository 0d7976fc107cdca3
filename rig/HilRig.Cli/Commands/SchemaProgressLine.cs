using System.Diagnostics;
using System.Globalization;
using HilRig.Core.Results;

namespace HilRig.Cli.Commands;

/// <summary>
/// What a command prints while it upgrades an existing store's schema (a step may rebuild an index of a 7 GB store for
/// minutes): each step as it starts and, when done, how long it took; and the integrity check an open runs first (a big store's once a day)
/// (a read of the whole file: 18 min for a 7 GB store on a loaded machine), but only once it has taken longer than
/// <see cref="QuietCheck"/>, so a small store's commands print nothing extra. Standard error only, so a JSON or CSV
/// answer on standard output stays as it is; a store being created says nothing (its steps are instant).
/// </summary>
internal sealed class SchemaProgressLine(TextWriter error) : IDisposable
{
    /// <summary>How long an integrity check runs before it is worth a line.</summary>
    public static readonly TimeSpan QuietCheck = TimeSpan.FromSeconds(2);

    private readonly Stopwatch _step = new();
    private readonly Lock _gate = new();
    private Timer? _slowCheck;
    private bool _checkTold;

    public void Report(SchemaStepProgress step)
    {
        ArgumentNullException.ThrowIfNull(step);
        if (step.Step == 0)
        {
            Check(step);
            return;
        }
        if (step.From == 0) return;
        var name = $"store {Shown(step.Store)}: schema step {step.Step} of {step.Latest} ({step.Title})";
        if (!step.Finished)
        {
            _step.Restart();
            Write($"{name} ...");
        }
        else
        {
            Write(string.Create(CultureInfo.InvariantCulture, $"{name} done in {_step.Elapsed.TotalSeconds:0.0} s"));
        }
    }

    private void Check(SchemaStepProgress check)
    {
        var name = $"store {Shown(check.Store)}: integrity check";
        lock (_gate)
        {
            if (!check.Finished)
            {
                _step.Restart();
                _checkTold = false;
                _slowCheck = new Timer(_ =>
                {
                    lock (_gate)
                    {
                        if (_slowCheck is null) return;
                        _checkTold = true;
                        Write($"{name} (reads the whole store) ...");
                    }
                }, null, QuietCheck, Timeout.InfiniteTimeSpan);
                return;
            }
            _slowCheck?.Dispose();
            _slowCheck = null;
            if (_checkTold)
                Write(string.Create(CultureInfo.InvariantCulture, $"{name} done in {_step.Elapsed.TotalSeconds:0.0} s"));
        }
    }

    /// <summary>Ends a check that never finished (the store was refused): its line is not printed after the command's error.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _slowCheck?.Dispose();
            _slowCheck = null;
        }
    }

    private void Write(string line)
    {
        error.WriteLine(line);
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
