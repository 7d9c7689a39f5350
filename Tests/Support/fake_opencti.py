#!/usr/bin/env python3
"""A fake OpenCTI platform for cti's tests: real HTTP on 127.0.0.1, behaviour from
docs in /work/shared/reference (live stream SSE, /storage/get files), scenarios set per test
through a small control API. Standard library only.

Start: fake_opencti.py [--tls]. It prints one JSON line on stdout with its ports, then serves
until its parent process goes away.

Control API (JSON bodies):
  POST /_control/scenario          a stream scenario (see Scenario below)
  POST /_control/append/<name>     {"events": [...]}: events that reach held connections live
  GET  /_control/requests/<name>   the requests the scenario's stream received
  POST /_control/file              {"path", "base64", "token"?, "status"?, "fail_first"?}
  GET  /_control/file-requests?path=...   how many times a file was asked for

Other routes: /stream/<id>, /stream (raw stream, chosen by token), /storage/get/<path>,
/_echo/... (answers with a JSON description of the request), /_test/... (see handler).
Room for later routes: add a `route_<name>` entry to ROUTES (e.g. /graphql for the push tests).
"""
import base64
import datetime
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit, unquote

import fake_graphql

LOCK = threading.Condition()
SCENARIOS = {}          # name -> Scenario
RAW_BY_TOKEN = {}       # token -> Scenario for GET /stream
FILES = {}              # storage path -> dict
FILE_REQUESTS = {}      # storage path -> count
FLAKY = {}              # key -> requests seen


def parse_position(text):
    """A stream position as (ms, seq): '0', '0-0', '<ms>-<seq>' or an ISO date."""
    if text is None or text == "":
        return None
    if text in ("0", "0-0"):
        return (0, 0)
    parts = text.split("-")
    if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
        return (int(parts[0]), int(parts[1]))
    try:
        when = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.timezone.utc)
        return (int(when.timestamp() * 1000), 0)
    except ValueError:
        raise ValueError("invalid stream position %r" % text)


def iso_of_ms(ms):
    when = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def sse(event_id, event, data):
    out = []
    if event_id is not None:
        out.append("id: %s\n" % event_id)
    if event is not None:
        out.append("event: %s\n" % event)
    out.append("data: %s\n\n" % data)
    return "".join(out).encode("utf-8")


