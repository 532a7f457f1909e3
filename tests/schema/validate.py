#!/usr/bin/python3
"""Validate Cloud API message bodies against tests/schema/messages.schema.json.

The schema states every shape and limit that JSON Schema can express; this
script adds the three it cannot (see the schema's $comment):
  - reply-button titles and ids are unique within a message;
  - list row ids are unique, and a list has at most 10 rows over all sections;
  - template button indexes are unique.

Inputs:
  --valid-jsonl FILE   one body per line (what test_scenario built); every
                       line must pass, and the file must not be empty
  --valid PATH         a .json file (one body, or an array of bodies) or a
                       folder of them; every body must pass
  --invalid PATH       the same, but every file must FAIL: this proves the
                       schema bites; a folder's expect.tsv ("file<TAB>text")
                       names, per file, text one of its problems must hold,
                       so each is caught for the reason it was written for
  --require-kinds A,B  each kind (the body's type, or the interactive type)
                       must occur among the valid bodies

Exit status 0 when everything holds, 1 otherwise.
"""
import argparse
import json
import os
import sys

import jsonschema


def extra_errors(body):
    """The rules JSON Schema cannot express; returns a list of messages."""
    errs = []
    inter = body.get("interactive") if isinstance(body, dict) else None
    if isinstance(inter, dict):
        action = inter.get("action") or {}
        if inter.get("type") == "button":
            replies = [b.get("reply", {}) for b in action.get("buttons", []) if isinstance(b, dict)]
            titles = [r.get("title") for r in replies]
            ids = [r.get("id") for r in replies]
            if len(set(titles)) != len(titles):
                errs.append("reply-button titles are not unique: %r" % titles)
            if len(set(ids)) != len(ids):
                errs.append("reply-button ids are not unique: %r" % ids)
        if inter.get("type") == "list":
            rows = [r for s in action.get("sections", []) if isinstance(s, dict)
                    for r in s.get("rows", []) if isinstance(r, dict)]
            if len(rows) > 10:
                errs.append("list has %d rows over all sections (at most 10)" % len(rows))
            ids = [r.get("id") for r in rows]
            if len(set(ids)) != len(ids):
                errs.append("list row ids are not unique: %r" % ids)
    tmpl = body.get("template") if isinstance(body, dict) else None
    if isinstance(tmpl, dict):
        idx = [c.get("index") for c in tmpl.get("components", [])
               if isinstance(c, dict) and c.get("type") == "button"]
        if len(set(idx)) != len(idx):
            errs.append("template button indexes are not unique: %r" % idx)
    return errs


def problems(validator, body):
    out = ["%s: %s" % ("/".join(str(p) for p in e.absolute_path) or "(body)", e.message[:300])
           for e in validator.iter_errors(body)]
    return out + extra_errors(body)


def kind(body):
    if not isinstance(body, dict):
        return None
    if body.get("type") == "interactive":
        return (body.get("interactive") or {}).get("type")
    return body.get("type")


def json_files(path):
    if os.path.isdir(path):
        return sorted(os.path.join(path, n) for n in os.listdir(path)
                      if n.endswith(".json") and os.path.isfile(os.path.join(path, n)))
    return [path]


def bodies_of(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    return doc if isinstance(doc, list) else [doc]


def expectations(folder):
    """file name -> expected problem text, from folder/expect.tsv."""
    path = os.path.join(folder, "expect.tsv")
    out = {}
    if os.path.isdir(folder) and os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip() and not line.startswith("#"):
                    name, text = line.rstrip("\n").split("\t", 1)
                    out[name] = text
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--schema", required=True)
    ap.add_argument("--valid-jsonl", action="append", default=[])
    ap.add_argument("--valid", action="append", default=[])
    ap.add_argument("--invalid", action="append", default=[])
    ap.add_argument("--require-kinds", default="")
    args = ap.parse_args()

    with open(args.schema, encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    failed = 0
    seen = set()
    checked = 0

    for path in args.valid_jsonl:
        lines = 0
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                lines += 1
                body = json.loads(line)
                seen.add(kind(body))
                for p in problems(validator, body):
                    print("%s:%d: %s" % (path, n, p))
                    failed += 1
        if lines == 0:
            print("%s: no bodies to check" % path)
            failed += 1
        checked += lines

    for root in args.valid:
        for path in json_files(root):
            for i, body in enumerate(bodies_of(path)):
                checked += 1
                seen.add(kind(body))
                for p in problems(validator, body):
                    print("%s[%d]: %s" % (path, i, p))
                    failed += 1

    caught_files = 0
    for root in args.invalid:
        files = json_files(root)
        expect = expectations(root)
        if not files:
            print("%s: no known-bad bodies" % root)
            failed += 1
        for path in files:
            caught = [p for body in bodies_of(path) for p in problems(validator, body)]
            want = expect.get(os.path.basename(path))
            if not caught:
                print("%s: a known-bad body passed the schema" % path)
                failed += 1
            elif expect and want is None:
                print("%s: no line for it in expect.tsv" % path)
                failed += 1
            elif want is not None and not any(want in p for p in caught):
                print("%s: caught, but not for '%s': %s" % (path, want, caught))
                failed += 1
            else:
                caught_files += 1

    for k in filter(None, args.require_kinds.split(",")):
        if k not in seen:
            print("no valid body of kind '%s' was checked" % k)
            failed += 1

    print("%d bodies checked, %d known-bad files rejected as expected, %d problems"
          % (checked, caught_files, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
