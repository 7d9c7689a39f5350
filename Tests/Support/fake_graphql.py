"""The /graphql side of the fake OpenCTI platform (imported by fake_opencti.py).

Each test creates its own platform, keyed by its API token, so tests sharing the server do not
see each other:

  POST /_graphql/platform   {"token", "version"?: "6.8.10", "user_id"?, "bypass"?: true,
                             "entities"?: [{"entity_type", "name", "aliases"?, "standard_id", "x_mitre_id"?}],
                             "amqp"?: {"host", "port", "vhost", "use_ssl", "user", "pass"},
                             "connector_info"?: true (false: a schema without ConnectorInfoInput)}
  POST /_graphql/queue      {"token", "connector_id", "messages_size" (bytes), "messages_number"?}:
                             what connector(id){connector_queue_details} reports from now on
  POST /_graphql/fault      {"token", "operation", "skip"?: 0, "count"?: 1,
                             "status"?: 500|429, "retry_after"?: s, "error"?: msg, "code"?: CODE,
                             "delay"?: s, "drop"?: true, "huge"?: bytes, "chunked"?: true, "pause"?: s}
  GET  /_graphql/state?token=...   connectors, works, bundles, edits, requests (JSON);
                                   &only=bundles,works keeps just those keys

POST /graphql checks the bearer token, the operation name, the document (the platform's field
and argument names) and the variable shapes, then acts as the platform does (reference
opencti-push-and-connectors.md §A, §B, §D1): registration, pings, works and expectations,
stixBundlePush (registered connector, bundle as a JSON string, non-empty objects, work
created when none is given), stixEdit delete/merge, and stixDomainObjects over the seeded
entities (types, a FilterGroup of eq filters, first). Shape errors answer HTTP 400 with
GRAPHQL_VALIDATION_FAILED, like Apollo; functional errors answer 200 with errors[].
"""
import json
import socket
import threading
import time
import datetime

LOCK = threading.Lock()
PLATFORMS = {}  # token -> dict

CONNECTOR_TYPES = {"EXTERNAL_IMPORT", "INTERNAL_IMPORT_FILE", "INTERNAL_ENRICHMENT", "INTERNAL_ANALYSIS",
                   "INTERNAL_EXPORT_FILE", "STREAM"}

# operation name -> (text the document must contain, {variable: checker})
def is_str(v): return isinstance(v, str)
def is_opt_str(v): return v is None or isinstance(v, str)
def is_int(v): return isinstance(v, int) and not isinstance(v, bool)
def is_bool(v): return isinstance(v, bool)
def is_str_list(v): return isinstance(v, list) and all(isinstance(x, str) for x in v)


def check_input(v):
    if not isinstance(v, dict):
        return False
    allowed = {"id", "name", "type", "scope", "auto", "only_contextual", "playbook_compatible", "auto_update",
               "enrichment_resolution", "listen_callback_uri"}
    if set(v) - allowed:
        return False
    return (is_str(v.get("id")) and is_str(v.get("name")) and len(v["name"]) >= 2
            and v.get("type") in CONNECTOR_TYPES and (v.get("scope") is None or is_str_list(v["scope"]))
            and all(is_bool(v[k]) for k in ("auto", "only_contextual", "playbook_compatible", "auto_update") if k in v))


FILTER_KEYS = {"name", "x_mitre_id", "aliases", "x_opencti_aliases", "entity_type", "standard_id"}


def check_filter(v):
    if not isinstance(v, dict) or set(v) - {"key", "values", "operator", "mode"}:
        return False
    keys = v.get("key")
    keys = [keys] if isinstance(keys, str) else keys
    return (is_str_list(keys) and keys and all(k in FILTER_KEYS for k in keys) and isinstance(v.get("values"), list)
            and v.get("operator", "eq") in ("eq", "not_eq") and v.get("mode", "or") in ("and", "or"))


def check_filter_group(v):
    if v is None:
        return True
    if not isinstance(v, dict) or set(v) - {"mode", "filters", "filterGroups"} or v.get("mode") not in ("and", "or"):
        return False
    return (isinstance(v.get("filters"), list) and all(check_filter(f) for f in v["filters"])
            and isinstance(v.get("filterGroups"), list) and all(check_filter_group(g) for g in v["filterGroups"]))


