#!/usr/bin/env bash
# cti-misp throughput and memory over the shared Infoblox feed (41 events, 15 MB, 61,000
# attributes): events/s, input MB/s and peak RSS, with the default options and with every
# create_* option on, in fixed and official modes, on the default number of threads and on one
# (--jobs 1). Each run is repeated five times and the best kept (the machine is shared).
# User+system CPU time is printed as well as wall time.
#
# CTI_MISP_BASELINE=/path/to/an/older/cti-misp measures that binary too, its runs interleaved
# with the current build's, and prints its line (marked "baseline") under each, for a
# before/after on the same machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
feed=${1:-/work/shared/corpus/misp-feed-infoblox}
[ -d "$feed" ] || feed=Tests/EndToEndTests/Fixtures/misp-feed-infoblox
swift build -c release --product cti-misp >/dev/null
bin=$(swift build -c release --show-bin-path)
baseline=${CTI_MISP_BASELINE:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
events=$(ls "$feed"/*.json | grep -vc manifest.json)
bytes=$(cat "$feed"/*-*.json | wc -c)
once() { # binary, then cti-misp arguments: prints "wall user sys rss bytes"
  local binary=$1
  shift
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$binary" --quiet --feed "$feed" --import-from-date 2000-01-01 "$@" \
    > "$work/out.ndjson" 2>/dev/null || true
  read -r wall user sys rss < <(tail -n 1 "$work/time")
  echo "$wall $user $sys $rss $(wc -c < "$work/out.ndjson")"
}
faster() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)' "$1" "$2"; }
show() { # label, then the best "wall user sys rss bytes"
  python3 - "$1" "$events" "$bytes" $2 <<'PY'
import sys
label, events, size, wall, user, system, rss, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *map(float, sys.argv[4:8]), int(sys.argv[8])
wall = max(wall, 0.01)
print("%-36s %3d events %6.2f s wall %5.2f s cpu %7.1f events/s %6.1f MB/s in %6.1f MB out  peak RSS %6.1f MB"
      % (label, events, wall, user + system, events / wall, size / wall / 1e6, out / 1e6, rss / 1024))
PY
}
run() { # label, then cti-misp arguments
  local label=$1 best="" old="" line
  shift
  for _ in 1 2 3 4 5; do
    line=$(once "$bin/cti-misp" "$@")
    if [ -z "$best" ] || faster "${line%% *}" "${best%% *}"; then best=$line; fi
    if [ -n "$baseline" ]; then
      line=$(once "$baseline" "$@")
      if [ -z "$old" ] || faster "${line%% *}" "${old%% *}"; then old=$line; fi
    fi
  done
  show "$label" "$best"
  if [ -n "$baseline" ]; then show "  baseline" "$old"; fi
}
run "defaults (reports only)"
run "all create_* options" --create-indicators --create-observables --create-object-observables
run "all create_* options, --jobs 1" --create-indicators --create-observables --create-object-observables --jobs 1
run "all options, --compat official" --create-indicators --create-observables --create-object-observables --compat official
