#!/usr/bin/env bash
# Throughput of cti-stream: the fake OpenCTI platform serves COUNT pre-built create events of
# about SIZE bytes over real HTTP on 127.0.0.1; cti-stream (release build) parses the SSE, builds
# the NDJSON lines and writes them to /dev/null, then to a file to count the bytes.
# Prints events/s and MB/s. Usage: scripts/bench/stream.sh [COUNT] [SIZE]
set -euo pipefail
cd "$(dirname "$0")/../.."
COUNT=${1:-200000}
SIZE=${2:-1024}

swift build -c release --product cti-stream >&2
BIN="$(swift build -c release --show-bin-path)/cti-stream"

WORK=$(mktemp -d)
python3 -u Tests/Support/fake_opencti.py > "$WORK/info" &
FAKE=$!
trap 'kill $FAKE 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do [ -s "$WORK/info" ] && break; sleep 0.1; done
PORT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$WORK/info")
URL="http://127.0.0.1:$PORT"

curl -sf -X POST "$URL/_control/scenario" \
  -d "{\"name\":\"bench\",\"token\":\"bench-token\",\"generate\":{\"count\":$COUNT,\"size\":$SIZE}}" > /dev/null

run() {
  OPENCTI_URL="$URL" OPENCTI_TOKEN=bench-token CONNECTOR_LIVE_STREAM_ID=bench \
    "$BIN" --recover false --max-events "$COUNT" --quiet
}

now() { date +%s.%N; }
run > /dev/null  # warm-up: page cache, server buffers
start=$(now); run > /dev/null; end=$(now)
start_file=$(now); run > "$WORK/out.ndjson"; end_file=$(now)
LINES=$(wc -l < "$WORK/out.ndjson")
BYTES=$(wc -c < "$WORK/out.ndjson")

python3 - "$COUNT" "$SIZE" "$start" "$end" "$start_file" "$end_file" "$LINES" "$BYTES" <<'PY'
import sys
count, size = int(sys.argv[1]), int(sys.argv[2])
t_null = float(sys.argv[4]) - float(sys.argv[3])
t_file = float(sys.argv[6]) - float(sys.argv[5])
lines, out = int(sys.argv[7]), int(sys.argv[8])
print(f"cti-stream: {count} events of ~{size} B from the fake platform over HTTP on 127.0.0.1")
print(f"  to /dev/null: {t_null:.2f} s  {count / t_null:,.0f} events/s  {out / t_null / 1e6:,.1f} MB/s of NDJSON")
print(f"  to a file:    {t_file:.2f} s  {count / t_file:,.0f} events/s  {out / t_file / 1e6:,.1f} MB/s ({lines} lines, {out / 1e6:.1f} MB)")
if lines != count:
    sys.exit(f"expected {count} lines, got {lines}")
PY
