#!/usr/bin/env bash
# AMQP push throughput: cti's AMQP push target (pycti's split, addExpectations, publish with
# confirms, settle) against pycti's own send_stix2_bundle over AMQP, on the same bundles
# (default 200 bundles of 50 objects), into the same local RabbitMQ, in the same run. Reports
# messages/s, objects/s, the ratio, and cti's peak RSS at 1x and 10x the input (it must stay
# flat). Checks that both sides put the same messages on the queue.
#
# pycti 6.8.10 and pika go in a venv under .build-bench. pycti's helper cannot be built without
# a platform, so its send_stix2_bundle and _send_bundle run unchanged on a helper object made
# without __init__, with the attributes they read (the broker details, the connector's
# exchange and routing key, a no-op addExpectations). Not a timed test; run it on a quiet
# machine (the broker shares the two cores).
set -euo pipefail
cd "$(dirname "$0")/../.."
bundles=${1:-200}
objects=${2:-50}
root=$(pwd)
venv=.build-bench/venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import pycti, pika' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "pycti==6.8.10"
fi
py="$root/$venv/bin/python"
swift build -c release --package-path scripts/bench/AMQPBench >/dev/null
bin=$(swift build -c release --package-path scripts/bench/AMQPBench --show-bin-path)

work=$(mktemp -d /tmp/cti-amqp-bench-XXXXXX)
chmod 755 "$work"
broker_pid=""
cleanup() {
  if [ -n "$broker_pid" ]; then kill -TERM "$broker_pid" 2>/dev/null || true; wait "$broker_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
dist_port=$(free_port)
connector=$(python3 -c 'import uuid; print(uuid.uuid4())')

# The broker: Debian's rabbitmq-server with its own node and files (as tests/Support/RabbitMQ.swift).
mkdir -p "$work/broker/mnesia" "$work/broker/log" "$work/broker/plugins"
echo "[]." > "$work/broker/enabled_plugins"
printf 'disk_free_limit.absolute = 10MB\nvm_memory_high_watermark.absolute = 1GB\n' > "$work/broker/rabbitmq.conf"
: > "$work/broker/rabbitmq-env.conf"
server=/usr/lib/rabbitmq/bin/rabbitmq-server
[ -x "$server" ] || { echo "amqp.sh: rabbitmq-server is not installed (scripts/install-deps)" >&2; exit 69; }
run_as=()
if [ "$(id -u)" -eq 0 ]; then
  chown -R rabbitmq:rabbitmq "$work/broker"
  run_as=(setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups)
fi
# Started from this shell (no subshell), so that $! is the rabbitmq-server script itself: its
# SIGTERM handler stops the broker cleanly.
cd "$work/broker"
env -i PATH="$PATH" HOME="$work/broker" LANG=C.UTF-8 \
  RABBITMQ_NODENAME="cti-bench-$$@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$port" \
  RABBITMQ_DIST_PORT="$dist_port" RABBITMQ_MNESIA_BASE="$work/broker/mnesia" RABBITMQ_LOG_BASE="$work/broker/log" \
  RABBITMQ_CONFIG_FILE="$work/broker/rabbitmq.conf" RABBITMQ_CONF_ENV_FILE="$work/broker/rabbitmq-env.conf" \
  RABBITMQ_ENABLED_PLUGINS_FILE="$work/broker/enabled_plugins" RABBITMQ_FEATURE_FLAGS_FILE="$work/broker/feature_flags" \
  RABBITMQ_PLUGINS_EXPAND_DIR="$work/broker/plugins" RABBITMQ_PID_FILE="$work/broker/pid" \
  "${run_as[@]}" "$server" > "$work/broker/log/console.log" 2>&1 &
broker_pid=$!
cd "$root"

# Wait for the broker, then declare what registerConnector declares for the connector.
"$py" - "$port" "$connector" <<'PY'
import sys, time, pika
port, connector = int(sys.argv[1]), sys.argv[2]
deadline = time.time() + 60
while True:
    try:
        connection = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", port, "/", pika.PlainCredentials("guest", "guest")))
        break
    except Exception:
        if time.time() > deadline:
            sys.exit("amqp.sh: the broker did not start")
        time.sleep(0.2)
channel = connection.channel()
for exchange in ("amqp.worker.exchange", "amqp.connector.exchange"):
    channel.exchange_declare(exchange, "direct", durable=True)
for kind, exchange in (("push", "amqp.worker.exchange"), ("listen", "amqp.connector.exchange")):
    channel.queue_declare("%s_%s" % (kind, connector), durable=True)
    channel.queue_bind("%s_%s" % (kind, connector), exchange, "%s_routing_%s" % (kind, connector))
connection.close()
PY

# The bundles: per bundle an identity, a marking, 28 indicators, 10 malware and 10 relationships
# (about 1 KB an object), the same for both sides.
gen() {
  python3 - "$1" "$objects" <<'PY'
import json, sys, uuid
count, per = int(sys.argv[1]), int(sys.argv[2])
def sid(t, *parts): return "%s--%s" % (t, uuid.uuid5(uuid.NAMESPACE_URL, "/".join(map(str, (t,) + parts))))
text = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt. " * 4
for b in range(count):
    identity = {"type": "identity", "spec_version": "2.1", "id": sid("identity", b), "name": "Org %d" % b, "identity_class": "organization", "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z"}
    marking = {"type": "marking-definition", "spec_version": "2.1", "id": sid("marking-definition", b), "definition_type": "statement", "definition": {"statement": "copyright %d" % b}, "created": "2024-01-01T00:00:00.000Z"}
    objs = [identity, marking]
    n_ind = max(1, (per - 2) * 28 // 48)
    n_mal = max(1, (per - 2 - n_ind) // 2)
    n_rel = per - 2 - n_ind - n_mal
    indicators, malware = [], []
    for i in range(n_ind):
        o = {"type": "indicator", "spec_version": "2.1", "id": sid("indicator", b, i), "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z", "name": "10.%d.%d.%d" % (b % 250, i, i), "description": text, "pattern": "[ipv4-addr:value = '10.%d.%d.%d']" % (b % 250, i, i), "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00.000Z", "created_by_ref": identity["id"], "object_marking_refs": [marking["id"]], "labels": ["bench", "ioc"], "external_references": [{"source_name": "bench", "url": "https://example.org/%d/%d" % (b, i)}]}
        indicators.append(o)
    for i in range(n_mal):
        o = {"type": "malware", "spec_version": "2.1", "id": sid("malware", b, i), "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z", "name": "Malware %d-%d" % (b, i), "is_family": True, "description": text, "created_by_ref": identity["id"], "object_marking_refs": [marking["id"]], "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "execution"}]}
        malware.append(o)
    rels = []
    for i in range(n_rel):
        rels.append({"type": "relationship", "spec_version": "2.1", "id": sid("relationship", b, i), "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z", "relationship_type": "indicates", "source_ref": indicators[i % len(indicators)]["id"], "target_ref": malware[i % len(malware)]["id"], "description": text[:120], "created_by_ref": identity["id"], "object_marking_refs": [marking["id"]]})
    objs += rels + indicators + malware
    print(json.dumps({"type": "bundle", "id": sid("bundle", b), "objects": objs}))
PY
}
gen "$bundles" > "$work/bundles.ndjson"
gen "$((bundles * 10))" > "$work/bundles-10x.ndjson"
size=$(wc -c < "$work/bundles.ndjson")

# Empties the push queue, keeping the decoded messages (minus work and applicant) in a file.
drain() {
  "$py" - "$port" "$connector" "$1" <<'PY'
import sys, json, base64, pika
port, connector, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
connection = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", port, "/", pika.PlainCredentials("guest", "guest")))
channel = connection.channel()
queue = "push_" + connector
remaining = channel.queue_declare(queue, passive=True).method.message_count
with open(out, "w") as f:
    while remaining > 0:
        for method, properties, body in channel.consume(queue, auto_ack=True, inactivity_timeout=5):
            if method is None:
                sys.exit("amqp.sh: messages missing from the queue")
            message = json.loads(body)
            assert properties.delivery_mode == 2 and properties.content_encoding == "utf-8", properties
            f.write(json.dumps({"action_sequence": message["action_sequence"], "bundle": json.loads(base64.b64decode(message["content"]))}, sort_keys=True) + "\n")
            remaining -= 1
            if remaining == 0:
                break
    channel.cancel()
connection.close()
PY
}

read -r cti_messages cti_objects cti_seconds cti_rss cti_cpu < <("$bin/amqp-bench" push 127.0.0.1 "$port" guest guest "$connector" "$work/bundles.ndjson")
drain "$work/cti.ndjson"

read -r pycti_seconds pycti_cpu < <("$py" - "$port" "$connector" "$work/bundles.ndjson" <<'PY'
import sys, time, types
from pycti.connector.opencti_connector_helper import OpenCTIConnectorHelper
port, connector, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
quiet = types.SimpleNamespace(info=lambda *a, **k: None, debug=lambda *a, **k: None, warning=lambda *a, **k: None, error=lambda *a, **k: None)
helper = object.__new__(OpenCTIConnectorHelper)
helper.__dict__.update(
    work_id=None, validation_mode="workbench", draft_id=None, force_validation=False, bundle_send_to_queue=True,
    bundle_send_to_directory=False, bundle_send_to_directory_path=None, bundle_send_to_directory_retention=7,
    enrichment_shared_organizations=None, playbook=None, connect_validate_before_import=False,
    metric=types.SimpleNamespace(inc=lambda *a, **k: None), queue_protocol="amqp",
    api=types.SimpleNamespace(work=types.SimpleNamespace(add_expectations=lambda work_id, count: None)),
    connector_config={"connection": {"host": "127.0.0.1", "port": port, "vhost": "/", "use_ssl": False, "user": "guest", "pass": "guest"},
                      "push_exchange": "amqp.worker.exchange", "push_routing": "push_routing_" + connector},
    config={}, connector_logger=quiet, connect_name="pycti-bench", applicant_id="bench-user")
lines = open(path).read().splitlines()
start, cpu = time.perf_counter(), time.process_time()
for line in lines:
    helper.send_stix2_bundle(line, work_id="work_bench")
print("%.4f %.3f" % (time.perf_counter() - start, time.process_time() - cpu))
PY
)
drain "$work/pycti.ndjson"
if cmp -s "$work/cti.ndjson" "$work/pycti.ndjson"; then same="identical"; else same="DIFFERENT"; fi

read -r _ _ cti10_seconds cti10_rss cti10_cpu < <("$bin/amqp-bench" push 127.0.0.1 "$port" guest guest "$connector" "$work/bundles-10x.ndjson")
read -r _ encoded_bytes encode_seconds < <("$bin/amqp-bench" encode "$work/bundles.ndjson")

python3 - "$bundles" "$objects" "$size" "$cti_messages" "$cti_objects" "$cti_seconds" "$cti_rss" "$cti_cpu" "$pycti_seconds" "$pycti_cpu" "$same" "$cti10_seconds" "$cti10_rss" "$encoded_bytes" "$encode_seconds" <<'PY'
import sys
bundles, per, size, messages, objects = map(int, sys.argv[1:6])
cti, rss, cti_cpu, pycti, pycti_cpu = float(sys.argv[6]), int(sys.argv[7]), float(sys.argv[8]), float(sys.argv[9]), float(sys.argv[10])
same, cti10, rss10 = sys.argv[11], float(sys.argv[12]), int(sys.argv[13])
print("AMQP push, %d bundles x %d objects (%.1f MB), %d messages into one local RabbitMQ" % (bundles, per, size / 1e6, messages))
for name, s, cpu in (("cti (AMQPPushTarget)", cti, cti_cpu), ("pycti 6.8.10 send_stix2_bundle", pycti, pycti_cpu)):
    print("  %-32s %7.3f s  %9.0f messages/s  %9.0f objects/s  (client CPU %.2f s, %.0f us/object)" % (name, s, messages / s, objects / s, cpu, cpu / objects * 1e6))
print("  cti vs pycti: %.1fx" % (pycti / cti))
print("  messages on the queue: %s (decoded bundles and sequence numbers compared)" % same)
print("  cti at 10x the input: %.3f s (%.0f objects/s); peak RSS %.1f MB at 1x, %.1f MB at 10x" % (cti10, objects * 10 / cti10, rss / 1024, rss10 / 1024))
encoded, encode = int(sys.argv[14]), float(sys.argv[15])
print("  cti's client side alone (split + message bodies, no broker): %.3f s, %.0f objects/s, %.1f MB of messages" % (encode, objects / encode, encoded / 1e6))
PY
