using HilRig.Cli;
using HilRig.Cli.Commands;

namespace HilRig.Tests.Cli;

public class LotsCommandTests
{
    private DirectoryInfo dir = null!;

    [SetUp]
    public void CreateDirectory() => dir = Directory.CreateTempSubdirectory("hilrig-lots-cli-");

    [TearDown]
    public void DeleteDirectory() => dir.Delete(recursive: true);

    private string WriteFile(string name, string text)
    {
        var path = Path.Combine(dir.FullName, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static async Task<(int Exit, string Out, string Err)> Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await LotsCommand.Create(output, error).Parse(args).InvokeAsync();
        return (exit, output.ToString(), error.ToString());
    }

    [Test]
    public async Task A_valid_inventory_is_summarised_per_lot()
    {
        var csv = WriteFile("lots.csv", "device_id,lot,date_code,supplier\n53ff6c065067544854291187,L1,1402,Acme\n53ff70065067544839331287,L2,,\n48ff6a065067555008342387,L1,1402,Acme\n");
        var (exit, output, _) = await Run("check", csv);
        Assert.That(exit, Is.EqualTo(ExitCodes.Ok));
        Assert.That(output.Trim(), Is.EqualTo("lots.csv: 3 devices in 2 lots (L1 2, L2 1): valid"));
    }

    [Test]
    public async Task An_unknown_lot_is_reported_by_line_and_the_exit_code_says_bad_input()
    {
        var csv = WriteFile("lots.csv", "device_id,lot,date_code,supplier\n53ff6c065067544854291187,L1,1402,Acme\n53ff70065067544839331287,L7,,\n");
        var lots = WriteFile("known.txt", "L1\nL2\n");
        var (exit, _, error) = await Run("check", csv, "--known-lots", lots);
        Assert.That(exit, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(error, Does.Contain("lots.csv:3: lot: 'L7': unknown lot; known lots: L1, L2").And.Contain("lots.csv: 1 problem; nothing would be imported"));
    }
}
