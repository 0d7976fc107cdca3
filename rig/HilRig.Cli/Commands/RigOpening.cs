using System.CommandLine;
using HilRig.Composition;
using HilRig.Core.Config;
using HilRig.Core.Results;
using HilRig.Core.Slots;

namespace HilRig.Cli.Commands;

/// <summary>Opens the rig a config describes; a rig that cannot open is one clear line and an exit code, never a stack trace.</summary>
internal sealed class RigOpening : IDisposable
{
    private readonly SlotLease? _lease;

    private RigOpening(RigSession? session, int exitCode, SlotLease? lease = null)
    {
        Session = session;
        ExitCode = exitCode;
        _lease = lease;
    }

    public RigSession? Session { get; }

    public int ExitCode { get; }

    /// <summary>
    /// Takes the lease on the slots <paramref name="claim"/> names (default: the whole rig) before anything is opened,
    /// so no relay, button or simulated flash is touched while another hilrig process drives it; the lease ends when
    /// the opening is disposed, after the session (and the simulator's saved state) is.
    /// </summary>
    public static RigOpening Open(RigConfig config, TextWriter error, RigSessionOptions? options = null, RigClaim? claim = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(error);
        claim ??= RigClaim.WholeRig(null);
        var exit = TryLease(config, error, claim, out var lease, out var slots);
        if (lease is null) return new RigOpening(null, exit);
        var opened = OpenLeased(config, error, slots is null ? options : OnlyLeasedState(options, slots));
        if (opened.Session is null)
        {
            lease.Dispose();
            return opened;
        }
        return new RigOpening(opened.Session, opened.ExitCode, lease);
    }