def is_opt_str_list(v): return v is None or is_str_list(v)
def is_opt_int(v): return v is None or is_int(v)
def is_float(v): return isinstance(v, (int, float)) and not isinstance(v, bool)


def is_opt_datetime(v):
    if v is None:
        return True
    try:
        datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
        return True
    except (AttributeError, ValueError):
        return False


def check_connector_info(v):
    """ConnectorInfoInput: run_and_terminate, buffering (Boolean!), queue_threshold,
    queue_messages_size (Float!), next_run_datetime, last_run_datetime (DateTime)."""
    if v is None:
        return True
    if not isinstance(v, dict) or set(v) - {"run_and_terminate", "buffering", "queue_threshold", "queue_messages_size",
                                            "next_run_datetime", "last_run_datetime"}:
        return False
    return (is_bool(v.get("run_and_terminate")) and is_bool(v.get("buffering")) and is_float(v.get("queue_threshold"))
            and is_float(v.get("queue_messages_size")) and is_opt_datetime(v.get("next_run_datetime"))
            and is_opt_datetime(v.get("last_run_datetime")))


OPERATIONS = {
    "About": ("about { version }", {}),
    "RegisterConnector": ("registerConnector(input: $input)", {"input": check_input}),
    "PingConnector": ("pingConnector(id: $id, state: $state", {"id": is_str, "state": is_opt_str,
                                                               "connectorInfo": check_connector_info}),
    "GetConnector": ("connector(id: $id) {", {"id": is_str}),
    "WorkAdd": ("workAdd(connectorId: $connectorId, friendlyName: $friendlyName)",
                {"connectorId": is_str, "friendlyName": is_opt_str}),
    "AddExpectations": ("workEdit(id: $id) { addExpectations(expectations: $expectations) }",
                        {"id": is_str, "expectations": is_int}),
    "WorkToProcessed": ("workEdit(id: $id) { toProcessed(message: $message, inError: $inError) }",
                        {"id": is_str, "message": is_opt_str, "inError": is_bool}),
    "StixBundlePush": ("stixBundlePush(connectorId: $connectorId, bundle: $bundle, work_id: $work_id)",
                       {"connectorId": is_str, "bundle": is_str, "work_id": is_opt_str}),
    "StixDelete": ("stixEdit(id: $id) { delete }", {"id": is_str}),
    "StixMerge": ("stixEdit(id: $id) { merge(stixObjectsIds: $stixObjectsIds)", {"id": is_str, "stixObjectsIds": is_str_list}),
    "StixDomainObjects": ("stixDomainObjects(types: $types, filters: $filters",
                          {"types": is_opt_str_list, "filters": check_filter_group, "first": is_opt_int,
                           "search": is_opt_str, "after": is_opt_str, "orderBy": is_opt_str, "orderMode": is_opt_str}),
}


def entity_values(entity, key):
    """The values a filter key compares; keyword fields compare case-insensitively."""
    if key in ("aliases", "x_opencti_aliases"):
        # The platform files intrusion set and tool aliases under x_opencti_aliases (aliases for
        # malware), and the MISP connector asks for both keys, so either finds them.
        raw = entity.get("aliases") or []
    else:
        raw = [entity.get(key)] if entity.get(key) is not None else []
    return [str(v).lower() for v in raw]


def filter_matches(entity, spec):
    keys = spec["key"] if isinstance(spec["key"], list) else [spec["key"]]
    wanted = [str(v).lower() for v in spec["values"]]
    hits = [any(w in entity_values(entity, k) for k in keys) for w in wanted]
    found = (all(hits) if spec.get("mode", "or") == "and" else any(hits)) if wanted else True
    return found if spec.get("operator", "eq") == "eq" else not found


def group_matches(entity, group):
    if group is None:
        return True
    results = [filter_matches(entity, f) for f in group["filters"]] + \
              [group_matches(entity, g) for g in group["filterGroups"]]
    if not results:
        return True
    return all(results) if group["mode"] == "and" else any(results)


