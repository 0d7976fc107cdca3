using HilRig.Core.Inventory;

namespace HilRig.Tests.Inventory;

public class LotInventoryCsvTests
{
    private const string Id1 = "53ff6c065067544854291187";
    private const string Id2 = "53ff70065067544839331287";
    private const string Id3 = "48ff6a065067555008342387";

    private static IReadOnlyList<DeviceLot> Parse(string text, IReadOnlySet<string>? knownLots = null) =>
        LotInventoryCsv.Parse(new StringReader(text), "lots.csv", knownLots);

    private static IReadOnlyList<string> ErrorsOf(string text, IReadOnlySet<string>? knownLots = null) =>
        Assert.Throws<InventoryFormatException>(() => Parse(text, knownLots))!.Errors;

    [Test]
    public void Columns_may_come_in_any_order_and_quoted_fields_may_hold_commas()
    {
        var records = Parse(
            "supplier,device_id,date_code,lot\r\n" +
            $"\"Acme, Inc.\",{Id1.ToUpperInvariant()},1402,SST-1402-A\r\n" +
            $"  ,{Id2},,SST-1350-B\r\n");

        Assert.That(records, Is.EqualTo(new[]
        {
            new DeviceLot(Id1, "SST-1402-A", "1402", "Acme, Inc."),
            new DeviceLot(Id2, "SST-1350-B", null, null),
        }));
    }

    [Test]
    public void A_missing_column_is_named_and_nothing_is_imported()
    {
        var errors = ErrorsOf($"device_id,lot,supplier\n{Id1},L1,Acme\n");
        Assert.That(errors, Is.EqualTo(new[]
        {
            "lots.csv:1: header: 'device_id,lot,supplier': missing column 'date_code'; expected the columns device_id,lot,date_code,supplier in any order",
        }));
    }

    [Test]
    public void An_extra_or_misspelt_column_is_refused()
    {
        var errors = ErrorsOf($"device_id,lot,date_code,supplier,Notes\n{Id1},L1,1402,Acme,x\n");
        Assert.That(errors, Has.Count.EqualTo(1));
        Assert.That(errors[0], Does.StartWith("lots.csv:1: header: 'Notes': unknown column"));
    }

    [Test]
    public void A_duplicate_device_id_names_both_lines_even_in_another_case()
    {
        var errors = ErrorsOf(
            "device_id,lot,date_code,supplier\n" +
            $"{Id1},L1,1402,Acme\n" +
            $"{Id2},L1,1402,Acme\n" +
            $"{Id1.ToUpperInvariant()},L2,1402,Acme\n");
        Assert.That(errors, Is.EqualTo(new[] { $"lots.csv:4: device_id: '{Id1}': duplicate of line 2; each device appears once" }));
    }

    [Test]
    public void Every_bad_line_is_reported_with_its_line_field_and_value()
    {
        var known = new HashSet<string>(StringComparer.Ordinal) { "L1", "L2" };
        var errors = ErrorsOf(
            "device_id,lot,date_code,supplier\n" +
            "53ff6c06506754485429118,L1,1402,Acme\n" +   // 23 digits
            $"{Id2},,1402,Acme\n" +                      // empty lot
            $"{Id3},L1,1460,Acme\n" +                    // week 60
            "53ff6c065067544854291g87,L9,14-2,Acme\n",   // not hex, unknown lot, bad date code
            known);

        Assert.That(errors, Is.EqualTo(new[]
        {
            "lots.csv:2: device_id: '53ff6c06506754485429118': expected 24 hex digits (0-9, a-f), e.g. 53ff6c065067544854291187",
            "lots.csv:3: lot: '': must not be empty; give the chip lot printed on the reel",
            "lots.csv:4: date_code: '1460': expected YYWW with week 01-53 (e.g. 1402) or empty",
            "lots.csv:5: device_id: '53ff6c065067544854291g87': expected 24 hex digits (0-9, a-f), e.g. 53ff6c065067544854291187",
            "lots.csv:5: lot: 'L9': unknown lot; known lots: L1, L2",
            "lots.csv:5: date_code: '14-2': expected YYWW with week 01-53 (e.g. 1402) or empty",
        }));
    }

