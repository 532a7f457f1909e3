#!/usr/bin/python3
"""check_fsm_owner.py SOURCE_DIR: no code but the state machine's writer
moves a fallback.

DESIGN.md: "No stage changes a fallback's state except through
suf_fsm_step".  The one statement that writes fallbacks.state is in
src/store/fsm_db.c, which stores what the machine returned.  This check reads
every C file under src/, joins the string literals that C joins (adjacent
ones, with only blanks or macro names between them), and reports each
`UPDATE fallbacks SET ... state = ...` found anywhere else.

Prints each breach and exits 1 when there is one.
"""
import os
import re
import sys

OWNER = os.path.join("src", "store", "fsm_db.c")

TOKEN = re.compile(
    r'/\*.*?\*/'            # a block comment
    r'|//[^\n]*'            # a line comment
    r'|"(?:\\.|[^"\\\n])*"'  # a string literal
    r"|'(?:\\.|[^'\\\n])*'"  # a character literal
    r'|[^"\'/]+|/',          # anything else
    re.S)
JOINS = re.compile(r'^[\s\w]*$')  # what may stand between two joined literals
UPDATE = re.compile(r'\bUPDATE\s+(?:OR\s+\w+\s+)?fallbacks\s+SET\b(.*?)(?:\bWHERE\b|$)',
                    re.S | re.I)
STATE = re.compile(r'(?<![\w.])state\s*=', re.I)


def sql_texts(text):
    """The C string literals of `text`, adjacent ones joined, with the line
    each starts on."""
    groups, cur, line, between = [], None, 1, ""
    for m in TOKEN.finditer(text):
        tok = m.group(0)
        if tok.startswith('"'):
            body = tok[1:-1]
            if cur is not None and JOINS.match(between):
                cur[1] += body
            else:
                cur = [line, body]
                groups.append(cur)
            between = ""
        elif not tok.startswith("/*") and not tok.startswith("//"):
            between += tok
        line += tok.count("\n")
    return groups


def state_writes(text):
    """The UPDATEs of fallbacks.state in C source `text`: (line, sql)."""
    out = []
    for line, sql in sql_texts(text):
        for m in UPDATE.finditer(sql):
            if STATE.search(m.group(1)):
                out.append((line, " ".join(m.group(0).split())))
    return out


def breaches(src):
    found = []
    for root, _, files in os.walk(os.path.join(src, "src")):
        for name in sorted(files):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, src)
            with open(path, encoding="utf-8") as f:
                writes = state_writes(f.read())
            if rel == OWNER:
                # the check itself: it must see the writer's own statement
                if len(writes) != 1:
                    found.append("%s: %d writes of fallbacks.state found, want 1"
                                 % (rel, len(writes)))
                continue
            for line, sql in writes:
                found.append("%s:%d: writes fallbacks.state outside the state machine's "
                             "writer (%s): '%s'" % (rel, line, OWNER, sql[:80]))
    return found


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "."
    if not os.path.isfile(os.path.join(src, OWNER)):
        print("check_fsm_owner: no '%s' under '%s'" % (OWNER, src))
        return 1
    found = breaches(src)
    for b in found:
        print(b)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
