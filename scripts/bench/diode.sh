#!/usr/bin/env bash
# Benchmark for cti-diode in folder mode: files per second for export (stdin bundles -> files)
# and import (files -> stdout, with a state journal), on a release build.
#   scripts/bench/diode.sh [FILES] [OBJECTS_PER_BUNDLE]
set -euo pipefail
cd "$(dirname "$0")/../.."
files=${1:-5000}
objects=${2:-10}

swift build -c release --product cti-diode >/dev/null
tool="$(swift build -c release --show-bin-path)/cti-diode"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/out"

# Bundles of indicators with a non-ASCII description, one per line.
awk -v files="$files" -v objects="$objects" 'BEGIN {
  for (f = 0; f < files; f++) {
    line = "{\"type\":\"bundle\",\"id\":\"bundle--00000000-0000-4000-8000-" sprintf("%012d", f) "\",\"objects\":["
    for (o = 0; o < objects; o++) {
      if (o > 0) line = line ","
      line = line "{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"indicator--00000000-0000-4000-8000-" sprintf("%06d%06d", f, o) "\",\"created\":\"2024-06-10T12:00:00.000Z\",\"modified\":\"2024-06-10T12:00:00.000Z\",\"name\":\"198.51.100." o "\",\"description\":\"Caf\303\251 \342\200\234quoted\342\200\235\",\"pattern\":\"[ipv4-addr:value = '"'"'198.51.100." o "'"'"']\",\"pattern_type\":\"stix\",\"valid_from\":\"2024-06-10T12:00:00.000Z\"}"
    }
    print line "]}"
  }
}' > "$work/input.ndjson"
bytes=$(wc -c < "$work/input.ndjson")

now() { date +%s.%N; }
rate() { awk -v n="$1" -v s="$2" -v e="$3" 'BEGIN { printf "%.0f", n / (e - s) }'; }
seconds() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.2f", e - s }'; }

start=$(now)
CONNECTOR_ID=3e5a9c1b-2f4d-4e6a-8b7c-9d0e1f2a3b4c CONNECTOR_NAME="Bench Feed" "$tool" export "$work/out" -q < "$work/input.ndjson"
end=$(now)
echo "export: $files files ($objects objects each, $((bytes / 1024)) KiB input) in $(seconds "$start" "$end") s: $(rate "$files" "$start" "$end") files/s"

start=$(now)
"$tool" import "$work/out" --state "$work/state" --no-delete-after-import --retention 0 -q > "$work/imported.ndjson"
end=$(now)
echo "import: $files files in $(seconds "$start" "$end") s: $(rate "$files" "$start" "$end") files/s"

start=$(now)
"$tool" import "$work/out" --state "$work/state" --no-delete-after-import --retention 0 -q > /dev/null
end=$(now)
echo "rescan (all already imported): $files files in $(seconds "$start" "$end") s: $(rate "$files" "$start" "$end") files/s"

start=$(now)
"$tool" import "$work/out" --state "$work/state2" -q > /dev/null
end=$(now)
echo "import with delete-after-import: $files files in $(seconds "$start" "$end") s: $(rate "$files" "$start" "$end") files/s"

test "$(wc -l < "$work/imported.ndjson")" -eq "$files" || { echo "import wrote the wrong number of lines" >&2; exit 1; }
