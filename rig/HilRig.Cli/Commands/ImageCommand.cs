using System.CommandLine;
using HilRig.Core.Spark;
using HilRig.Sim.Device.Firmware;

namespace HilRig.Cli.Commands;

/// <summary>`hilrig image generate`: plausible Spark application images for DFU and OTA loops.</summary>
internal static class ImageCommand
{
    public static Command Build()
    {
        var output = new Option<FileInfo>("--out") { Description = "file to write", Required = true };
        var seed = new Option<int>("--seed") { Description = "same seed, same bytes (default 1)", DefaultValueFactory = _ => 1 };
        var size = new Option<int>("--size")
        {
            Description = $"image size in bytes, {SparkAppImageGenerator.MinSize}-{SparkAppImageGenerator.MaxSize} (default {SparkAppImageGenerator.DefaultSize}, Tinker spark_2)",
            DefaultValueFactory = _ => SparkAppImageGenerator.DefaultSize,
        };
        var name = new Option<string>("--name") { Description = "app name in the image's identity string", DefaultValueFactory = _ => "app" };
        var version = new Option<string>("--app-version") { Description = "app version in the identity string", DefaultValueFactory = _ => "1.0.0" };
        var generate = new Command("generate", "write a plausible Spark Core application image (vector table SP 0x20005000, reset handler in the app area)");
        generate.Options.Add(output);
        generate.Options.Add(seed);
        generate.Options.Add(size);
        generate.Options.Add(name);
        generate.Options.Add(version);
        generate.SetAction(parse => Generate(parse.GetValue(output)!, parse.GetValue(seed), parse.GetValue(size), parse.GetValue(name)!, parse.GetValue(version)!, parse.InvocationConfiguration.Error));
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
}

internal static class FileOutput
{
    /// <summary>Write-then-rename, so a failure never leaves a half-written file behind.</summary>
    public static void WriteAtomically(string path, byte[] bytes)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
        var temp = path + ".partial";
        File.WriteAllBytes(temp, bytes);
        File.Move(temp, path, overwrite: true);
    }
}
