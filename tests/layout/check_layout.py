#!/usr/bin/python3
"""check_layout.py SOURCE_DIR BUILD_DIR: the layout rules of doc/architecture.md.

1. A file includes headers of its own stage and of earlier stages only.
2. Each stage's CMakeLists.txt links exactly the stages whose headers its
   files include: the link graph equals the include graph.
3. No two source files call each other, directly or around a circle: the
   graph of "file A uses a symbol that file B defines", read from the object
   files with nm, has no cycle.

Prints each breach and exits 1 when there is one.
"""
import os
import re
import subprocess
import sys

# The stages, bottom up; a stage may use those before it.  receive stands
# beside the pipeline: it may use base only, and only cli may use it.
ORDER = ["base", "store", "money", "import", "plan", "send", "meta", "reconcile", "report", "cli"]
ALLOWED = {s: set(ORDER[:i]) for i, s in enumerate(ORDER)}
ALLOWED["receive"] = {"base"}
ALLOWED["cli"] = ALLOWED["cli"] | {"receive"}
STAGES = list(ALLOWED)

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
LINK = re.compile(r"target_link_libraries\(\s*suf_(\w+)\s+PUBLIC([^)]*)\)", re.S)


def stage_includes(src):
    """{stage: {stage it includes}}, and the breaches of rule 1."""
    graph, bad = {}, []
    for stage in STAGES:
        folder = os.path.join(src, "src", stage)
        used = set()
        for name in sorted(os.listdir(folder)):
            if not name.endswith((".c", ".h", ".h.in")):
                continue
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                for inc in INCLUDE.findall(f.read()):
                    if "/" not in inc:
                        bad.append(f"src/{stage}/{name}: includes \"{inc}\" without its stage")
                        continue
                    other = inc.split("/", 1)[0]
                    if other not in ALLOWED:
                        bad.append(f"src/{stage}/{name}: includes \"{inc}\", no such stage")
                    elif other != stage:
                        used.add(other)
                        if other not in ALLOWED[stage]:
                            bad.append(f"src/{stage}/{name}: includes \"{inc}\", "
                                       f"a header of a later stage")
        graph[stage] = used
    return graph, bad


def stage_links(src):
    links = {}
    for stage in STAGES:
        with open(os.path.join(src, "src", stage, "CMakeLists.txt"), encoding="utf-8") as f:
            for lib, deps in LINK.findall(f.read()):
                if lib == stage:
                    links[stage] = set(re.findall(r"\bsuf_(\w+)", deps)) - {"flags"}
    return links


def object_cycles(build):
    """The cycles of the file-to-file symbol graph, as lists of files."""
    objs = []
    for root, _, files in os.walk(os.path.join(build, "src")):
        if "/CMakeFiles/suf_" not in root + "/":
            continue
        objs += [os.path.join(root, f) for f in files if f.endswith(".c.o")]
    defs, uses = {}, {}
    for o in objs:
        out = subprocess.run(["nm", o], capture_output=True, text=True, check=True).stdout
        name = os.path.basename(o)[:-2]
        uses[name] = set()
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in "TDBRC":
                defs[parts[2]] = name
            elif len(parts) == 2 and parts[0] == "U":
                uses[name].add(parts[1])
    edges = {f: {defs[s] for s in u if s in defs and defs[s] != f} for f, u in uses.items()}
    # Tarjan's strongly connected components.
    index, low, stack, on, sccs, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sccs, len(objs)


def main():
    src, build = sys.argv[1], sys.argv[2]
    includes, bad = stage_includes(src)
    links = stage_links(src)
    for stage in STAGES:
        if stage not in links:
            bad.append(f"src/{stage}/CMakeLists.txt: no target_link_libraries(suf_{stage} PUBLIC ...)")
        elif links[stage] != includes[stage]:
            bad.append(f"src/{stage}/CMakeLists.txt: links {sorted(links[stage])}, "
                       f"but its files include {sorted(includes[stage])}")
    cycles, nobj = object_cycles(build)
    if nobj < 40:
        bad.append(f"{build}: only {nobj} object files found; is it a build tree?")
    for c in cycles:
        bad.append("files that call each other: " + " <-> ".join(c))
    for b in bad:
        print(b)
    print(f"layout: {len(STAGES)} stages, {nobj} object files, {len(bad)} breaches")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