def domain_object_node(entity):
    node = {"id": entity["id"], "standard_id": entity["standard_id"], "entity_type": entity["entity_type"],
            "name": entity["name"]}
    if entity["entity_type"] == "Attack-Pattern":
        node["x_mitre_id"] = entity.get("x_mitre_id")
    return node


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def new_platform(spec):
    return {"token": spec["token"], "version": spec.get("version", "6.8.10"),
            "user_id": spec.get("user_id", "88ec0c6a-13ce-5e39-b486-354fe4a7084f"),
            "bypass": spec.get("bypass", True), "faults": [], "connectors": {}, "works": {}, "bundles": [],
            "edits": [], "requests": [], "pings": [], "queues": {},
            "connector_info": spec.get("connector_info", True),
            "entities": [dict(e, id=e.get("id") or "internal-%d" % i) for i, e in enumerate(spec.get("entities") or [])],
            # The platform's RabbitMQ as registerConnector reports it (config.connection); the
            # default is what a docker-compose platform says: its internal host name.
            "amqp": dict({"host": "rabbitmq", "port": 5672, "vhost": "/", "use_ssl": False, "user": "guest",
                          "pass": "guest"}, **(spec.get("amqp") or {}))}


def connector_config(platform, connector_id):
    """registerConnector's config: the platform's broker and the connector's queue names
    (rabbitmq.js: push_<id>, push_routing_<id> on amqp.worker.exchange, listen_* on
    amqp.connector.exchange). The test support declares those on the real broker."""
    return {"connection": dict(platform["amqp"]),
            "listen": "listen_%s" % connector_id, "listen_routing": "listen_routing_%s" % connector_id,
            "listen_exchange": "amqp.connector.exchange",
            "push": "push_%s" % connector_id, "push_routing": "push_routing_%s" % connector_id,
            "push_exchange": "amqp.worker.exchange"}


class GraphQLError(Exception):
    def __init__(self, message, code, status=200):
        Exception.__init__(self, message)
        self.code, self.status = code, status


def route_control(handler, rest, query):
    if rest == "platform":
        spec = json.loads(handler.body())
        with LOCK:
            PLATFORMS[spec["token"]] = new_platform(spec)
        return handler.answer(200, {"ok": True})
    if rest == "fault":
        spec = json.loads(handler.body())
        with LOCK:
            fault = dict(spec)
            fault.setdefault("skip", 0)
            fault.setdefault("count", 1)
            PLATFORMS[spec["token"]]["faults"].append(fault)
        return handler.answer(200, {"ok": True})
    if rest == "queue":
        spec = json.loads(handler.body())
        with LOCK:
            PLATFORMS[spec["token"]]["queues"][spec["connector_id"]] = {
                "messages_number": spec.get("messages_number", 0), "messages_size": spec["messages_size"]}
        return handler.answer(200, {"ok": True})
    if rest == "state":
        with LOCK:
            platform = PLATFORMS.get(query.get("token", ""))
            if platform is None:
                return handler.answer(404, {"error": "no such platform"})
            state = {k: v for k, v in platform.items() if k not in ("faults",)}
            if query.get("only"):
                # Only these keys (the requests log grows large in long tests).
                state = {k: v for k, v in state.items() if k in query["only"].split(",")}
            return handler.answer(200, json.loads(json.dumps(state)))
    handler.answer(404, "unknown graphql control call")


def take_fault(platform, operation):
    """The fault for this request: `skip` counts every request of the operation."""
    chosen = None
    for fault in platform["faults"]:
        if fault["operation"] != operation or fault["count"] <= 0:
            continue
        if fault["skip"] > 0:
            fault["skip"] -= 1
        elif chosen is None:
            fault["count"] -= 1
            chosen = fault
    return chosen


