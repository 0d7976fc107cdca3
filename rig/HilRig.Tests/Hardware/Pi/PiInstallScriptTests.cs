using System.Diagnostics;
using HilRig.Core.Config;

namespace HilRig.Tests.Hardware;

/// <summary>scripts/pi: the install script lays out a Pi install (checked under a prefix, without root), and every script is clean.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
[Category("Integration")] // starts real tools, servers or child processes
public class PiInstallScriptTests
{
    private static (int Exit, string Output) RunScript(string script, params string[] args)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.That(process.WaitForExit(60_000), Is.True, $"{script} did not finish within 60 s");
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    private static IEnumerable<string> Scripts() => Directory.GetFiles(RepoFiles.Path("scripts/pi"), "*.sh");

    [Test]
    public void Install_under_a_prefix_lays_out_the_build_rules_units_and_a_pi_config_and_changes_nothing_else()
    {
        var build = Directory.CreateTempSubdirectory("hilrig-build-").FullName;
        File.WriteAllText(Path.Combine(build, "hilrig"), "#!/bin/sh\necho hilrig\n");
        File.SetUnixFileMode(Path.Combine(build, "hilrig"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var root = Directory.CreateTempSubdirectory("hilrig-root-").FullName;

        var (exit, output) = RunScript(RepoFiles.Path("scripts/pi/install.sh"), "--prefix", root, "--from", build, "--user", "rigop", "--rid", "linux-arm64");
        Assert.That(exit, Is.Zero, output);

        Assert.That(File.Exists(Path.Combine(root, "opt/hilrig/hilrig")), Is.True);
        Assert.That(new FileInfo(Path.Combine(root, "usr/local/bin/hilrig")).LinkTarget, Is.EqualTo("/opt/hilrig/hilrig"));
        var rules = File.ReadAllText(Path.Combine(root, "etc/udev/rules.d/50-hilrig.rules"));
        Assert.That(rules, Does.Contain("ATTR{idProduct}==\"607f\"").And.Contain("ATTR{idProduct}==\"607d\"").And.Contain("bDeviceClass}==\"09\"").And.Contain("-port*/disable"));
        Assert.That(rules, Does.Contain("KERNEL==\"gpiochip*\", GROUP=\"gpio\"").And.Contain("GROUP=\"i2c\""));
        var dashboard = File.ReadAllText(Path.Combine(root, "etc/systemd/system/hilrig-dashboard.service"));
        Assert.That(dashboard, Does.Contain("ExecStart=/opt/hilrig/hilrig dashboard --config /etc/hilrig/rig-config.yaml").And.Contain("User=rigop"));
        Assert.That(File.ReadAllText(Path.Combine(root, "etc/systemd/system/hilrig-soak.service")), Does.Contain("ExecStart=/opt/hilrig/hilrig soak --config /etc/hilrig/rig-config.yaml"));
        Assert.That(File.ReadAllText(Path.Combine(root, "etc/systemd/system/hilrig-soak.timer")), Does.Contain("OnCalendar=*-*-* 01:00:00"));
        Assert.That(File.ReadAllText(Path.Combine(root, "etc/modules-load.d/hilrig-i2c.conf")).Trim(), Is.EqualTo("i2c-dev"));

        // The config written for the Pi is valid and selects the Pi backend with results under /var/lib/hilrig.
        var config = RigConfigLoader.Load(Path.Combine(root, "etc/hilrig/rig-config.yaml"));
        Assert.That(config.Backend, Is.EqualTo(RigBackend.Pi));
        Assert.That(config.ResolveStorePath(), Is.EqualTo("/var/lib/hilrig/hilrig.db"));

        // System changes are only announced under a prefix.
        Assert.That(output, Does.Contain("would run: usermod -a -G gpio,i2c,dialout,plugdev rigop"));
        Assert.That(output, Does.Contain("would run: systemctl enable --now hilrig-dashboard.service hilrig-soak.timer"));
        Assert.That(output, Does.Contain("would run: udevadm control --reload-rules"));
    }

    [Test]
    public void Running_install_again_keeps_the_maintainers_config_and_the_previous_build()
    {
        var build = Directory.CreateTempSubdirectory("hilrig-build-").FullName;
        File.WriteAllText(Path.Combine(build, "hilrig"), "#!/bin/sh\n");
        File.SetUnixFileMode(Path.Combine(build, "hilrig"), UnixFileMode.UserRead | UnixFileMode.UserExecute);
        var root = Directory.CreateTempSubdirectory("hilrig-root-").FullName;
        var script = RepoFiles.Path("scripts/pi/install.sh");
        Assert.That(RunScript(script, "--prefix", root, "--from", build).Exit, Is.Zero);
        var config = Path.Combine(root, "etc/hilrig/rig-config.yaml");
        File.AppendAllText(config, "# edited by the maintainer\n");

        var (exit, output) = RunScript(script, "--prefix", root, "--from", build);
        Assert.That(exit, Is.Zero, output);
        Assert.That(File.ReadAllText(config), Does.EndWith("# edited by the maintainer\n"));
        Assert.That(output, Does.Contain($"kept {config}"));
        Assert.That(Directory.Exists(Path.Combine(root, "opt/hilrig.old")), Is.True);
    }

    [Test]
    public void A_build_folder_without_hilrig_is_refused_with_exit_2()
    {
        var empty = Directory.CreateTempSubdirectory("hilrig-empty-").FullName;
        var root = Directory.CreateTempSubdirectory("hilrig-root-").FullName;
        var (exit, output) = RunScript(RepoFiles.Path("scripts/pi/install.sh"), "--prefix", root, "--from", empty);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(output, Does.Contain($"{empty}/hilrig is missing or not executable"));
        Assert.That(Directory.Exists(Path.Combine(root, "opt/hilrig")), Is.False);
    }

    [Test]
    public void Every_pi_script_parses_and_passes_shellcheck()
    {
        foreach (var script in Scripts())
            Assert.That(RunScript("-n", script).Exit, Is.Zero, $"bash -n {script}");
        var shellcheck = ExternalTool.Require("shellcheck");
        foreach (var script in Scripts())
        {
            var start = new ProcessStartInfo(shellcheck, [script]) { RedirectStandardOutput = true };
            using var p = Process.Start(start)!;
            var report = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.That(p.ExitCode, Is.Zero, report);
        }
    }
}
