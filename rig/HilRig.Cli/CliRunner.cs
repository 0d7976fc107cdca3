using System.CommandLine;
using System.Runtime.InteropServices;
using HilRig.Cli.Commands;

namespace HilRig.Cli;

/// <summary>Exit codes shared by every command (the README's table says the same).</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int DutFailed = 1;
    public const int BadInput = 2;
    public const int RigFault = 3;

    /// <summary>The slots (or the rig) are being driven by another hilrig process; nothing was done.</summary>
    public const int Busy = 4;

    /// <summary>A bug in hilrig itself: an error no command expected (one line, no stack trace unless HILRIG_DEBUG=1).</summary>
    public const int InternalError = 70;

    /// <summary>`hilrig sync`/`fleet`: the fleet server could not be reached, or went away mid-batch (try again later).</summary>
    public const int FleetUnreachable = 5;

    /// <summary>`hilrig sync`/`fleet`: the fleet server refused the login (wrong password, no such role).</summary>
    public const int FleetLogin = 6;

    /// <summary>`hilrig sync`: the rig's role may not do that (another rig's rows, not a registered rig).</summary>
    public const int FleetPermission = 7;

    /// <summary>`hilrig sync`/`fleet`: the fleet database's schema is newer or older than this hilrig, or not a fleet.</summary>
    public const int FleetSchema = 8;

    /// <summary>Stopped by SIGINT or SIGTERM before the end (the shell's 128 + SIGINT).</summary>
    public const int Stopped = 130;
}

/// <summary>
/// Parses and runs a command line: a parse problem is one line and exit 2; an error a command did not handle is one
/// line too (a path that cannot be read or written, a file that is not a results store: exit 2; anything else: an
/// internal error, exit 70), never a stack trace, and never exit 1, which means a failed DUT only.
/// </summary>
internal static class CliRunner
{
    public static Task<int> InvokeAsync(RootCommand root, string[] args) => InvokeAsync(root, args, Console.Out, Console.Error);