def route_graphql(handler, rest, query):
    raw = handler.body()
    token = handler.bearer()
    try:
        body = json.loads(raw)
    except ValueError:
        return handler.answer(400, {"errors": [{"message": "body is not JSON", "extensions": {"code": "BAD_REQUEST"}}]})
    operation = body.get("operationName")
    with LOCK:
        platform = PLATFORMS.get(token)
        if platform is None:
            return handler.answer(200, {"errors": [{"message": "You must be logged in to do this.",
                                                     "name": "AUTH_REQUIRED", "extensions": {"code": "AUTH_REQUIRED"}}],
                                        "data": None})
        applicant = handler.headers.get("opencti-applicant-id")
        platform["requests"].append({"operation": operation, "variables": body.get("variables"),
                                     "applicant": applicant, "bytes": len(raw),
                                     "content_type": handler.headers.get("Content-Type"),
                                     "client_port": handler.client_address[1]})
        fault = take_fault(platform, operation)
    if fault is not None:
        if fault.get("delay"):
            time.sleep(fault["delay"])
        if fault.get("huge"):
            return handler.huge(int(fault["huge"]), bool(fault.get("chunked")), float(fault.get("pause", 0)))
        if fault.get("drop"):
            handler.close_connection = True
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if fault.get("status"):
            headers = {"Retry-After": str(fault["retry_after"])} if "retry_after" in fault else None
            return handler.answer(fault["status"], {"message": "injected HTTP %d" % fault["status"]}, headers=headers)
        if fault.get("error"):
            return handler.answer(200, {"errors": [{"message": fault["error"],
                                                     "extensions": {"code": fault.get("code", "FUNCTIONAL_ERROR")}}],
                                        "data": None})
    try:
        with LOCK:
            data = execute(platform, operation, body, applicant)
        handler.answer(200, {"data": data})
    except GraphQLError as error:
        handler.answer(error.status, {"errors": [{"message": str(error), "extensions": {"code": error.code}}],
                                      "data": None})


