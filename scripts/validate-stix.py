#!/usr/bin/env python3
"""Validate NDJSON STIX 2.1 bundles (one per line, from stdin or files) with the OASIS
validator (stix2-validator 3.2.0). Prints one line per finding and a summary as JSON on the
last line: {"bundles": n, "objects": n, "errors": n, "input_value_errors": n, "warnings": n}.
An error on a value copied verbatim from the input (a domain, URL or e-mail address that is
not syntactically valid) is counted apart as an input value error.

--sample N validates, in bundles of more than N objects, only the first N objects of each type
(the validator needs about 5 ms an object; a 60,000-attribute event takes minutes)."""
import json
import re
import sys

from stix2validator import ValidationOptions, validate_parsed_json

# Findings about values the converter copies from MISP unchanged: the `value` of a domain,
# URL, e-mail address or hostname that fails the validator's format check.
INPUT_VALUE = re.compile(
    r"^(domain-name|url|email-addr|hostname)--[0-9a-f-]{36}: value: .* is not a "
    r"'(uri|idn-hostname|hostname|idn-email|email)'$", re.S)

def main():
    arguments = sys.argv[1:]
    sample = None
    if arguments[:1] == ["--sample"]:
        sample = int(arguments[1])
        arguments = arguments[2:]
    paths = arguments or ["-"]
    options = ValidationOptions(version="2.1", strict=False)
    totals = {"bundles": 0, "objects": 0, "errors": 0, "input_value_errors": 0, "warnings": 0}
    for path in paths:
        stream = sys.stdin if path == "-" else open(path, encoding="utf-8")
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            bundle = json.loads(line)
            if sample is not None and len(bundle.get("objects", [])) > sample:
                kept, seen = [], {}
                for item in bundle["objects"]:
                    seen[item["type"]] = seen.get(item["type"], 0) + 1
                    if seen[item["type"]] <= sample:
                        kept.append(item)
                bundle["objects"] = kept
            totals["bundles"] += 1
            totals["objects"] += len(bundle.get("objects", []))
            results = validate_parsed_json(bundle, options)
            if not isinstance(results, list):
                results = [results]
            for result in results:
                for error in result.errors:
                    message = str(error)
                    value_error = INPUT_VALUE.match(message) is not None
                    totals["input_value_errors" if value_error else "errors"] += 1
                    kind = "input-value" if value_error else "error"
                    print(f"{path}:{number}: {kind}: {result.object_id}: {message}")
                for warning in result.warnings:
                    totals["warnings"] += 1
    print(json.dumps(totals))
    return 1 if totals["errors"] else 0

if __name__ == "__main__":
    sys.exit(main())
