#!/usr/bin/env python3
"""S3 on loopback for cti's tests: moto's server with SigV4 signatures checked.

Usage: moto_s3.py PORT

Creates an IAM user allowed s3:*, prints its keys as one JSON line on stdout
({"access_key": ..., "secret_key": ...}), then serves on 127.0.0.1:PORT until killed.
Every request must be signed with those keys (INITIAL_NO_AUTH_ACTION_COUNT=0).

moto 5.2 with werkzeug 3 rebuilds the canonical request from a path and query that werkzeug
has already percent-decoded, so it rejects correctly signed requests whose query holds an
encoded '/' (prefix=connectors%2F) and accepts some wrongly signed ones. Before moto computes
the signature we re-encode path and query the way AWS canonicalises them: decode, then
percent-encode everything but A-Z a-z 0-9 - _ . ~ (keeping '/' in the path), pairs in the
order they were sent. Requirements: moto[server]==5.2.1 (pip).
"""
import json
import os
import sys
import threading
import time
from urllib.parse import quote, unquote

os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"

from moto import server  # noqa: E402
from moto.core import DEFAULT_ACCOUNT_ID  # noqa: E402
from moto.iam import access_control  # noqa: E402
from moto.iam.models import iam_backends  # noqa: E402

UNRESERVED = "-_.~"


def aws_encoded(path_and_query: str) -> str:
    path, mark, query = path_and_query.partition("?")
    encoded = quote(unquote(path), safe="/" + UNRESERVED)
    if not mark:
        return encoded
    pairs = []
    for item in query.split("&"):
        name, _, value = item.partition("=")
        pairs.append(quote(unquote(name), safe=UNRESERVED) + "=" + quote(unquote(value), safe=UNRESERVED))
    return encoded + "?" + "&".join(pairs)


_build_request = access_control.IAMRequestBase._create_aws_request


def _create_aws_request(self):
    self._path = aws_encoded(self._path)
    return _build_request(self)


access_control.IAMRequestBase._create_aws_request = _create_aws_request


def exit_with_parent() -> None:
    """The test process that started us may die without stopping us: follow it."""
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def main() -> None:
    threading.Thread(target=exit_with_parent, daemon=True).start()
    port = sys.argv[1] if len(sys.argv) > 1 else "5000"
    iam = iam_backends[DEFAULT_ACCOUNT_ID]["aws"]
    iam.create_user(region_name="us-east-1", user_name="cti-test")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    iam.put_user_policy("cti-test", "s3-all", json.dumps(policy))
    key = iam.create_access_key("cti-test")
    print(json.dumps({"access_key": key.access_key_id, "secret_key": key.secret_access_key}), flush=True)
    server.main(["-H", "127.0.0.1", "-p", port])


if __name__ == "__main__":
    main()