    /// <summary>
    /// Takes the lease a claim names: <see cref="ExitCodes.Ok"/> and the lease, or the exit code with one line said
    /// (a slot not on the rig: 2; held by another process: 4, naming it; a lock folder that cannot be written: 2).
    /// </summary>
    public static int TryLease(RigConfig config, TextWriter error, RigClaim claim, out SlotLease? lease, out IReadOnlyList<int>? slots)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(claim);
        lease = null;
        var rigSlots = config.Slots.Select(s => s.Number).ToList();
        try
        {
            slots = claim.Resolve(rigSlots);
        }
        catch (FormatException ex)
        {
            slots = null;
            error.WriteLine($"hilrig: {ex.Message}");
            return ExitCodes.BadInput;
        }
        if (RefusesFleetStore(config, claim.Command, error))
            return ExitCodes.BadInput;
        if (config.Results.Kind == ResultsStoreKind.Sqlite && ResultsPathProblem(config) is { } bad)
        {
            error.WriteLine($"hilrig: {config.SourcePath}: results.path: {bad}");
            return ExitCodes.BadInput;
        }
        var lockDirectory = LockDirectory(config);
        try
        {
            lease = SlotLease.AcquireAsync(lockDirectory, slots, rigSlots, claim.Command, claim.Wait, TimeProvider.System).GetAwaiter().GetResult();
            return ExitCodes.Ok;
        }
        catch (SlotBusyException ex)
        {
            error.WriteLine($"hilrig: {ex.Message}");
            return ExitCodes.Busy;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"hilrig: {config.SourcePath}: results.path: cannot keep slot locks in {lockDirectory}: {ex.Message}; valid: a folder this user can write");
            return ExitCodes.BadInput;
        }
    }

    /// <summary>
    /// True, with one line said, for a config whose results are kind: postgres: a rig records on its own SQLite store,
    /// works with the network down and forwards with `hilrig sync`; writing straight into a fleet would also bypass the
    /// ingest that keeps the fleet's rollups exact.
    /// </summary>
    public static bool RefusesFleetStore(RigConfig config, string command, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(error);
        if (config.Results.Kind != ResultsStoreKind.Postgres)
            return false;
        error.WriteLine($"hilrig: {config.SourcePath}: results.kind: postgres: `{command}` drives a rig, which records on its own SQLite store and forwards it to the fleet with `hilrig sync`; valid here: results: {{ kind: sqlite, path: results/hilrig.db }}, with fleet: {{ connectionString: ... }}");
        return true;
    }

    /// <summary>What is wrong with a SQLite results path before anything is driven or written (null: nothing).</summary>
    private static string? ResultsPathProblem(RigConfig config)
    {
        var path = config.ResolveStorePath();
        if (Directory.Exists(path)) return $"{path} is a folder; valid: a database file path, e.g. results/hilrig.db";
        if (StoreLocation.NotSqlite(path) is { } why) return $"{path}: not a results store: {why}; valid: a SQLite file written by hilrig, or a new path";
        var folder = Path.GetDirectoryName(path) ?? ".";
        try
        {
            Directory.CreateDirectory(folder);
            // a folder that exists but takes no files (read-only mount, /proc, another user's) fails here, not mid-run
            using (File.Create(Path.Combine(folder, $".hilrig-write-check-{Environment.ProcessId}"), 1, FileOptions.DeleteOnClose)) { }
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"{path}: cannot write in {folder}: {ex.Message}; valid: a path in a folder this user can write";
        }
    }

    /// <summary>
    /// Where the slot locks live: next to the results store, like the simulator's saved state, so every command on
    /// one rig (one store) shares them; a rig whose store is not a file keeps them in the runtime folder.
    /// </summary>
    public static string LockDirectory(RigConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Results.Kind == ResultsStoreKind.Sqlite)
            return Path.Combine(Path.GetDirectoryName(config.ResolveStorePath()) ?? ".", "locks");
        var runtime = Directory.Exists("/run/hilrig") ? "/run/hilrig" : Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") is { Length: > 0 } xdg ? Path.Combine(xdg, "hilrig") : Path.Combine(Path.GetTempPath(), "hilrig");
        return Path.Combine(runtime, "locks-" + config.RigId);
    }

    /// <summary>A session leasing some slots saves only their simulated flash: the others belong to whoever holds them.</summary>
    private static RigSessionOptions? OnlyLeasedState(RigSessionOptions? options, IReadOnlyList<int> slots) =>
        options is { Simulator.StateDirectory: not null } ? options with { Simulator = options.Simulator with { StateSlots = slots } } : options;

    private static RigOpening OpenLeased(RigConfig config, TextWriter error, RigSessionOptions? options)
    {
        try
        {
            var session = RigSession.Open(config, options);
            if (options is not null) JournalSupport.InstallCrashPoints(session, options, error);
            // a crash left Cores half-written: screen puts them back first, `hilrig recover` does it alone
            if (JournalSupport.Journal(config).Pending() is { Count: > 0 } pending)
                error.WriteLine($"hilrig: {pending.Count} interrupted Core(s) in the journal (slot(s) {string.Join(", ", pending.Select(p => p.Manifest.Slot))}): `hilrig screen` puts them back first; `hilrig recover` does it alone");
            return new RigOpening(session, ExitCodes.Ok);
        }
        catch (BackendUnavailableException ex)
        {
            error.WriteLine($"hilrig: {ex.Message}");
            return new RigOpening(null, ExitCodes.BadInput);
        }
        catch (HilRig.Core.Slots.RigDeviceException ex)
        {
            // Already one line naming the device and the fix (a Pi device node, a chip that does not answer).
            error.WriteLine($"hilrig: {ex.Message}");
            return new RigOpening(null, ExitCodes.RigFault);
        }
        catch (IOException ex)
        {
            error.WriteLine($"hilrig: the rig did not answer while opening: {ex.Message}");
            return new RigOpening(null, ExitCodes.RigFault);
        }
    }

    /// <summary>
    /// CLI sessions keep the simulated Cores' flash next to the results store, like real Cores keep theirs, and
    /// colour-sensor calibrations in the results store, per rig and slot.
    /// </summary>
    public static RigSessionOptions PersistentSim(RigConfig config) => new()
    {
        Simulator = new SimBackendOptions { StateDirectory = SimStateDirectory(config) },
        // opened by the session once the rig opened: a rig that cannot open writes nothing
        OpenCalibrationStore = () => ResultsStore.Open(config.ResolveStorePath()),
    };

    /// <summary>For commands that only inspect the rig (doctor): no store is created, nothing is calibrated behind their back.</summary>
    public static RigSessionOptions Inspecting(RigConfig config) => new()
    {
        Simulator = new SimBackendOptions { StateDirectory = SimStateDirectory(config) },
        CalibrateAtOpen = false,
    };

    // A config that is not a rig's (kind: postgres) is refused when the rig is leased; until then it only needs a name.
    private static string SimStateDirectory(RigConfig config) => config.Results.Kind == ResultsStoreKind.Sqlite
        ? Path.Combine(Path.GetDirectoryName(config.ResolveStorePath()) ?? ".", "sim-state")
        : Path.Combine(Path.GetDirectoryName(LockDirectory(config)) ?? ".", "sim-state-" + config.RigId);

    public void Dispose()
    {
        // the session first: the simulator saves its Cores' flash on dispose, still under the lease
        try
        {
            Session?.Dispose();
        }
        finally
        {
            _lease?.Dispose();
        }
    }
}

