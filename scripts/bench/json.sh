#!/usr/bin/env bash
# JSON parse+serialize throughput: CTICore against CPython's json module and Foundation's
# JSONSerialization, on the same generated NDJSON file (default 100,000 events of about 1 KB).
set -euo pipefail
cd "$(dirname "$0")/../.."
count=${1:-100000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 scripts/bench/gen_events.py "$count" > "$work/events.ndjson"
swift build -c release --package-path scripts/bench/JSONBench >/dev/null
bin=$(swift build -c release --package-path scripts/bench/JSONBench --show-bin-path)

python_seconds=$(python3 - "$work/events.ndjson" <<'PY'
import json, sys, time
lines = open(sys.argv[1], "rb").read().splitlines()
start = time.perf_counter()
for line in lines:
    json.dumps(json.loads(line), ensure_ascii=False, separators=(",", ":"))
print("%.4f" % (time.perf_counter() - start))
PY
)
read -r cti_seconds size _ < <("$bin/json-bench" cti "$work/events.ndjson")
read -r foundation_seconds _ _ < <("$bin/json-bench" foundation "$work/events.ndjson")
python3 - "$size" "$count" "$cti_seconds" "$python_seconds" "$foundation_seconds" <<'PY'
import sys
size, count = int(sys.argv[1]), int(sys.argv[2])
cti, py, fnd = map(float, sys.argv[3:6])
mb = size / 1e6
print("json parse+serialize, %d lines, %.1f MB" % (count, mb))
for name, s in (("CTICore", cti), ("CPython json", py), ("Foundation JSONSerialization", fnd)):
    print("  %-30s %7.3f s  %8.1f MB/s" % (name, s, mb / s))
print("  CTICore vs CPython: %.2fx   CTICore vs Foundation: %.2fx" % (py / cti, fnd / cti))
PY
