#!/usr/bin/env bash
# Turns an allure-results/ folder into a single-file HTML report with the Allure 3 CLI (npm package "allure",
# installed locally under .allure/ when missing; no Java needed).
#   scripts/allure-report.sh [RESULTS_DIR [REPORT_DIR]]   defaults: allure-results/ and allure-report/
# Prints where the report is and its summary line. Exit code non-zero when the report could not be built.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
results="$(realpath -m "${1:-${ALLURE_RESULTS_DIR:-$root/allure-results}}")"
report="$(realpath -m "${2:-$root/allure-report}")"
tool_dir="$root/.allure"
cli="$tool_dir/node_modules/allure/cli.js"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "allure-report: node and npm are needed (apt-get install nodejs npm)" >&2
  exit 2
fi
if [ ! -d "$results" ] || ! compgen -G "$results/*-result.json" >/dev/null; then
  echo "allure-report: no test results in $results (run the suites first: dotnet test --filter Category=DfuReadback)" >&2
  exit 2
fi
if [ ! -f "$cli" ]; then
  echo "allure-report: installing the Allure 3 CLI into $tool_dir"
  mkdir -p "$tool_dir"
  [ -f "$tool_dir/package.json" ] || echo '{ "name": "hilrig-allure", "private": true }' > "$tool_dir/package.json"
  npm install --prefix "$tool_dir" --no-audit --no-fund --loglevel=error "allure@^3" >/dev/null
fi

rm -rf "$report"
node "$cli" awesome "$results" -o "$report" --single-file >/dev/null
if [ ! -f "$report/index.html" ] || [ ! -f "$report/summary.json" ]; then
  echo "allure-report: allure did not write $report/index.html" >&2
  exit 1
fi
echo "allure report: $report/index.html"
node -e 'const s=require(process.argv[1]).stats||{};console.log(`allure summary: ${s.total??0} total, ${s.passed??0} passed, ${s.failed??0} failed, ${s.broken??0} broken, ${s.skipped??0} skipped`)' "$report/summary.json"
