using System.Globalization;
using System.Net;
using System.Text;
using HilRig.Core.Station;

namespace HilRig.Cli.Station;

/// <summary>
/// The station page: rendered whole by the server (it reads without a script), then kept current by its one script
/// from the event stream. Every value goes in as text (HTML-encoded here, textContent there), never as markup.
/// </summary>
internal static class StationPage
{
    private static string E(string? s) => WebUtility.HtmlEncode(s ?? "");

    private static string Num(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>The verdict in big letters: PASS, FAIL, RIG FAULT.</summary>
    public static string VerdictText(string? verdict) => verdict is null ? "" : verdict.ToUpperInvariant().Replace('-', ' ');

    public static string RetestText(SlotTile t) => t.Attempt > 1 ? $"retest, attempt {t.Attempt}{(t.History is { } h ? $": before {h}" : "")}" : "";

    public static string Html(StationSnapshot snapshot, string title)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var s = snapshot.Shift;
        var html = new StringBuilder();
        html.Append(CultureInfo.InvariantCulture, $"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>{E(title)}</title>
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <style>
            body {"{"} font-family: sans-serif; margin: 0.5em; background: #f4f4f4; color: #111; {"}"}
            h1 {"{"} font-size: 1.3em; margin: 0.2em 0; {"}"}
            #shift {"{"} display: flex; gap: 1.5em; font-size: 1.2em; margin: 0.4em 0 0.8em; flex-wrap: wrap; {"}"}
            #shift b {"{"} font-size: 1.4em; {"}"}
            #tiles {"{"} display: grid; grid-template-columns: repeat(auto-fill, minmax(15em, 1fr)); gap: 0.6em; {"}"}
            .tile {"{"} background: #fff; border: 3px solid #bbb; border-radius: 6px; padding: 0.5em; {"}"}
            .tile.verdict-pass {"{"} border-color: #1a7f1a; background: #e7f6e7; {"}"}
            .tile.verdict-fail {"{"} border-color: #c00; background: #fbe3e3; {"}"}
            .tile.verdict-rig-fault {"{"} border-color: #d98000; background: #fff1dc; {"}"}
            .tile header {"{"} display: flex; align-items: center; gap: 0.4em; font-weight: bold; {"}"}
            .swatch {"{"} display: inline-block; width: 1.2em; height: 1.2em; border-radius: 50%; border: 1px solid #555; {"}"}
            .device {"{"} font-family: monospace; font-size: 0.95em; {"}"}
            .verdict {"{"} font-size: 2.4em; font-weight: bold; min-height: 1.2em; {"}"}
            .verdict-pass .verdict {"{"} color: #1a7f1a; {"}"} .verdict-fail .verdict {"{"} color: #c00; {"}"} .verdict-rig-fault .verdict {"{"} color: #d98000; {"}"}
            .instruction {"{"} font-size: 1.15em; font-weight: bold; {"}"}
            .small {"{"} font-size: 0.85em; color: #444; {"}"}
            progress {"{"} width: 100%; {"}"}
            </style></head>
            <body data-version="{snapshot.Version}" data-updates="0">
            <h1>{E(title)}</h1>
            <section id="shift">
            <span>units <b data-f="units" data-value="{s.Units}">{s.Units}</b></span>
            <span>pass <b data-f="passed" data-value="{s.Passed}">{s.Passed}</b></span>
            <span>fail <b data-f="failed" data-value="{s.Failed}">{s.Failed}</b></span>
            <span>rig faults <b data-f="rigFaults" data-value="{s.RigFaults}">{s.RigFaults}</b></span>
            <span>retests <b data-f="retests" data-value="{s.Retests}">{s.Retests}</b></span>
            <span>yield <b id="yield" data-f="yield" data-value="{(s.Yield is { } y ? Num(y, "R") : "")}">{E(StationBoard.Percent(s.Yield))}</b></span>
            <span>Cores/h <b data-f="coresPerHour" data-value="{Num(s.CoresPerHour, "0.0")}">{Num(s.CoresPerHour, "0")}</b></span>
            <span class="small" data-f="state">{(snapshot.Stopping ? "station stopping" : "running")}</span>
            </section>
            <main id="tiles">

            """);
        foreach (var t in snapshot.Tiles)
        {
            html.Append(CultureInfo.InvariantCulture, $"""
                <section class="tile phase-{E(t.Phase.ToString().ToLowerInvariant())}{(t.Verdict is { } v ? " verdict-" + E(v) : "")}" id="slot-{t.Slot}" data-slot="{t.Slot}" data-phase="{E(t.Phase.ToString().ToLowerInvariant())}" data-verdict="{E(t.Verdict)}">
                <header>slot {t.Slot} <span class="swatch" data-f="ledRgb" style="background-color:{E(t.LedRgb)}" title="{E(t.Led)}"></span><span class="small" data-f="led">{E(t.Led ?? "no sensor")}</span></header>
                <div class="device" data-f="deviceId">{E(t.DeviceId ?? "-")}</div>
                <div class="small" data-f="lot">{E(t.Lot)}</div>
                <div class="small"><span data-f="step">{E(t.Step)}</span> <progress data-f="progress" max="1" value="{Num(t.Progress, "0.00")}"></progress></div>
                <div class="verdict" data-f="verdict">{E(VerdictText(t.Verdict))}</div>
                <div class="instruction" data-f="instruction">{E(t.Instruction)}</div>
                <div class="small" data-f="retest">{E(RetestText(t))}</div>
                <div class="small" data-f="failureMode">{E(t.FailureMode)}</div>
                </section>

                """);
        }
        html.Append("""
            </main>
            <script src="/station.js"></script>
            </body></html>
            """);
        return html.ToString();
    }

    /// <summary>Applies each pushed state to the tiles; values only ever as text.</summary>
    public const string Script = """
        "use strict";
        (function () {
          var updates = 0;
          function field(root, name) { return root.querySelector('[data-f="' + name + '"]'); }
          function text(root, name, value) { var e = field(root, name); if (e) { e.textContent = value == null ? "" : String(value); } return e; }
          function verdictText(v) { return v ? v.toUpperCase().replace(/-/g, " ") : ""; }
          function retestText(t) { return t.attempt > 1 ? "retest, attempt " + t.attempt + (t.history ? ": before " + t.history : "") : ""; }
          function percent(y) { return y == null ? "-" : (y * 100).toFixed(1) + " %"; }
          function apply(s) {
            s.tiles.forEach(function (t) {
              var el = document.getElementById("slot-" + t.slot);
              if (!el) { return; }
              el.className = "tile phase-" + t.phase + (t.verdict ? " verdict-" + t.verdict : "");
              el.dataset.phase = t.phase;
              el.dataset.verdict = t.verdict || "";
              text(el, "deviceId", t.deviceId || "-");
              text(el, "lot", t.lot || "");
              text(el, "step", t.step || "");
              text(el, "verdict", verdictText(t.verdict));
              text(el, "instruction", t.instruction);
              text(el, "retest", retestText(t));
              text(el, "failureMode", t.failureMode || "");
              text(el, "led", t.led || "no sensor");
              var swatch = field(el, "ledRgb");
              if (swatch && /^#[0-9a-f]{6}$/.test(t.ledRgb)) { swatch.style.backgroundColor = t.ledRgb; swatch.title = t.led || ""; }
              var bar = field(el, "progress");
              if (bar) { bar.value = t.progress; }
            });
            var shift = document.getElementById("shift"), c = s.shift;
            ["units", "passed", "failed", "rigFaults", "retests"].forEach(function (k) { var e = text(shift, k, c[k]); if (e) { e.dataset.value = String(c[k]); } });
            var y = text(shift, "yield", percent(c.yield));
            if (y) { y.dataset.value = c.yield == null ? "" : String(c.yield); }
            var pace = text(shift, "coresPerHour", Math.round(c.coresPerHour));
            if (pace) { pace.dataset.value = c.coresPerHour.toFixed(1); }
            text(shift, "state", s.stopping ? "station stopping" : "running");
            updates += 1;
            document.body.dataset.updates = String(updates);
            document.body.dataset.version = String(s.version);
          }
          var source = new EventSource("/events");
          source.addEventListener("board", function (e) { apply(JSON.parse(e.data)); });
        })();
        """;
}
