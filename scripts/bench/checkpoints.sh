#!/usr/bin/env bash
# What checkpoints cost a pipeline: `cti-stream --replay CAPTURE | cti-backup DIR` in events/s,
# without --state, then with the same --state file on both sides (cti-stream sends its state down
# the pipe as checkpoints, cti-backup commits each once the events before it are written). Same
# generated capture (COUNT events of about 1 KB, scripts/bench/gen_events.py --sse), release
# build, backup and state on tmpfs (/dev/shm) when there is one, the two variants alternated and
# the best of RUNS kept for each. Prints both rates and the relative cost (target: under 5%).
# Usage: scripts/bench/checkpoints.sh [COUNT] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
COUNT=${1:-100000}
RUNS=${2:-5}

swift build -c release --product cti-stream >&2
swift build -c release --product cti-backup >&2
bin=$(swift build -c release --show-bin-path)

work=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 scripts/bench/gen_events.py "$COUNT" --sse > "$work/capture.sse"

# One run; prints its seconds. $1: "plain" or "state".
run() {
  rm -rf "$work/backup" "$work/state.json"
  mkdir "$work/backup"
  local state=()
  [ "$1" = state ] && state=(--state "$work/state.json")
  local start end
  start=$(date +%s.%N)
  "$bin/cti-stream" --replay "$work/capture.sse" "${state[@]}" 2> "$work/stream.err" \
    | "$bin/cti-backup" "${state[@]}" "$work/backup" 2> "$work/backup.err"
  end=$(date +%s.%N)
  python3 -c 'import sys; print("%.4f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$start" "$end"
}

run plain > /dev/null  # warm-up: page cache, tmpfs
plain=()
state=()
for _ in $(seq "$RUNS"); do
  plain+=("$(run plain)")
  state+=("$(run state)")
done
# The last run with --state: what the backup committed, and the state it left.
checkpoints=$(grep -o '[0-9]* of [0-9]* checkpoints\? committed' "$work/backup.err" || echo "no checkpoint summary")
saved=$(cat "$work/state.json" 2>/dev/null || echo "none")

python3 - "$COUNT" "$RUNS" "$work" "${plain[*]}" "${state[*]}" "$checkpoints" "$saved" <<'PY'
import sys
count, runs, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
plain = [float(x) for x in sys.argv[4].split()]
state = [float(x) for x in sys.argv[5].split()]
best_plain, best_state = min(plain), min(state)
rate_plain, rate_state = count / best_plain, count / best_state
cost = (best_state - best_plain) / best_plain * 100
where = "tmpfs" if work.startswith("/dev/shm") else "disk"
print(f"cti-stream --replay | cti-backup: {count} events of ~1 KB, backup on {where}, best of {runs}")
print(f"  without --state:            {best_plain:6.2f} s  {rate_plain:9,.0f} events/s   (runs: {' '.join(f'{x:.2f}' for x in plain)})")
print(f"  --state on both sides:      {best_state:6.2f} s  {rate_state:9,.0f} events/s   (runs: {' '.join(f'{x:.2f}' for x in state)})")
print(f"  checkpoints cost:           {cost:+.1f}% of the run time (target: under 5%)")
print(f"  last run with --state: {sys.argv[6]}; state file: {sys.argv[7].strip()}")
PY