/// <summary>What a command will drive: some slots (a --slots list or one --slot) or the whole rig, and how long to wait for them.</summary>
internal sealed record RigClaim(string? SlotSpec, int? Slot, TimeSpan Wait, string Command)
{
    /// <summary>--wait SECONDS: how long a command waits for slots another hilrig process holds (default 0: refuse at once).</summary>
    public static Option<double> WaitOption()
    {
        var option = new Option<double>("--wait")
        {
            Description = "seconds to wait for slots another hilrig process is driving (default 0: refuse at once, exit 4)",
            DefaultValueFactory = _ => 0,
        };
        option.Validators.Add(r =>
        {
            var seconds = r.GetValueOrDefault<double>();
            if (double.IsNaN(seconds) || seconds is < 0 or > 86_400)
                r.AddError($"--wait {seconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}: valid: seconds, 0 to 86400");
        });
        return option;
    }

    /// <summary>Gives every command below <paramref name="command"/> that drives the rig its --wait.</summary>
    public static Command Leased(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (command.Subcommands.Count == 0) command.Options.Add(WaitOption());
        foreach (var sub in command.Subcommands) Leased(sub);
        return command;
    }

    public static RigClaim WholeRig(ParseResult? parse) => new(null, null, WaitOf(parse), CommandOf(parse));

    /// <summary>The slots of a --slots list (null or "all": every slot).</summary>
    public static RigClaim Slots(ParseResult parse, string? spec) => new(string.IsNullOrWhiteSpace(spec) ? "all" : spec, null, WaitOf(parse), CommandOf(parse));

    public static RigClaim OneSlot(ParseResult parse, int slot) => new(null, slot, WaitOf(parse), CommandOf(parse));

    /// <summary>The slot numbers claimed, or null for the whole rig.</summary>
    /// <exception cref="FormatException">A slot that is not on the rig, worded as the command's own option.</exception>
    public IReadOnlyList<int>? Resolve(IReadOnlyList<int> rigSlots)
    {
        if (Slot is { } one)
            return rigSlots.Contains(one) ? [one] : throw new FormatException($"--slot: slot {one} is not on this rig; valid: {string.Join(",", rigSlots)}");
        return SlotSpec is null ? null : SlotSelection.Parse(SlotSpec, rigSlots);
    }

    private static TimeSpan WaitOf(ParseResult? parse)
    {
        if (parse?.CommandResult.Command.Options.FirstOrDefault(o => o.Name == "--wait") is not Option<double> option) return TimeSpan.Zero;
        var seconds = parse.GetValue(option);
        return seconds is > 0 and <= 86_400 ? TimeSpan.FromSeconds(seconds) : TimeSpan.Zero;
    }

    private static string CommandOf(ParseResult? parse) =>
        parse is null ? "hilrig" : "hilrig " + string.Join(' ', parse.Tokens.Select(t => t.Value));
}

/// <summary>
/// What a command that screens opens, in this order: the rig (its lease first), the slots of its --slots, then the
/// results store; bad input or a rig that cannot open leaves nothing behind. `hilrig screen` and `hilrig station`.
/// </summary>
internal sealed class SlotsOpening : IDisposable
{
    private readonly RigOpening _rig;

    private SlotsOpening(RigOpening rig, int exitCode, IReadOnlyList<RigSlot> slots, ResultsStore? store, string storePath)
    {
        _rig = rig;
        ExitCode = exitCode;
        Slots = slots;
        Store = store;
        StorePath = storePath;
    }

    /// <summary>The rig; null when something did not open (<see cref="ExitCode"/> says why, one line said).</summary>
    public RigSession? Session => Store is null ? null : _rig.Session;

    public IReadOnlyList<RigSlot> Slots { get; }

    /// <summary>The results store; null when something did not open.</summary>
    public ResultsStore? Store { get; }

    public string StorePath { get; }

    public int ExitCode { get; }

    public static SlotsOpening Open(RigConfig config, TextWriter error, RigSessionOptions options, RigClaim claim, string? slotSpec)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(error);
        // the rig refuses a postgres results section in one line first; only then has the config a store path
        var rig = RigOpening.Open(config, error, options, claim);
        if (rig.Session is not { } session) return new SlotsOpening(rig, rig.ExitCode, [], null, "");
        var storePath = config.ResolveStorePath();
        IReadOnlyList<RigSlot> selected;
        try
        {
            selected = session.Select(slotSpec);
        }
        catch (FormatException ex)
        {
            error.WriteLine($"hilrig: {ex.Message}");
            return new SlotsOpening(rig, ExitCodes.BadInput, [], null, storePath);
        }
        // the store is opened once the rig and the slots are
        try
        {
            return new SlotsOpening(rig, ExitCodes.Ok, selected, ResultsStore.Open(storePath), storePath);
        }
        catch (ResultsStoreException ex)
        {
            error.WriteLine($"hilrig: {ex.Message}");
            return new SlotsOpening(rig, ExitCodes.BadInput, [], null, storePath);
        }
    }

    public void Dispose() => _rig.Dispose();
}