    [Test]
    public void The_exception_message_lists_all_problems()
    {
        var ex = Assert.Throws<InventoryFormatException>(() => Parse($"device_id,lot,date_code,supplier\nxyz,L1,,\n{Id1},,,\n"));
        Assert.That(ex!.Message, Does.Contain("2 problems, nothing imported").And.Contain("lots.csv:2: device_id: 'xyz'").And.Contain("lots.csv:3: lot: ''"));
    }

    [Test]
    public void A_row_with_the_wrong_number_of_fields_is_refused()
    {
        var errors = ErrorsOf($"device_id,lot,date_code,supplier\n{Id1},L1,1402\n");
        Assert.That(errors, Is.EqualTo(new[] { $"lots.csv:2: row: '{Id1},L1,1402': has 3 fields; the header has 4 (device_id,lot,date_code,supplier)" }));
    }

    [Test]
    public void Line_numbers_stay_physical_across_blank_lines_and_quoted_line_breaks()
    {
        var errors = ErrorsOf(
            "device_id,lot,date_code,supplier\n" +
            $"{Id1},L1,1402,\"Acme\nWarehouse 2\"\n" +
            "\n" +
            $"{Id2},L1,99,Acme\n");
        Assert.That(errors, Has.Count.EqualTo(1));
        Assert.That(errors[0], Does.StartWith("lots.csv:5: date_code: '99'"));
    }

    [Test]
    public void An_unclosed_quote_is_reported_at_the_line_it_opened()
    {
        var errors = ErrorsOf($"device_id,lot,date_code,supplier\n{Id1},L1,1402,\"Acme\n{Id2},L1,1402,Acme\n");
        Assert.That(errors[0], Does.StartWith("lots.csv:2: row: '\"Acme").And.Contain("quote is never closed"));
    }

    [Test]
    public void An_empty_file_asks_for_the_header()
    {
        Assert.That(ErrorsOf(string.Empty), Is.EqualTo(new[] { "lots.csv:1: header: '': file is empty; expected the header device_id,lot,date_code,supplier" }));
    }

    [Test]
    public void What_the_writer_writes_the_reader_reads_back()
    {
        DeviceLot[] population =
        [
            new(Id1, "SST-1402-A", "1402", "Acme, Inc."),
            new(Id2, "lot \"B\"", null, "  padded  "),
            new(Id3, "L3", "1350", null),
        ];
        var text = new StringWriter();
        LotInventoryCsv.Write(text, population);

        Assert.That(text.ToString(), Does.StartWith("device_id,lot,date_code,supplier\n" + Id1 + ",SST-1402-A,1402,\"Acme, Inc.\"\n"));
        Assert.That(Parse(text.ToString()), Is.EqualTo(population));
    }

    [Test]
    public void The_writer_refuses_a_device_id_the_reader_would_reject()
    {
        var ex = Assert.Throws<ArgumentException>(() => LotInventoryCsv.Write(new StringWriter(), [new DeviceLot("53ff", "L1", null, null)]));
        Assert.That(ex!.Message, Does.Contain("'53ff'").And.Contain("24 hex digits"));
    }

    [Test]
    public void A_file_saved_to_disk_loads_with_its_name_in_errors()
    {
        var dir = Directory.CreateTempSubdirectory("hilrig-lots-");
        try
        {
            var path = Path.Combine(dir.FullName, "march.csv");
            LotInventoryCsv.Save(path, [new DeviceLot(Id1, "L1", "1402", "Acme")]);
            Assert.That(LotInventoryCsv.Load(path, new HashSet<string> { "L1" }), Has.Count.EqualTo(1));

            var ex = Assert.Throws<InventoryFormatException>(() => LotInventoryCsv.Load(path, new HashSet<string> { "L2" }));
            Assert.That(ex!.Errors, Is.EqualTo(new[] { "march.csv:2: lot: 'L1': unknown lot; known lots: L2" }));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
