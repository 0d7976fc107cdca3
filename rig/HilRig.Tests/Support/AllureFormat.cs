using System.Text.Json;
using System.Text.RegularExpressions;

namespace HilRig.Tests.Suites;

/// <summary>
/// Checks an allure-results folder against the format Allure 2 and 3 read (protocols.md §6): every problem as one
/// line, so a test shows them all at once.
/// </summary>
internal static partial class AllureFormat
{
    public static readonly string[] Statuses = ["passed", "failed", "broken", "skipped"];
    public static readonly string[] Stages = ["scheduled", "running", "finished", "pending", "interrupted"];
    public static readonly string[] RequiredLabels = ["parentSuite", "suite", "feature", "severity", "tag", "host", "thread", "framework", "language"];
    public static readonly string[] Severities = ["blocker", "critical", "normal", "minor", "trivial"];

    // 2020-01-01 .. 2100-01-01 in epoch milliseconds: seconds or ticks would fall outside.
    private const long MinEpochMs = 1_577_836_800_000;
    private const long MaxEpochMs = 4_102_444_800_000;

    public static List<JsonElement> Results(string dir) =>
        [.. Directory.GetFiles(dir, "*-result.json").Select(f => JsonDocument.Parse(File.ReadAllText(f)).RootElement.Clone())];

    public static List<JsonElement> Containers(string dir) =>
        [.. Directory.GetFiles(dir, "*-container.json").Select(f => JsonDocument.Parse(File.ReadAllText(f)).RootElement.Clone())];

    public static string Label(JsonElement result, string name) =>
        result.GetProperty("labels").EnumerateArray().Where(l => l.GetProperty("name").GetString() == name).Select(l => l.GetProperty("value").GetString()!).FirstOrDefault() ?? "";

    public static string? Parameter(JsonElement result, string name) =>
        result.GetProperty("parameters").EnumerateArray().Where(p => p.GetProperty("name").GetString() == name).Select(p => p.GetProperty("value").GetString()).FirstOrDefault();

    public static IEnumerable<JsonElement> Attachments(JsonElement item)
    {
        if (item.TryGetProperty("attachments", out var own))
            foreach (var a in own.EnumerateArray()) yield return a;
        if (item.TryGetProperty("steps", out var steps))
            foreach (var step in steps.EnumerateArray())
                foreach (var a in Attachments(step)) yield return a;
    }

