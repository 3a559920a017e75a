#!/usr/bin/python3
"""Validates JSON documents against a JSON Schema (draft-07) with Debian's
python3-jsonschema. Used by the test stand-ins and the manifest tests.

usage: validate_json.py SCHEMA.json [DOCUMENT.json]   (the document on stdin without one)
Prints one line per violation ("<path>: <message>") and exits 1 when there is any.
"""
import json
import sys

import jsonschema


def main():
    with open(sys.argv[1]) as f:
        schema = json.load(f)
    if len(sys.argv) > 2:
        with open(sys.argv[2]) as f:
            document = json.load(f)
    else:
        document = json.load(sys.stdin)
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    for error in errors:
        path = "/".join(str(p) for p in error.absolute_path) or "(root)"
        print(f"{path}: {error.message}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
