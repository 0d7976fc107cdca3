using System.CommandLine;
using System.Globalization;
using HilRig.Core.Config;
using HilRig.Core.Spark;
using HilRig.Sim.Device.Bootloader;
using HilRig.Sim.Device.Firmware;

namespace HilRig.Cli.Commands;

/// <summary>
/// `hilrig image generate`: plausible Spark application images for DFU and OTA loops, or (--bootloader) a plausible
/// bootloader image whose build stamp tells a simulated Core which bootloader behaviour it now runs.
/// </summary>
internal static class ImageCommand
{
    public static Command Build()
    {
        var output = CommonOptions.Output("image file to write (written whole or not at all)", required: true);
        var seed = new Option<int>("--seed") { Description = "same seed, same bytes (default 1)", DefaultValueFactory = _ => 1 };
        var size = new Option<int>("--size")
        {
            Description = $"image size in bytes, {SparkAppImageGenerator.MinSize}-{SparkAppImageGenerator.MaxSize} (default {SparkAppImageGenerator.DefaultSize}, Tinker spark_2)",
            DefaultValueFactory = _ => SparkAppImageGenerator.DefaultSize,
        };
        var name = new Option<string>("--name") { Description = "app name in the image's identity string", DefaultValueFactory = _ => "app" };
        var version = new Option<string>("--app-version") { Description = "app version in the identity string", DefaultValueFactory = _ => "1.0.0" };
        var bootloader = new Option<string?>("--bootloader")
        {
            Description = "write a bootloader image instead (for 0x08000000, at most 19 KiB) of this simulated build: BL13, BL14 or candidate",
        };
        var busyTimeout = new Option<double?>("--spi-busy-timeout-ms")
        {
            Description = $"candidate only: its SPI busy timeout in ms, > 0 and <= {SimCandidateConfig.MaxSpiBusyTimeoutMs} (default {SimCandidateConfig.Default.SpiBusyTimeoutMs})",
        };
        var staging = new Option<bool?>("--stage-factory-reset")
        {
            Description = $"candidate only: its factory reset stages through the backup slot (default {(SimCandidateConfig.Default.StageFactoryReset ? "true" : "false")})",
        };
        var generate = new Command("generate", "write a plausible Spark Core application image (vector table SP 0x20005000, reset handler in the app area), or with --bootloader a bootloader image");
        output.AddTo(generate);
        generate.Options.Add(seed);
        generate.Options.Add(size);
        generate.Options.Add(name);
        generate.Options.Add(version);
        generate.Options.Add(bootloader);
        generate.Options.Add(busyTimeout);
        generate.Options.Add(staging);
        generate.SetAction(parse => parse.GetValue(bootloader) is { } build
            ? GenerateBootloader(output.Get(parse)!, parse.GetValue(seed), build, parse.GetValue(busyTimeout), parse.GetValue(staging), parse.InvocationConfiguration.Error)
            : Generate(output.Get(parse)!, parse.GetValue(seed), parse.GetValue(size), parse.GetValue(name)!, parse.GetValue(version)!, parse.InvocationConfiguration.Error));
        var image = new Command("image", "firmware images");
        image.Subcommands.Add(generate);
        return image;
    }

    private static int Generate(FileInfo output, int seed, int size, string name, string version, TextWriter err)
    {
        if (size < SparkAppImageGenerator.MinSize || size > SparkAppImageGenerator.MaxSize)
        {
            err.WriteLine($"hilrig: --size {size}: valid: {SparkAppImageGenerator.MinSize}-{SparkAppImageGenerator.MaxSize} bytes (the app area holds {SparkMemoryMap.AppMaxSize})");
            return ExitCodes.BadInput;
        }
        if (name.Any(char.IsWhiteSpace) || version.Any(char.IsWhiteSpace) || name.Length == 0 || version.Length == 0)
        {
            err.WriteLine($"hilrig: --name '{name}' / --app-version '{version}': valid: non-empty, no spaces");
            return ExitCodes.BadInput;
        }
        var bytes = SparkAppImageGenerator.Generate(seed, name, version, size);
        FileOutput.WriteAtomically(output.FullName, bytes);
        err.WriteLine($"wrote {bytes.Length} bytes to {output} ({SparkAppImageGenerator.ReadIdentity(bytes)})");
        return ExitCodes.Ok;
    }

    private static int GenerateBootloader(FileInfo output, int seed, string name, double? busyTimeoutMs, bool? staging, TextWriter err)
    {
        BootloaderBuild? build = name.ToUpperInvariant() switch
        {
            "BL13" => BootloaderBuild.BL13,
            "BL14" => BootloaderBuild.BL14,
            "CANDIDATE" => BootloaderBuild.Candidate(new SimCandidateConfig(
                busyTimeoutMs ?? SimCandidateConfig.Default.SpiBusyTimeoutMs, staging ?? SimCandidateConfig.Default.StageFactoryReset)),
            _ => null,
        };
        if (build is null)
        {
            err.WriteLine($"hilrig: --bootloader {name}: valid: BL13, BL14, candidate");
            return ExitCodes.BadInput;
        }
        if (build.Kind != BootloaderKind.Candidate && (busyTimeoutMs is not null || staging is not null))
        {
            err.WriteLine($"hilrig: --spi-busy-timeout-ms / --stage-factory-reset: only the candidate has defects to set, not {name}");
            return ExitCodes.BadInput;
        }
        if (busyTimeoutMs is { } ms && !(ms > 0 && ms <= SimCandidateConfig.MaxSpiBusyTimeoutMs))
        {
            err.WriteLine($"hilrig: --spi-busy-timeout-ms {ms.ToString(CultureInfo.InvariantCulture)}: valid: > 0 and <= {SimCandidateConfig.MaxSpiBusyTimeoutMs.ToString(CultureInfo.InvariantCulture)} ms");
            return ExitCodes.BadInput;
        }
        var bytes = SparkBootloaderImage.Generate(build, seed);
        FileOutput.WriteAtomically(output.FullName, bytes);
        err.WriteLine($"wrote {bytes.Length} bytes to {output} (bootloader {build.Describe()}, for DFU alt 0 at 0x{SparkMemoryMap.BootloaderAddress:X8})");
        return ExitCodes.Ok;
    }
}

internal static class FileOutput
{
    /// <summary>Write-then-rename, so a failure never leaves a half-written file behind.</summary>
    /// <exception cref="OutputFileException">The file cannot be written there (one line naming it); nothing is left behind.</exception>
    public static void WriteAtomically(string path, byte[] bytes)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        var temp = path + ".partial";
        try
        {
            if (Directory.Exists(path)) throw new IOException("is a folder");
            if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
            File.WriteAllBytes(temp, bytes);
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            try
            {
                File.Delete(temp);
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
                // nothing was created there
            }
            throw new OutputFileException($"{path}: cannot write it: {ex.Message}; valid: a file in a folder this user can write", ex);
        }
    }
}
