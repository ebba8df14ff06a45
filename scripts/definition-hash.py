#!/usr/bin/env python3
"""An independent implementation of envaudit's definition-hash encoding (docs/hashing.md).

Reads a vectors file (a JSON list of objects with `definition_hash` and `ingredients`, each
ingredient `{"kind": ..., "value": ...}`), recomputes every hash from its ingredients and
exits 1 on the first mismatch. `envaudit hash --format json` output is also accepted.
Standard library only.
"""
import hashlib
import json
import sys

DOMAIN = b"envaudit-definition-hash/1\n"


def definition_hash(ingredients):
    h = hashlib.sha256(DOMAIN)
    for ing in ingredients:
        value = ing["value"].encode("utf-8")
        h.update(ing["kind"].encode("utf-8") + b" " + str(len(value)).encode() + b"\n")
        h.update(value + b"\n")
    return "sha256:" + h.hexdigest()


def main(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    vectors = data if isinstance(data, list) else [data]
    for v in vectors:
        got = definition_hash(v["ingredients"])
        if got != v["definition_hash"]:
            print(f"mismatch for {v.get('path')}: expected {v['definition_hash']}, computed {got}")
            return 1
    print(f"{len(vectors)} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
