#!/usr/bin/env python3
"""Writes N synthetic OpenCTI stream events (NDJSON, about 1 KB each) for the benchmarks.

With --sse, writes them as the platform sends them instead (an SSE capture for
`cti-stream --replay`): `id:` and `event:` fields, and the payload without those two as `data:`;
--heartbeat-every=N adds a heartbeat (at the last event's id) after every N events.
"""
import json
import sys
import uuid

arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
sse = "--sse" in sys.argv[1:]
beat = next((int(a.split("=", 1)[1]) for a in sys.argv[1:] if a.startswith("--heartbeat-every=")), 0)
count = int(arguments[0]) if arguments else 100000
out = sys.stdout
kinds = ["indicator", "malware", "relationship", "report", "identity"]
for n in range(count):
    kind = kinds[n % len(kinds)]
    sid = "%s--%s" % (kind, uuid.UUID(int=n + 1))
    hour = n // 2000
    created = "2024-01-%02dT%02d:%02d:%02d.%03dZ" % (1 + (hour // 24) % 28, hour % 24, (n // 60) % 60, n % 60, n % 1000)
    data = {
        "id": sid, "spec_version": "2.1", "type": kind, "created": created, "modified": created,
        "name": "object %d – ünïcode" % n, "description": "Synthetic benchmark object number %d. " % n * 3,
        "labels": ["phishing", "c2", "bench"], "confidence": 75,
        "object_marking_refs": ["marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"],
        "pattern": "[domain-name:value = 'host%d.example.com']" % n, "pattern_type": "stix",
        "extensions": {"extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba": {
            "extension_type": "property-extension", "id": str(uuid.UUID(int=n + 7)), "type": kind.title(),
            "created_at": created, "updated_at": created, "is_inferred": False, "score": n % 100}},
    }
    event = "create" if n % 10 else "update"
    line = {"id": "%d-0" % (1705327229123 + n), "event": event, "version": "4", "type": event, "scope": "external",
            "message": "creates a %s `object %d`" % (kind, n), "origin": {"socket": "query", "user_id": str(uuid.UUID(int=3))},
            "data": data}
    if sse:
        event_id, name = line.pop("id"), line.pop("event")
        out.write("id: %s\nevent: %s\ndata: %s\n\n" % (event_id, name, json.dumps(line, ensure_ascii=False, separators=(",", ":"))))
        if beat and (n + 1) % beat == 0:
            out.write("id: %s\nevent: heartbeat\ndata: \"2024-01-15T14:00:00.000Z\"\n\n" % event_id)
    else:
        out.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