def execute(platform, operation, body, applicant):
    if operation not in OPERATIONS:
        raise GraphQLError("Unknown operation %r" % operation, "GRAPHQL_VALIDATION_FAILED", 400)
    signature, checks = OPERATIONS[operation]
    document = body.get("query") or ""
    if signature not in document:
        raise GraphQLError("%s document does not use the platform's fields (%s)" % (operation, signature),
                           "GRAPHQL_VALIDATION_FAILED", 400)
    variables = body.get("variables") or {}
    if operation == "PingConnector" and not platform["connector_info"] and (
            "ConnectorInfoInput" in document or "connectorInfo" in variables):
        # A schema from before ConnectorInfoInput: Apollo refuses the document.
        raise GraphQLError('Unknown type "ConnectorInfoInput".', "GRAPHQL_VALIDATION_FAILED", 400)
    for name in variables:
        if name not in checks:
            raise GraphQLError("Unknown variable $%s for %s" % (name, operation), "GRAPHQL_VALIDATION_FAILED", 400)
    for name, check in checks.items():
        if not check(variables.get(name)) and not (name not in variables and check(None)):
            raise GraphQLError("Variable $%s of %s has an invalid value" % (name, operation),
                               "GRAPHQL_VALIDATION_FAILED", 400)
    user = applicant if (applicant and platform["bypass"]) else platform["user_id"]
    connectors, works = platform["connectors"], platform["works"]
    if operation == "About":
        return {"about": {"version": platform["version"]}}
    if operation == "RegisterConnector":
        spec = variables["input"]
        existing = connectors.get(spec["id"])
        connector = existing or {"id": spec["id"], "connector_state": None, "registrations": 0}
        connector.update({"name": spec["name"], "type": spec["type"], "scope": spec.get("scope") or [],
                          "connector_user_id": platform["user_id"], "updated_at": now_iso()})
        connector["registrations"] += 1
        connectors[spec["id"]] = connector
        answer = {"id": connector["id"], "connector_state": connector["connector_state"],
                  "connector_user_id": connector["connector_user_id"]}
        if "config {" in (body.get("query") or ""):
            answer["config"] = connector_config(platform, spec["id"])
        return {"registerConnector": answer}
    if operation == "PingConnector":
        connector = connectors.get(variables["id"])
        if connector is None:
            raise GraphQLError("Connector not found", "FUNCTIONAL_ERROR")
        platform["pings"].append({"id": variables["id"], "state": variables.get("state"), "at": now_iso(),
                                  "connector_info": variables.get("connectorInfo")})
        if variables.get("connectorInfo") is not None:
            connector["connector_info"] = variables["connectorInfo"]
        if connector.pop("reset", False):
            connector["connector_state"] = ""
        else:
            connector["connector_state"] = variables.get("state")
        connector["updated_at"] = now_iso()
        return {"pingConnector": {"id": connector["id"], "connector_state": connector["connector_state"]}}
    if operation == "GetConnector":
        connector = connectors.get(variables["id"])
        if connector is None:
            return {"connector": None}
        details = platform["queues"].get(variables["id"], {"messages_number": 0, "messages_size": 0})
        return {"connector": {"id": connector["id"], "connector_queue_details": dict(details)}}
    if operation == "WorkAdd":
        if variables["connectorId"] not in connectors:
            raise GraphQLError("Connector not found", "FUNCTIONAL_ERROR")
        work_id = "work_%s_%s_%d" % (variables["connectorId"], now_iso(), len(works) + 1)
        works[work_id] = {"id": work_id, "connector_id": variables["connectorId"], "name": variables.get("friendlyName"),
                          "status": "progress", "expected": 0, "processed": 0, "closed": False, "in_error": None,
                          "message": None, "bundles": 0}
        return {"workAdd": {"id": work_id}}
    if operation in ("AddExpectations", "WorkToProcessed"):
        work = works.get(variables["id"])
        if work is None:
            raise GraphQLError("Work not found", "FUNCTIONAL_ERROR")
        if operation == "AddExpectations":
            work["expected"] += variables.get("expectations") or 0
            return {"workEdit": {"addExpectations": work["id"]}}
        work.update({"closed": True, "in_error": variables.get("inError"), "message": variables.get("message")})
        if work["expected"] == 0 or work["expected"] == work["processed"]:
            work["status"] = "complete"
        return {"workEdit": {"toProcessed": work["id"]}}
    if operation == "StixBundlePush":
        connector = connectors.get(variables["connectorId"])
        if connector is None:
            raise GraphQLError("Invalid bundle", "FUNCTIONAL_ERROR")
        try:
            bundle = json.loads(variables["bundle"])
        except ValueError:
            raise GraphQLError("Invalid bundle", "FUNCTIONAL_ERROR")
        objects = bundle.get("objects") if isinstance(bundle, dict) else None
        if bundle.get("type") != "bundle" or not isinstance(objects, list) or not objects:
            raise GraphQLError("Invalid bundle", "FUNCTIONAL_ERROR")
        work_id = variables.get("work_id")
        if work_id:
            work = works.get(work_id)
            if work is None:
                raise GraphQLError("Work not found", "FUNCTIONAL_ERROR")
        else:
            work_id = "work_%s_%s_%d" % (connector["id"], now_iso(), len(works) + 1)
            work = works[work_id] = {"id": work_id, "connector_id": connector["id"], "name": connector["name"] + " run",
                                     "status": "progress", "expected": 1 if len(objects) == 1 else 0, "processed": 0,
                                     "closed": False, "in_error": None, "message": None, "bundles": 0}
        # The worker adds expectations when it splits a bigger bundle, then reports each object.
        if len(objects) > 1:
            work["expected"] += len(objects)
        work["processed"] += len(objects)
        work["bundles"] += 1
        platform["bundles"].append({"connector_id": connector["id"], "work_id": work_id, "applicant": user,
                                    "id": bundle.get("id"), "object_ids": [o.get("id") for o in objects],
                                    "bytes": len(variables["bundle"].encode("utf-8"))})
        return {"stixBundlePush": True}
    if operation == "StixDelete":
        platform["edits"].append({"op": "delete", "id": variables["id"], "user": user})
        return {"stixEdit": {"delete": variables["id"]}}
    if operation == "StixMerge":
        platform["edits"].append({"op": "merge", "id": variables["id"], "sources": variables["stixObjectsIds"],
                                  "user": user})
        return {"stixEdit": {"merge": {"id": variables["id"]}}}
    if operation == "StixDomainObjects":
        types = variables.get("types")
        found = [e for e in platform["entities"]
                 if (not types or e["entity_type"] in types) and group_matches(e, variables.get("filters"))]
        first = variables.get("first")
        if first is None:
            first = 100
        return {"stixDomainObjects": {"edges": [{"node": domain_object_node(e)} for e in found[:first]],
                                      "pageInfo": {"hasNextPage": len(found) > first, "globalCount": len(found)}}}
    raise GraphQLError("unhandled", "INTERNAL")
