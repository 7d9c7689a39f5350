#!/usr/bin/env bash
# Proves a change to cti-misp leaves its output byte-identical. Converts the Infoblox feed, the
# small test feed, the converter's fixture events and the synthetic events of misp_events.py
# (every attribute type, tag, galaxy, object, note…) under a dozen option sets in both --compat
# modes, threat guessing against the fake platform included, and keeps stdout and stderr.
#
#   scripts/bench/misp-identical.sh save DIR [cti-misp]    write the outputs to DIR
#   scripts/bench/misp-identical.sh check DIR [cti-misp]   compare with DIR byte for byte
#                                                          (outputs that differ: DIR.new)
#
# Without a binary the release build is used (built first). Save with the old binary, check
# with the new one. --compat official stamps objects with the time of the run and gives bundles
# random ids: those two are replaced by NOW and RANDOM, nothing else is touched.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
mode=${1:-}
dir=${2:-}
if [[ ( $mode != save && $mode != check ) || -z $dir ]]; then
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 64
fi
bin=${3:-}
if [ -z "$bin" ]; then
  swift build -c release --product cti-misp >/dev/null
  bin="$(swift build -c release --show-bin-path)/cti-misp"
fi
bin=$(realpath "$bin")
work=$(mktemp -d)
fake_pid=""
trap '[ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null; rm -rf "$work"' EXIT
out=$work/out
mkdir -p "$out"

# Inputs: two feeds, and events on standard input (one JSON event per line).
infoblox=$root/Tests/EndToEndTests/Fixtures/misp-feed-infoblox
small=$root/Tests/EndToEndTests/Fixtures/misp-feed-small
for file in Tests/CTICoreTests/Fixtures/misp/*.json "$small"/*-*.json; do
  # One line per event; the small feed's broken event is left to the feed runs.
  python3 -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1])), ensure_ascii=False))' "$file" \
    2>/dev/null || true
done > "$work/events.ndjson"
python3 scripts/bench/misp_events.py >> "$work/events.ndjson"

# The fake platform answers --guess-threats-from-tags lookups.
python3 Tests/Support/fake_opencti.py > "$work/fake.json" &
fake_pid=$!
for _ in $(seq 50); do [ -s "$work/fake.json" ] && break; sleep 0.1; done
port=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["port"])' "$work/fake.json")
python3 - "$port" <<'PY'
import json, sys, urllib.request
def entity(kind, name, standard, aliases=(), mitre=None):
    spec = {"entity_type": kind, "name": name, "aliases": list(aliases), "standard_id": standard}
    if mitre: spec["x_mitre_id"] = mitre
    return spec
spec = {"token": "misp-identical", "entities": [
    entity("Intrusion-Set", "APT28", "intrusion-set--9ba5e9a4-7d8b-5b1c-8a4e-3b2b4b8a1c01", ["Fancy Bear", "Sofacy"]),
    entity("Malware", "Emotet", "malware--9ba5e9a4-7d8b-5b1c-8a4e-3b2b4b8a1c02", ["Geodo"]),
    entity("Tool", "Mimikatz", "tool--9ba5e9a4-7d8b-5b1c-8a4e-3b2b4b8a1c03", ["Mimi"]),
    entity("Attack-Pattern", "Spearphishing Attachment", "attack-pattern--9ba5e9a4-7d8b-5b1c-8a4e-3b2b4b8a1c04",
           [], "T1566.001"),
    entity("Report", "Nobody", "report--00000000-0000-4000-8000-000000000000")]}
request = urllib.request.Request("http://127.0.0.1:%s/_graphql/platform" % sys.argv[1],
                                 data=json.dumps(spec).encode(), headers={"Content-Type": "application/json"})
urllib.request.urlopen(request).read()
PY

all_create=(--create-indicators --create-observables --create-object-observables)
every=("${all_create[@]}" --import-unsupported-observables-as-text --import-with-attachments --markings-from-tags
  --author-from-tags --import-to-ids-no-score 10 --report-type threat-report)
sets=(
  "defaults|"
  "all-create|${all_create[*]}"
  "every-option|${every[*]}"
  "no-reports-no-labels|${all_create[*]} --no-create-reports --no-create-tags-as-labels"
  "attachments|--create-observables --import-with-attachments"
  "unsupported-as-text|${all_create[*]} --import-unsupported-observables-as-text"
  "unsupported-as-text-not-transparent|${all_create[*]} --import-unsupported-observables-as-text --no-import-unsupported-observables-as-text-transparent"
  "markings-author-from-tags|--create-indicators --create-observables --markings-from-tags --author-from-tags"
  "no-score|--create-indicators --create-observables --import-to-ids-no-score 10"
  "guess-threats|${all_create[*]} --guess-threats-from-tags"
)

# Replaces the run's clock (official mode) and random bundle ids, from seconds $2 to $3.
normalize() {
  python3 - "$@" <<'PY'
import datetime, re, sys
path, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = open(path, "rb").read()
for second in range(start - 1, end + 2):
    stamp = datetime.datetime.fromtimestamp(second, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    data = data.replace(stamp.encode() + b".000Z", b"NOW")
data = re.sub(rb'"bundle--[0-9a-f-]{36}"', b'"bundle--RANDOM"', data)
open(path, "wb").write(data)
PY
}

convert() { # name, compat, then cti-misp arguments (stdin as given)
  local name=$1 compat=$2 start end
  shift 2
  start=$(date +%s)
  OPENCTI_URL=http://127.0.0.1:$port OPENCTI_TOKEN=misp-identical "$bin" --compat "$compat" "$@" \
    > "$out/$name.ndjson" 2> "$out/$name.stderr" || echo "exit $?" >> "$out/$name.stderr"
  end=$(date +%s)
  if [ "$compat" = official ]; then
    normalize "$out/$name.ndjson" "$start" "$end"
    normalize "$out/$name.stderr" "$start" "$end"
  fi
}

for set in "${sets[@]}"; do
  name=${set%%|*}
  read -r -a options <<< "${set#*|}"
  for compat in fixed official; do
    convert "infoblox-$name-$compat" "$compat" --feed "$infoblox" --import-from-date 2000-01-01 "${options[@]}"
    convert "small-$name-$compat" "$compat" --feed "$small" --import-from-date 2000-01-01 "${options[@]}"
    convert "events-$name-$compat" "$compat" "${options[@]}" < "$work/events.ndjson"
  done
done
convert "infoblox-all-create-jobs1-fixed" fixed --feed "$infoblox" --import-from-date 2000-01-01 "${all_create[@]}" --jobs 1

if [ "$mode" = save ]; then
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$out"/* "$dir"/
  echo "saved $(ls "$out" | wc -l) outputs ($(cat "$out"/*.ndjson | wc -c) bytes) to $dir"
else
  if diff -rq "$dir" "$out" > "$work/diff" 2>&1; then
    echo "identical: $(ls "$out" | wc -l) outputs, $(cat "$out"/*.ndjson | wc -c) bytes"
  else
    rm -rf "$dir.new"
    cp -r "$out" "$dir.new"
    diff -rq "$dir" "$dir.new" || true
    echo "DIFFERENT: $(wc -l < "$work/diff") files differ; the new outputs are in $dir.new" >&2
    exit 1
  fi
fi