    public static List<string> Problems(string dir)
    {
        var problems = new List<string>();
        var results = Directory.GetFiles(dir, "*-result.json");
        if (results.Length == 0) problems.Add("no *-result.json");
        var uuids = new HashSet<string>();
        foreach (var file in results)
        {
            var name = Path.GetFileName(file);
            JsonElement r;
            try
            {
                r = JsonDocument.Parse(File.ReadAllText(file)).RootElement;
            }
            catch (JsonException ex)
            {
                problems.Add($"{name}: not JSON: {ex.Message}");
                continue;
            }
            foreach (var field in new[] { "uuid", "historyId", "testCaseId", "fullName", "name", "status", "stage" })
                if (!r.TryGetProperty(field, out var v) || v.ValueKind != JsonValueKind.String || v.GetString()!.Length == 0)
                    problems.Add($"{name}: {field} missing or not a non-empty string");
            if (r.TryGetProperty("uuid", out var uuid) && uuid.ValueKind == JsonValueKind.String)
            {
                if (!Guid.TryParse(uuid.GetString(), out _)) problems.Add($"{name}: uuid {uuid} is not a UUID");
                if (!uuids.Add(uuid.GetString()!)) problems.Add($"{name}: uuid {uuid} used twice");
            }
            CheckTimed(r, name, problems);
            if (r.TryGetProperty("statusDetails", out var details) && details.ValueKind != JsonValueKind.Object)
                problems.Add($"{name}: statusDetails is not an object");
            if (r.TryGetProperty("status", out var status) && status.GetString() is not "passed" && (!r.TryGetProperty("statusDetails", out var d) || !d.TryGetProperty("message", out _)))
                problems.Add($"{name}: status {status} without statusDetails.message");
            if (!r.TryGetProperty("labels", out var labels) || labels.ValueKind != JsonValueKind.Array)
            {
                problems.Add($"{name}: labels missing");
            }
            else
            {
                var names = labels.EnumerateArray().Select(l => l.GetProperty("name").GetString()).ToHashSet();
                foreach (var required in RequiredLabels.Where(l => !names.Contains(l)))
                    problems.Add($"{name}: label {required} missing");
                if (!Severities.Contains(Label(r, "severity"))) problems.Add($"{name}: severity '{Label(r, "severity")}' is not one of {string.Join(", ", Severities)}");
            }
            foreach (var field in new[] { "parameters", "steps", "attachments" })
                if (!r.TryGetProperty(field, out var list) || list.ValueKind != JsonValueKind.Array)
                    problems.Add($"{name}: {field} is not an array");
            if (r.TryGetProperty("steps", out var steps) && steps.ValueKind == JsonValueKind.Array)
                foreach (var step in steps.EnumerateArray()) CheckTimed(step, $"{name} step {step.GetProperty("name")}", problems);
            foreach (var attachment in Attachments(r))
                CheckAttachment(dir, name, attachment, problems);
        }

        foreach (var file in Directory.GetFiles(dir, "*-container.json"))
        {
            var name = Path.GetFileName(file);
            var c = JsonDocument.Parse(File.ReadAllText(file)).RootElement;
            if (!c.TryGetProperty("uuid", out _)) problems.Add($"{name}: uuid missing");
            if (!c.TryGetProperty("children", out var children) || children.GetArrayLength() == 0)
            {
                problems.Add($"{name}: no children (Allure ignores it)");
                continue;
            }
            foreach (var child in children.EnumerateArray().Select(ch => ch.GetString()!).Where(ch => !uuids.Contains(ch)))
                problems.Add($"{name}: child {child} is no result's uuid");
            foreach (var fixture in c.GetProperty("befores").EnumerateArray().Concat(c.GetProperty("afters").EnumerateArray()))
                CheckTimed(fixture, $"{name} fixture {fixture.GetProperty("name")}", problems);
        }

        if (!File.Exists(Path.Combine(dir, "environment.properties"))) problems.Add("environment.properties missing");
        var categories = Path.Combine(dir, "categories.json");
        if (!File.Exists(categories))
        {
            problems.Add("categories.json missing");
        }
        else
        {
            foreach (var category in JsonDocument.Parse(File.ReadAllText(categories)).RootElement.EnumerateArray())
            {
                if (!category.TryGetProperty("name", out _)) problems.Add("categories.json: a category without name");
                foreach (var s in category.GetProperty("matchedStatuses").EnumerateArray().Select(s => s.GetString()).Where(s => !Statuses.Contains(s)))
                    problems.Add($"categories.json: matched status '{s}' is not an Allure status");
                if (category.TryGetProperty("messageRegex", out var regex)) _ = new Regex(regex.GetString()!);
            }
        }
        var executor = Path.Combine(dir, "executor.json");
        if (!File.Exists(executor)) problems.Add("executor.json missing");
        else if (!JsonDocument.Parse(File.ReadAllText(executor)).RootElement.TryGetProperty("name", out _)) problems.Add("executor.json: name missing");
        return problems;
    }

    private static void CheckTimed(JsonElement item, string what, List<string> problems)
    {
        if (!item.TryGetProperty("status", out var status) || !Statuses.Contains(status.GetString()))
            problems.Add($"{what}: status '{(item.TryGetProperty("status", out var s) ? s.ToString() : "")}' is not one of {string.Join(", ", Statuses)}");
        if (!item.TryGetProperty("stage", out var stage) || !Stages.Contains(stage.GetString()))
            problems.Add($"{what}: stage missing or invalid");
        if (!item.TryGetProperty("start", out var start) || !start.TryGetInt64(out var a) || a is < MinEpochMs or > MaxEpochMs)
            problems.Add($"{what}: start is not epoch milliseconds");
        else if (!item.TryGetProperty("stop", out var stop) || !stop.TryGetInt64(out var b) || b < a)
            problems.Add($"{what}: stop missing or before start");
    }

    private static void CheckAttachment(string dir, string owner, JsonElement attachment, List<string> problems)
    {
        var source = attachment.TryGetProperty("source", out var s) ? s.GetString() ?? "" : "";
        if (!SourceName().IsMatch(source)) problems.Add($"{owner}: attachment source '{source}' is not a plain file name Allure 2 resolves");
        else if (!File.Exists(Path.Combine(dir, source))) problems.Add($"{owner}: attachment {source} does not exist");
        else if (new FileInfo(Path.Combine(dir, source)).Length == 0) problems.Add($"{owner}: attachment {source} is empty");
        if (!source.Contains("-attachment", StringComparison.Ordinal)) problems.Add($"{owner}: attachment {source} is not named *-attachment.<ext>");
        if (!attachment.TryGetProperty("type", out var type) || !(type.GetString() ?? "").Contains('/', StringComparison.Ordinal))
            problems.Add($"{owner}: attachment {source} has no MIME type");
        if (!attachment.TryGetProperty("name", out _)) problems.Add($"{owner}: attachment {source} has no name");
    }

    [GeneratedRegex("^[a-zA-Z0-9._-]{1,100}$")]
    private static partial Regex SourceName();
}
