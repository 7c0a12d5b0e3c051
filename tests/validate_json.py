#!/usr/bin/env python3
"""Validate JSON documents against a JSON Schema (draft-07): validate_json.py SCHEMA FILE...
Used by test_analyze_samples for docs/schema/*.schema.json. Exit 0 when every file is
valid, 1 with the first error per file otherwise, 2 when jsonschema is missing."""
import json
import sys

try:
    import jsonschema
except ImportError:  # scripts/deps.sh installs python3-jsonschema
    print("validate_json: python3-jsonschema is not installed", file=sys.stderr)
    sys.exit(2)


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        schema = json.load(f)
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    bad = 0
    for path in sys.argv[2:]:
        with open(path) as f:
            doc = json.load(f)
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        if errors:
            e = errors[0]
            print("%s: %s at /%s" % (path, e.message, "/".join(map(str, e.path))), file=sys.stderr)
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