    public static async Task<int> InvokeAsync(RootCommand root, string[] args, TextWriter output, TextWriter error, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(error);
        if (args.Length == 0)
        {
            // no command is bad input (exit 2), but the answer to it is the list of commands, not one parser line
            Usage(root, error);
            return ExitCodes.BadInput;
        }
        // help fits the terminal (80 columns in a pipe), as every table does
        foreach (var help in root.Options.OfType<System.CommandLine.Help.HelpOption>())
            if (help.Action is System.CommandLine.Help.HelpAction action) action.MaxWidth = Terminal.Width(output);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // "Required command was not provided" only repeats an unrecognised command's own line
            var problems = parse.Errors.Count > 1 ? parse.Errors.Where(p => !p.Message.StartsWith("Required command", StringComparison.Ordinal)) : parse.Errors;
            foreach (var problem in problems)
                error.WriteLine($"hilrig: {OneLine(problem)}");
            return ExitCodes.BadInput;
        }
        if (InputPaths.Check(parse) is { } bad)
        {
            error.WriteLine($"hilrig: {bad}");
            return ExitCodes.BadInput;
        }
        // human text is broken at spaces to the terminal's width (80 in a pipe or a file, COLUMNS if set); machine
        // output never is, nor is a problem line ("hilrig: ..."), and a word (an id, a path) is never cut
        var wrappedError = new WrappingWriter(error);
        var wrappedOutput = ForMachines(parse) ? output : new WrappingWriter(output);
        // every store the command opens tells its schema upgrade here, on standard error
        using var progress = new SchemaProgressLine(wrappedError);
        using var upgrades = HilRig.Core.Results.ResultsStore.ObserveSchemaSteps(progress.Report);
        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { Output = wrappedOutput, Error = wrappedError, EnableDefaultExceptionHandler = false }, ct);
        }
        catch (Exception ex)
        {
            return Report(ex, wrappedError);
        }
        finally
        {
            wrappedError.Flush();
            wrappedOutput.Flush();
        }
    }

    /// <summary>Standard output meant for a program: --format json/csv/html, a completion script, an inventory CSV, a connection string.</summary>
    private static bool ForMachines(ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        if (command.Options.FirstOrDefault(o => o.Name == "--format") is Option<string> format && parse.GetValue(format) is { } value && value != "table")
            return true;
        return command.Name is "completion" or "export-lots" or "add-rig";
    }

    /// <summary>What a bare `hilrig` prints: one line per command with its description.</summary>
    private static void Usage(RootCommand root, TextWriter error)
    {
        error.WriteLine("usage: hilrig COMMAND [options]   (hilrig COMMAND --help: its options)");
        error.WriteLine();
        error.WriteLine("commands:");
        var width = root.Subcommands.Select(c => c.Name.Length).DefaultIfEmpty(0).Max();
        foreach (var command in root.Subcommands.Where(c => !c.Hidden).OrderBy(c => c.Name, StringComparer.Ordinal))
            error.WriteLine(TextWrap.Paragraph($"  {command.Name.PadRight(width)}  {command.Description}", Terminal.Width(error), new string(' ', width + 4)));
    }

    /// <summary>A parse error on one line, naming the option it is about when the parser's words do not.</summary>
    private static string OneLine(System.CommandLine.Parsing.ParseError problem)
    {
        var message = string.Join(' ', problem.Message.Split((char[])['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        var option = problem.SymbolResult switch
        {
            System.CommandLine.Parsing.OptionResult o => o.Option.Name,
            System.CommandLine.Parsing.ArgumentResult { Parent: System.CommandLine.Parsing.OptionResult o } => o.Option.Name,
            _ => null,
        };
        return option is null || message.Contains(option, StringComparison.Ordinal) ? message : $"{option}: {message}";
    }

    /// <summary>The one line for an error no command handled, and its exit code.</summary>
    internal static int Report(Exception ex, TextWriter error)
    {
        var (code, line) = ex switch
        {
            OperationCanceledException => (ExitCodes.Stopped, "stopped"),
            OutputFileException o => (ExitCodes.BadInput, o.Message),
            HilRig.Core.Results.ResultsStoreException s => (ExitCodes.BadInput, s.Message),
            Microsoft.Data.Sqlite.SqliteException { SqliteErrorCode: 26 } => (ExitCodes.BadInput, "the results store is not a SQLite database (SQLite error 26); give a HilRig results store"),
            UnauthorizedAccessException or DirectoryNotFoundException or FileNotFoundException or PathTooLongException => (ExitCodes.BadInput, ex.Message),
            _ => (ExitCodes.InternalError, $"internal error: {ex.GetType().Name}: {ex.Message} (a bug in hilrig; HILRIG_DEBUG=1 shows where)"),
        };
        error.WriteLine($"hilrig: {line.ReplaceLineEndings(" ")}");
        if (Environment.GetEnvironmentVariable("HILRIG_DEBUG") == "1") error.WriteLine(ex);
        return code;
    }
}

/// <summary>
/// Every file or folder named on the command line (options and arguments of type FileInfo) is checked before a
/// command runs: a folder where a file is wanted, or a device or pipe given as an input (/dev/zero as --config,
/// which would be read forever), is one line and exit 2.
/// </summary>
internal static class InputPaths
{
    /// <summary>Options that name where to write: /dev/null and /dev/stdout are fine there, folders are not.</summary>
    private static readonly HashSet<string> Outputs = new(StringComparer.Ordinal) { "--out", "--output" };

    public static string? Check(ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        foreach (var option in command.Options)
        {
            if (option.ValueType != typeof(FileInfo) || parse.GetResult(option) is not { Implicit: false } given) continue;
            if (given.GetValueOrDefault<FileInfo?>() is { } file && Problem(file, Outputs.Contains(option.Name)) is { } p)
                return $"{option.Name} {file}: {p}";
        }
        foreach (var argument in command.Arguments)
        {
            // an argument not given (--help without it) has nothing to check
            if (parse.GetResult(argument) is not { Tokens.Count: > 0 } given) continue;
            // a FileInfo argument, or a string one naming a path that exists (led classify TRACE)
            var file = argument.ValueType == typeof(FileInfo) ? given.GetValueOrDefault<FileInfo?>()
                : argument.ValueType == typeof(string) && given.GetValueOrDefault<string?>() is { Length: > 0 } text && Path.Exists(text) ? new FileInfo(text)
                : null;
            if (file is not null && Problem(file, output: false) is { } p)
                return $"{file}: {p}";
        }
        return null;
    }

    private static string? Problem(FileInfo file, bool output)
    {
        var path = file.FullName;
        if (Directory.Exists(path)) return "is a folder; valid: a file";
        if (output || !File.Exists(path)) return null; // a missing input is the command's own message
        return FileKind(path) is { } kind ? $"is {kind}, not a regular file; valid: a file" : null;
    }

    /// <summary>"a character device", "a pipe" ... for what is not a regular file; null for a regular file (or when unknown).</summary>
    private static string? FileKind(string path)
    {
        // st_mode's offset in glibc's struct stat: after st_dev and st_ino (and st_nlink on x86-64)
        var offset = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => 24,
            Architecture.Arm64 => 16,
            _ => -1,
        };
        if (offset < 0 || !OperatingSystem.IsLinux()) return null;
        var buffer = new byte[256];
        try
        {
            if (stat(path, buffer) != 0) return null;
        }
        catch (EntryPointNotFoundException)
        {
            return null; // a C library without the stat symbol: the command's own reading decides
        }
        return (BitConverter.ToUInt32(buffer, offset) & 0xF000) switch
        {
            0x8000 => null,
            0x2000 => "a character device",
            0x6000 => "a block device",
            0x1000 => "a pipe",
            0xC000 => "a socket",
            _ => "not a regular file",
        };
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int stat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte[] buffer);
}

/// <summary>An output file that could not be written; nothing was left behind (no .partial file).</summary>
internal sealed class OutputFileException : IOException
{
    public OutputFileException(string message) : base(message) { }

    public OutputFileException() { }

    public OutputFileException(string message, Exception inner) : base(message, inner) { }
}