class Scenario:
    """One stream: events with Redis-style ids, an optional recovery snapshot, faults.

    spec keys: name, token (null = no auth), status (answer every connection with it),
    events [{id, event, data(str)}], snapshot [{id?, data(str)}] (sent as `create` when
    recover > from), generate {count, size} (pre-built bytes, for benchmarks), heartbeat (s),
    delay (s between events; with burst N, between groups of N events), hold (keep the connection open after the last event; default
    true), hold_seconds (max), faults {"<connection number>": {kind: drop|stall|status|close,
    after: <events sent first>, status, seconds}}, raw (also serve GET /stream for this token).
    """

    def __init__(self, spec):
        self.name = spec["name"]
        self.token = spec.get("token")
        self.status = spec.get("status", 200)
        self.events = [(parse_position(e["id"]), e["id"], e.get("event", "create"), e["data"])
                       for e in spec.get("events", [])]
        self.snapshot = spec.get("snapshot", [])
        # A collection with origin filters: recovery is skipped and announced with `no-recover`.
        self.no_recover = spec.get("no_recover", False)
        self.heartbeat = spec.get("heartbeat", 5.0)
        self.delay = spec.get("delay", 0.0)
        self.burst = max(1, spec.get("burst", 1))
        self.hold = spec.get("hold", True)
        self.hold_seconds = spec.get("hold_seconds", 120)
        self.faults = spec.get("faults", {})
        self.connections = 0
        self.requests = []
        self.generated = None
        if "generate" in spec:
            self.build_generated(spec["generate"])

    def build_generated(self, spec):
        count, size = spec["count"], spec.get("size", 1024)
        base = spec.get("start_ms", 1705327200000)
        head = '{"version":"4","type":"create","scope":"external","message":"creates a Indicator","origin":{"user_id":"88ec0c6a-1d2e-4b6f-9a0e-1f2e3d4c5b6a"},"data":{"id":"indicator--%s","spec_version":"2.1","type":"indicator","name":"'
        tail = '","pattern_type":"stix","extensions":{"extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba":{"extension_type":"property-extension","type":"Indicator","created_at":"2024-01-15T14:00:29.412Z"}}}}'
        chunks, offsets, position = [], [], 0
        for i in range(count):
            event_id = "%d-0" % (base + i)
            start = head % uuid.UUID(int=i)
            pad = max(0, size - len(start) - len(tail) - len(event_id) - 30)
            data = start + ("x" * pad) + tail
            block = sse(event_id, "create", data)
            offsets.append(position)
            position += len(block)
            chunks.append(block)
        self.generated = (base, b"".join(chunks), offsets)

    def describe(self):
        first = self.events[0][1] if self.events else "0-0"
        last = self.events[-1][1] if self.events else "0-0"
        return json.dumps({"lastEventId": last, "firstEventId": first,
                           "streamSize": len(self.events), "connectionId": str(uuid.uuid4())})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without TCP_NODELAY the body waits for the
    # client's delayed ACK (~40 ms per request on a keep-alive connection).
    disable_nagle_algorithm = True
    server_version = "FakeOpenCTI/1.0"

    def log_message(self, *args):
        pass

    # --- plumbing -------------------------------------------------------------------------
    def split(self):
        target = self.path
        proxied = None
        if target.startswith("http://") or target.startswith("https://"):
            parts = urlsplit(target)
            proxied = parts.netloc
            target = parts.path + ("?" + parts.query if parts.query else "")
        parts = urlsplit(target)
        return parts.path, {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}, proxied

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def answer(self, status, payload=b"", content_type="text/plain; charset=utf-8", headers=None):
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        elif not isinstance(payload, bytes):
            payload = json.dumps(payload).encode("utf-8")
            content_type = "application/json"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def bearer(self):
        value = self.headers.get("Authorization", "")
        return value[7:] if value.startswith("Bearer ") else None

    def chunk(self, data):
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def end_chunks(self):
        self.wfile.write(b"0\r\n\r\n")

    def huge(self, length, chunked=False, pause=0.0, seconds=20):
        """An answer of `length` bytes of JSON-looking text (Content-Length, or chunked), sent in
        1 MiB writes `pause` seconds apart for at most `seconds`: a client that does not refuse
        it reads until then."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        block = b'{"data":"' + b"x" * ((1 << 20) - 9)
        sent, deadline = 0, time.time() + seconds
        try:
            while sent < length and time.time() < deadline:
                piece = block[:min(len(block), length - sent)]
                if chunked:
                    self.chunk(piece)
                else:
                    self.wfile.write(piece)
                sent += len(piece)
                if pause:
                    time.sleep(pause)
        except OSError:
            pass
        return self.abort()

    def abort(self):
        """Closes the socket without finishing the chunked body: a dropped connection."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # --- dispatch ---------------------------------------------------------------------------
    def do_GET(self):
        self.route()

    def do_POST(self):
        self.route()

    def do_PUT(self):
        self.route()

    def do_DELETE(self):
        self.route()

    def do_HEAD(self):
        self.route()

    def route(self):
        path, query, proxied = self.split()
        self.proxied = proxied
        try:
            for prefix, method in ROUTES:
                if path == prefix or path.startswith(prefix + "/"):
                    return method(self, path[len(prefix):].lstrip("/"), query)
            self.answer(404, "Not found")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # --- control API --------------------------------------------------------------------------
    def route_control(self, rest, query):
        if rest == "scenario":
            spec = json.loads(self.body())
            scenario = Scenario(spec)
            with LOCK:
                SCENARIOS[scenario.name] = scenario
                if spec.get("raw"):
                    RAW_BY_TOKEN[scenario.token] = scenario
            return self.answer(200, {"ok": True})
        if rest.startswith("append/"):
            spec = json.loads(self.body())
            with LOCK:
                scenario = SCENARIOS[rest[7:]]
                for e in spec["events"]:
                    scenario.events.append((parse_position(e["id"]), e["id"], e.get("event", "create"), e["data"]))
                LOCK.notify_all()
            return self.answer(200, {"ok": True})
        if rest.startswith("requests/"):
            with LOCK:
                scenario = SCENARIOS.get(rest[9:])
                return self.answer(200, scenario.requests if scenario else [])
        if rest == "file":
            spec = json.loads(self.body())
            with LOCK:
                FILES[spec["path"].lstrip("/")] = {
                    "bytes": base64.b64decode(spec.get("base64", "")), "token": spec.get("token"),
                    "status": spec.get("status", 200), "fail_first": spec.get("fail_first", 0),
                    "content_type": spec.get("content_type", "application/octet-stream")}
            return self.answer(200, {"ok": True})
        if rest == "file-requests":
            with LOCK:
                return self.answer(200, {"count": FILE_REQUESTS.get(query.get("path", "").lstrip("/"), 0)})
        self.answer(404, "unknown control call")

    # --- transport test helpers ----------------------------------------------------------------
    def route_echo(self, rest, query):
        body = self.body()
        self.answer(200, {
            "method": self.command, "path": self.path, "proxied_host": self.proxied,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body_base64": base64.b64encode(body).decode(), "client_port": self.client_address[1]})

    def route_test(self, rest, query):
        parts = rest.split("/")
        kind = parts[0]
        if kind == "flaky":  # /_test/flaky/<key>/<failures>/<status>
            key, failures, status = parts[1], int(parts[2]), int(parts[3])
            self.body()
            with LOCK:
                FLAKY[key] = FLAKY.get(key, 0) + 1
                seen = FLAKY[key]
            if seen <= failures:
                headers = {"Retry-After": query["retry_after"]} if "retry_after" in query else None
                return self.answer(status, "failure %d of %d for %s" % (seen, failures, key), headers=headers)
            return self.answer(200, "ok after %d" % seen)
        if kind == "count":  # /_test/count/<key>: how many requests /_test/flaky/<key> got
            with LOCK:
                return self.answer(200, {"count": FLAKY.get(parts[1], 0)})
        if kind == "status":  # /_test/status/<code>?body=...
            return self.answer(int(parts[1]), query.get("body", ""))
        if kind == "slow":  # /_test/slow/<seconds>
            time.sleep(float(parts[1]))
            return self.answer(200, "slow")
        if kind == "bytes":  # /_test/bytes/<count>: count bytes 0..255 repeating, chunked
            count = int(parts[1])
            block = bytes(range(256)) * 256
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            sent = 0
            while sent < count:
                piece = block[:min(len(block), count - sent)]
                self.chunk(piece)
                sent += len(piece)
            return self.end_chunks()
        if kind == "stall":  # /_test/stall/<seconds>: some bytes, then silence
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.chunk(b": hello\n\n")
            time.sleep(float(parts[1]))
            return self.abort()
        if kind == "huge":  # /_test/huge/<length>[?chunked=1&pause=s]: announces length bytes, sends them
            return self.huge(int(parts[1]), query.get("chunked") == "1", float(query.get("pause", "0")))
        if kind == "drop":  # headers and half a body, then the socket closes
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"x" * 100)
            return self.abort()
        self.answer(404, "unknown test route")

    # --- OpenCTI routes --------------------------------------------------------------------------
    def route_storage(self, rest, query):
        if not rest.startswith("get/"):
            return self.answer(404, "Not found")
        path = unquote(rest[4:])
        with LOCK:
            FILE_REQUESTS[path] = FILE_REQUESTS.get(path, 0) + 1
            seen = FILE_REQUESTS[path]
            entry = FILES.get(path)
        if entry is None:
            return self.answer(404, "Not found")
        if entry["token"] is not None and self.bearer() != entry["token"]:
            return self.answer(401, "Unauthorized")
        if seen <= entry["fail_first"]:
            return self.answer(500, "Internal error while reading %s" % path)
        if entry["status"] != 200:
            return self.answer(entry["status"], "error page for %s" % path)
        self.answer(200, entry["bytes"], content_type=entry["content_type"])

    def route_stream(self, rest, query):
        with LOCK:
            if rest:
                scenario = SCENARIOS.get(rest)
            else:
                scenario = RAW_BY_TOKEN.get(self.bearer())
            if scenario is None:
                return self.answer(401 if not rest else 401, "Unauthorized")
            scenario.connections += 1
            number = scenario.connections
            scenario.requests.append({
                "connection": number, "path": self.path, "query": query,
                "headers": {k.lower(): v for k, v in self.headers.items()}})
        if scenario.token is not None and self.bearer() != scenario.token:
            return self.answer(401, "Unauthorized")
        fault = scenario.faults.get(str(number), {})
        if fault.get("kind") == "status":
            return self.answer(fault.get("status", 500), "Error in stream %s: injected failure" % scenario.name)
        if scenario.status != 200:
            return self.answer(scenario.status, "Error in stream %s" % scenario.name)
        header = lambda name: self.headers.get(name)
        start = query.get("from") or header("from") or header("last-event-id")
        recover = query.get("recover") or header("recover") or header("recover-date")
        try:
            start_key = parse_position(start)
            recover_key = parse_position(recover)
        except ValueError as error:
            return self.answer(500, "Error in stream %s: %s" % (scenario.name, error))
        if recover_key is not None and start_key is None:
            return self.answer(500, "Error in stream %s: recover without from" % scenario.name)

        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache, no-transform")
        self.send_header("Connection", "keep-alive")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.close_connection = True
        self.chunk(sse(None, "connected", scenario.describe()))
        if scenario.generated is not None:
            return self.serve_generated(scenario, start_key)
        self.serve_events(scenario, fault, start_key, recover_key)

    def serve_generated(self, scenario, start_key):
        base, blob, offsets = scenario.generated
        index = 0
        if start_key is not None and start_key > (0, 0):
            index = max(0, min(len(offsets), start_key[0] - base + 1))
        position = offsets[index] if index < len(offsets) else len(blob)
        view = memoryview(blob)
        step = 1 << 20
        while position < len(blob):
            self.chunk(view[position:position + step].tobytes())
            position += step
        self.end_chunks()

    def serve_events(self, scenario, fault, start_key, recover_key):
        sent = 0
        position = start_key
        last_beat = time.monotonic()

        def send(block):
            nonlocal sent
            after = fault.get("after")
            if after is not None and sent == after:
                kind = fault.get("kind")
                if kind == "drop":
                    self.chunk(block[:len(block) // 2])
                    self.abort()
                    return False
                if kind == "stall":
                    time.sleep(fault.get("seconds", 3600))
                    self.abort()
                    return False
                if kind == "close":
                    self.end_chunks()
                    return False
                if kind == "endless":  # an event whose data line never ends
                    self.chunk(b"id: 9999999999999-0\nevent: create\ndata: {\"x\":\"")
                    piece = b"x" * (1 << 20)
                    for _ in range(fault.get("megabytes", 64)):
                        self.chunk(piece)
                    self.abort()
                    return False
            self.chunk(block)
            sent += 1
            return True

        def pause_if_due():
            # After the heartbeat that may follow the event, so that a burst ends with it.
            if scenario.delay and sent % scenario.burst == 0:
                time.sleep(scenario.delay)

        def beat_if_due():
            nonlocal last_beat
            if scenario.heartbeat and time.monotonic() - last_beat >= scenario.heartbeat:
                last_beat = time.monotonic()
                at = position if position is not None else (int(time.time() * 1000), 0)
                self.chunk(sse("%d-%d" % at, "heartbeat", json.dumps(iso_of_ms(at[0]))))

        if recover_key is not None and start_key is not None and scenario.no_recover:
            if not send(sse(None, "no-recover", json.dumps("%d-%d" % start_key))):
                return
        elif recover_key is not None and start_key is not None and recover_key > start_key:
            for item in scenario.snapshot:
                if not send(sse(item.get("id", "%d-0" % recover_key[0]), "create", item["data"])):
                    return
                beat_if_due()
                pause_if_due()
            position = recover_key
        with LOCK:
            index = len(scenario.events) if position is None else sum(1 for e in scenario.events if e[0] <= position)
        deadline = time.monotonic() + scenario.hold_seconds
        while True:
            with LOCK:
                pending = scenario.events[index:]
            for key, event_id, event, data in pending:
                index += 1
                if position is not None and key <= position:
                    continue
                if not send(sse(event_id, event, data)):
                    return
                position = key
                beat_if_due()
                pause_if_due()
            if not scenario.hold or time.monotonic() > deadline:
                return self.end_chunks()
            with LOCK:
                if len(scenario.events) <= index:
                    LOCK.wait(timeout=min(0.05, scenario.heartbeat or 0.05))
            beat_if_due()


ROUTES = [
    ("/_control", Handler.route_control),
    ("/_echo", Handler.route_echo),
    ("/_test", Handler.route_test),
    ("/storage", Handler.route_storage),
    ("/stream", Handler.route_stream),
    ("/graphql", fake_graphql.route_graphql),
    ("/_graphql", fake_graphql.route_control),
]


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


def make_certificate(directory):
    key, cert = os.path.join(directory, "key.pem"), os.path.join(directory, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return key, cert


def watch_parent(parent):
    while True:
        if os.getppid() != parent:
            os._exit(0)
        time.sleep(0.5)


def main():
    parent = os.getppid()
    plain = Server(("127.0.0.1", 0), Handler)
    info = {"port": plain.server_address[1]}
    threading.Thread(target=plain.serve_forever, daemon=True).start()
    if "--tls" in sys.argv:
        directory = tempfile.mkdtemp(prefix="fake-opencti-")
        key, cert = make_certificate(directory)
        secure = Server(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        secure.socket = context.wrap_socket(secure.socket, server_side=True)
        info["tls_port"] = secure.server_address[1]
        info["ca"] = cert
        threading.Thread(target=secure.serve_forever, daemon=True).start()
    print(json.dumps(info), flush=True)
    watch_parent(parent)


if __name__ == "__main__":
    main()
