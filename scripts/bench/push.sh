#!/usr/bin/env bash
# Benchmark: cti-push to the fake OpenCTI platform (Tests/Support/fake_opencti.py) on loopback,
# one keep-alive connection, bundles of 100 objects. Prints bundles/s and objects/s for the
# real push and for --dry-run (the client alone, requests written to /dev/null).
#
#   scripts/bench/push.sh [BUNDLES]      (default 1000 bundles = 100000 objects)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUNDLES=${1:-1000}
PER_BUNDLE=100
WORK=$(mktemp -d)
FAKE_PID=""
trap '[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null; rm -rf "$WORK"' EXIT

swift build -c release --product cti-push >/dev/null
BIN=$(swift build -c release --show-bin-path)/cti-push

python3 - "$BUNDLES" "$PER_BUNDLE" >"$WORK/input.ndjson" <<'PY'
import json, sys, uuid
bundles, per = int(sys.argv[1]), int(sys.argv[2])
n = 0
for b in range(bundles):
    objects = []
    for i in range(per):
        n += 1
        objects.append({"type": "indicator", "spec_version": "2.1", "id": "indicator--%s" % uuid.UUID(int=n),
                        "created": "2024-01-15T14:00:29.380Z", "modified": "2024-01-15T14:00:29.380Z",
                        "name": "198.51.%d.%d" % (n // 250 % 250, n % 250), "pattern_type": "stix",
                        "pattern": "[ipv4-addr:value = '198.51.%d.%d']" % (n // 250 % 250, n % 250),
                        "valid_from": "2024-01-15T14:00:29.380Z", "labels": ["bench"]})
    print(json.dumps({"type": "bundle", "id": "bundle--%s" % uuid.uuid4(), "objects": objects}, separators=(",", ":")))
PY

python3 -u Tests/Support/fake_opencti.py >"$WORK/fake.json" &
FAKE_PID=$!
for _ in $(seq 50); do [ -s "$WORK/fake.json" ] && break; sleep 0.1; done
PORT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$WORK/fake.json")
TOKEN=bench-$$
curl -s -o /dev/null -X POST --data "{\"token\":\"$TOKEN\"}" "http://127.0.0.1:$PORT/_graphql/platform"

export OPENCTI_URL="http://127.0.0.1:$PORT" OPENCTI_TOKEN="$TOKEN" CONNECTOR_ID=4c1e0a53-3d2e-4b4f-9e6c-000000000001
SIZE=$(stat -c %s "$WORK/input.ndjson")
OBJECTS=$((BUNDLES * PER_BUNDLE))

rate() { python3 -c "import sys; c,s=float(sys.argv[1]),float(sys.argv[2]); print('%.0f' % (c/s))" "$1" "$2"; }
seconds() { python3 -c "import sys; print('%.3f' % ((int(sys.argv[2]) - int(sys.argv[1])) / 1e9))" "$1" "$2"; }

START=$(date +%s%N)
"$BIN" --batch-size "$PER_BUNDLE" --quiet <"$WORK/input.ndjson"
END=$(date +%s%N)
PUSH=$(seconds "$START" "$END")

START=$(date +%s%N)
"$BIN" --dry-run --batch-size "$PER_BUNDLE" --quiet <"$WORK/input.ndjson" >/dev/null
END=$(date +%s%N)
DRY=$(seconds "$START" "$END")

RECEIVED=$(curl -s "http://127.0.0.1:$PORT/_graphql/state?token=$TOKEN" | python3 -c '
import json, sys
state = json.load(sys.stdin)
pushes = [r for r in state["requests"] if r["operation"] == "StixBundlePush"]
print(len(state["bundles"]), sum(len(b["object_ids"]) for b in state["bundles"]), len({r["client_port"] for r in pushes}))')
read -r GOT_BUNDLES GOT_OBJECTS CONNECTIONS <<<"$RECEIVED"

echo "input: $BUNDLES bundles x $PER_BUNDLE objects ($((SIZE / 1024 / 1024)) MiB)"
echo "push to fake platform: ${PUSH}s  $(rate "$BUNDLES" "$PUSH") bundles/s  $(rate "$OBJECTS" "$PUSH") objects/s  (received $GOT_BUNDLES bundles, $GOT_OBJECTS objects, over $CONNECTIONS connection(s))"
echo "dry run (client only): ${DRY}s  $(rate "$BUNDLES" "$DRY") bundles/s  $(rate "$OBJECTS" "$DRY") objects/s"
