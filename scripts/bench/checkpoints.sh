#!/usr/bin/env bash
# What checkpoints cost a pipeline: `cti-stream --replay CAPTURE | cti-backup DIR` in events/s,
# without --state, then with the same --state file on both sides (cti-stream sends its state down
# the pipe as checkpoints, cti-backup commits each once the events before it are written). Same
# generated capture (COUNT events of about 1 KB, scripts/bench/gen_events.py --sse), release
# build, backup and state on tmpfs (/dev/shm) when there is one, the two variants alternated and
# the best of RUNS kept for each. Prints both rates and the relative cost (target: under 5%).
# A replay commits about once a second, so a third line replays a capture with a heartbeat every
# BEAT events (each forces a checkpoint, committed with an fsync) to show what one costs.
# Usage: scripts/bench/checkpoints.sh [COUNT] [RUNS] [BEAT]
set -euo pipefail
cd "$(dirname "$0")/../.."
COUNT=${1:-100000}
RUNS=${2:-5}
BEAT=${3:-1000}

swift build -c release --product cti-stream >&2
swift build -c release --product cti-backup >&2
bin=$(swift build -c release --show-bin-path)

work=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 scripts/bench/gen_events.py "$COUNT" --sse > "$work/capture.sse"
python3 scripts/bench/gen_events.py "$COUNT" --sse --heartbeat-every="$BEAT" > "$work/beats.sse"

# One run; prints its seconds. $1: "plain", "state" or "beats" (--state, the capture with
# heartbeats).
run() {
  rm -rf "$work/backup" "$work/state.json"
  mkdir "$work/backup"
  local state=() capture="$work/capture.sse"
  [ "$1" != plain ] && state=(--state "$work/state.json")
  [ "$1" = beats ] && capture="$work/beats.sse"
  local start end
  start=$(date +%s.%N)
  "$bin/cti-stream" --replay "$capture" "${state[@]}" 2> "$work/stream.err" \
    | "$bin/cti-backup" "${state[@]}" "$work/backup" 2> "$work/backup-$1.err"
  end=$(date +%s.%N)
  python3 -c 'import sys; print("%.4f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$start" "$end"
}

run plain > /dev/null  # warm-up: page cache, tmpfs
plain=()
state=()
beats=()
for _ in $(seq "$RUNS"); do
  plain+=("$(run plain)")
  state+=("$(run state)")
  beats+=("$(run beats)")
done
# What the backup committed in the last runs with --state.
committed() { grep -o '[0-9]* of [0-9]* checkpoints\? committed' "$work/backup-$1.err" || echo "no checkpoint summary"; }

python3 - "$COUNT" "$RUNS" "$BEAT" "$work" "${plain[*]}" "${state[*]}" "${beats[*]}" "$(committed state)" "$(committed beats)" <<'PY'
import sys
count, runs, beat, work = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
times = [[float(x) for x in sys.argv[i].split()] for i in (5, 6, 7)]
best = [min(t) for t in times]
where = "tmpfs" if work.startswith("/dev/shm") else "disk"
print(f"cti-stream --replay | cti-backup: {count} events of ~1 KB, backup on {where}, best of {runs}")
labels = ["without --state", "--state on both sides", f"--state, heartbeat every {beat}"]
for label, seconds, runs_ in zip(labels, best, times):
    print(f"  {label:<32} {seconds:6.2f} s  {count / seconds:9,.0f} events/s   (runs: {' '.join(f'{x:.2f}' for x in runs_)})")
print(f"  checkpoints cost: {(best[1] - best[0]) / best[0] * 100:+.1f}% ({sys.argv[8]}; target: under 5%)")
checkpoints = count // beat
print(f"  with a checkpoint every {beat} events: {(best[2] - best[0]) / best[0] * 100:+.1f}% ({sys.argv[9]}), "
      f"about {(best[2] - best[0]) / max(checkpoints, 1) * 1e3:.2f} ms per checkpoint")
PY
