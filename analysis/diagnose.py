#!/usr/bin/python3
"""What the search did, generation by generation (docs/gp.md, "What makes the
search work"): statuses, clones and neutral offspring, diversity, and which
operators made improvements. Reads a run file or a folder of them.

    /usr/bin/python3 analysis/diagnose.py RUN.h5|DIR [--every N]

Per generation (and summed over the files of a folder):
  faults    fraction of individuals whose worst status is a fault, by status
  clone     fraction of children copied unchanged (EVO_OP_CLONE)
  neutral   fraction of varied children whose behaviour equals their first
            parent's (same per-case errors when the run stored them
            (output.per_case), else the same error, hits and gas)
  distinct  distinct behaviours / population size
  improve   per operator: the fraction of the children it touched that beat
            both parents (lower error than the better parent)
"""
import glob
import os
import sys
from collections import Counter, defaultdict

import h5py
import numpy as np

OPS = [(0x01, "cx1"), (0x02, "cx2"), (0x04, "homol"), (0x08, "point"), (0x10, "insert"),
       (0x20, "delete"), (0x40, "swap"), (0x80, "umad")]
CLONE, ELITE = 0x800, 0x100
STATUS = ["RUNNING", "HALTED", "YIELDED", "OUT_OF_GAS", "OUT_OF_MEMORY", "OUT_OF_MEMTIME",
          "STACK_UNDERFLOW", "STACK_OVERFLOW", "INVALID_OPCODE", "BAD_JUMP", "TRUNCATED",
          "OUT_OF_BOUNDS", "CALL_OVERFLOW", "BAD_KEY", "CHANNEL_EMPTY", "CHANNEL_FULL",
          "NEST_LIMIT", "KEY_LIMIT", "BUSY"]


def generations(path):
    """Yield per-generation dicts of numpy arrays for one run file."""
    with h5py.File(path, "r", libver="latest", swmr=True) as f:
        pop = f["pop"]
        n = int(pop.attrs["islands"]) * int(pop.attrs["pop_size"])
        size = int(pop.attrs["pop_size"])
        per_case = int(pop.attrs.get("per_case", 0)) == 1
        gens = len(pop["error"]) // n
        cols = {k: pop[k][: gens * n] for k in ("error", "gas", "hits", "status", "ops",
                                                 "parent_a", "parent_b")}
        errs = pop["errors"][: gens * n] if per_case else None
    for g in range(gens):
        s = slice(g * n, (g + 1) * n)
        d = {k: v[s] for k, v in cols.items()}
        if errs is not None:
            d["errors"] = errs[s]
        d["base"] = g * n
        d["size"] = size
        yield g, d


def behaviour(d, i):
    if "errors" in d:
        return d["errors"][i].tobytes()
    return (float(d["error"][i]), int(d["hits"][i]), int(d["gas"][i]))


def diagnose(paths, every):
    acc = defaultdict(lambda: defaultdict(float))
    for path in paths:
        prev = None
        for g, d in generations(path):
            a = acc[g]
            n = len(d["error"])
            a["runs"] += 1
            a["n"] += n
            for st, c in Counter(int(x) for x in d["status"]).items():
                if st not in (1, 2):
                    a["fault:" + STATUS[st] if st < len(STATUS) else "fault:other"] += c
            a["distinct"] += len({behaviour(d, i) for i in range(n)}) / n
            if prev is not None:
                size = d["size"]
                for i in range(n):
                    ops = int(d["ops"][i])
                    if ops & ELITE:
                        continue
                    a["children"] += 1
                    if ops & CLONE:
                        a["clone"] += 1
                        continue
                    isl = i // size
                    pa = int(d["parent_a"][i])
                    if pa == 0xFFFFFFFF:
                        continue
                    j = isl * size + pa
                    a["varied"] += 1
                    if behaviour(d, i) == behaviour(prev, j):
                        a["neutral"] += 1
                    best_parent = prev["error"][j]
                    pb = int(d["parent_b"][i])
                    if pb != 0xFFFFFFFF:
                        best_parent = min(best_parent, prev["error"][isl * size + pb])
                    better = d["error"][i] < best_parent
                    for bit, name in OPS:
                        if ops & bit:
                            a["use:" + name] += 1
                            a["win:" + name] += better
            prev = d
    print("gen  runs  faults  top fault            clone  neutral distinct  improve (per op)")
    for g in sorted(acc):
        if g % every and g != max(acc):
            continue
        a = acc[g]
        faults = {k[6:]: v for k, v in a.items() if k.startswith("fault:")}
        nf = sum(faults.values())
        top = max(faults, key=faults.get) if faults else "-"
        ch = a["children"] or 1
        var = a["varied"] or 1
        imp = " ".join(f"{name}:{a['win:' + name] / a['use:' + name]:.3f}"
                       for _, name in OPS if a["use:" + name])
        print(f"{g:4d} {int(a['runs']):5d}  {nf / a['n']:6.3f}  {top:18s} {a['clone'] / ch:6.3f} "
              f"{a['neutral'] / var:7.3f} {a['distinct'] / a['runs']:7.3f}  {imp}")


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) >= 2 else 2
    every = int(argv[argv.index("--every") + 1]) if "--every" in argv else 10
    target = argv[1]
    paths = sorted(glob.glob(os.path.join(target, "*.h5"))) if os.path.isdir(target) else [target]
    if not paths:
        print(f"diagnose: no run files in {target}", file=sys.stderr)
        return 4
    diagnose(paths, every)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
