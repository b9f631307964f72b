"""Tests of analysis/frugal.py (run by tests/test_expr.c, `python::*`).

    /usr/bin/python3 tests/frugal_py_test.py RUN.h5 BATCH_DIR OUT_DIR DATA_RUN.h5 CSV

RUN.h5 a small quartic run, BATCH_DIR a folder of runs; OUT_DIR is scratch;
DATA_RUN.h5 a run of a data task on the file CSV (since deleted or moved).
Prints "ok N" (N checks) and exits 0, or raises.
"""
import hashlib
import os
import re
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "analysis"))
import frugal  # noqa: E402
import read_run  # noqa: E402

checks = 0


def check(cond, what):
    global checks
    if not cond:
        raise AssertionError(what)
    checks += 1


def test_run(path):
    run = frugal.open(path)
    check(isinstance(run, frugal.Run), "a file opens as a Run")
    g = run.generations
    check(g >= 2, "generations")
    for k in ("best_error", "best_gas", "median_error", "evaluations"):
        check(isinstance(run.stats[k], np.ndarray) and run.stats[k].shape == (g,), f"/stats {k}")
    # /stats' best is the population's best row
    for gen in range(g):
        i, s = int(run.stats["best_island"][gen]), int(run.stats["best_slot"][gen])
        pop = run.population(gen)
        check(pop["error"].shape == (run.islands, run.pop_size), "population shape")
        check(pop["error"][i, s] == run.stats["best_error"][gen], "best error in /pop")
        check(pop["gas"][i, s] == run.stats["best_gas"][gen], "best gas in /pop")
        check(pop["length"][i, s] == len(pop["code"][i][s]), "genome length")
        check(pop["fitness"].min() == run.stats["best_fitness"][gen], "best is the least fitness")
        check(run.best_code(gen) == pop["code"][i][s], "best_code")
    # the best programs, with their expressions from the C printer
    best = run.best_programs()
    check(len(best) >= 1 and best[-1]["code"] == run.best()["code"], "best programs")
    for b in best:
        check(isinstance(b["expr"], str) and b["expr"], "an expression")
        check(b["expr"] == run.expr(b["generation"], b["island"], b["slot"]), "expr")
    import sympy
    last = run.best()
    if not last["sympy"].startswith("(no expression"):
        e = sympy.sympify(last["sympy"])
        check(e.free_symbols <= {sympy.Symbol("x")}, "the quartic's expression is over x")
    # lineage: each step is the parent the ops say
    gen, i, s = g - 1, int(run.stats["best_island"][g - 1]), int(run.stats["best_slot"][g - 1])
    lin = run.lineage(gen, i, s)
    check(lin[0]["generation"] == gen and lin[0]["slot"] == s, "lineage starts at the individual")
    for a, b in zip(lin, lin[1:]):
        if "immigrant" in a["ops_names"]:
            check(b["generation"] == a["generation"] and b["island"] == a["parent_b"],
                  "an immigrant's origin")
        else:
            check(b["generation"] == a["generation"] - 1 and b["slot"] == a["parent_a"],
                  "parent_a")
    check(lin[-1]["generation"] == 0 or lin[-1]["parent_a"] == 0xFFFFFFFF
          or "immigrant" in lin[-1]["ops_names"], "lineage ends at the start")
    # a built-in task keeps no cases
    check(run.cases() is None, "no /cases for the quartic")
    # read_run.py reads through the module: the same answer
    check(read_run.read_run(path) == frugal.read_run(path), "read_run.py is frugal.py's")
    try:
        run.population(g)
        check(False, "generation past the end")
    except IndexError:
        check(True, "")


def test_data_run(path, csv):
    """/cases: the data file's bytes, path and SHA-256; expressions name the
    CSV's columns."""
    run = frugal.open(path)
    cs = run.cases()
    check(isinstance(cs, dict) and set(cs) == {"data"}, "/cases/data")
    d = cs["data"]
    with open(csv, "rb") as f:
        want = f.read()
    check(d["data"].tobytes() == want and d["bytes"] == len(want), "the kept bytes")
    check(d["path"] == run.spec["task"]["data"] and d["path"].endswith(".csv"), "the path")
    check(d["sha256"] == hashlib.sha256(want).hexdigest(), "the SHA-256")
    best = run.best()
    check("no expression" not in best["expr"] and "x" not in best["expr"].replace("a_au", ""),
          "the expression names the column: " + best["expr"])
    # every generation's best genome, kept in /pop or /elite (output.population "every 10")
    check(run.pop_generations == [0, run.generations - 1], "/pop keeps the first and the last")
    for gen in range(run.generations):
        c = run.best_code(gen)
        check(len(c) == run.stats["best_length"][gen], f"generation {gen}'s best genome")
        if gen in run.pop_generations:
            i, s = int(run.stats["best_island"][gen]), int(run.stats["best_slot"][gen])
            check(c == run.code(gen, i, s), "/elite's best is /pop's")


def test_batch(path):
    batch = frugal.open(path)
    check(isinstance(batch, frugal.Batch), "a folder opens as a Batch")
    seeds = [r.seed for r in batch.runs]
    check(seeds == sorted(seeds) and len(seeds) >= 2, "runs sorted by seed")
    be = batch.stats("best_error")
    check(be.shape == (len(batch.runs), max(r.generations for r in batch.runs)), "stats shape")
    check(len(batch.best_programs()) == len(batch.runs), "each run's best")


def test_damaged(path, out):
    bad = os.path.join(out, "bad.h5")
    with open(path, "rb") as f:
        data = f.read()
    with open(bad, "wb") as f:
        f.write(data[: len(data) // 3])
    try:
        frugal.open(bad)
        check(False, "a truncated file opens")
    except frugal.CorruptRun:
        check(True, "")


def test_docs_example(path, out):
    """docs/python.md's example runs and draws its figure."""
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "docs", "python.md")) as f:
        md = f.read()
    code = re.search(r"```python\n(.*?)```", md, re.S).group(1)
    code = code.replace("results/quartic/seed-1.h5", path)
    code = code.replace('"convergence.png"', repr(os.path.join(out, "convergence.png")))
    cwd = os.getcwd()
    os.chdir(os.path.join(here, ".."))
    try:
        exec(compile(code, "docs/python.md", "exec"), {})
    finally:
        os.chdir(cwd)
    png = os.path.join(out, "convergence.png")
    with open(png, "rb") as f:
        check(f.read(8) == b"\x89PNG\r\n\x1a\n", "the example draws a PNG")


def main():
    path, batch, out, data_run, csv = sys.argv[1:6]
    os.makedirs(out, exist_ok=True)
    test_run(path)
    test_data_run(data_run, csv)
    test_batch(batch)
    test_damaged(path, out)
    test_docs_example(path, out)
    shutil.rmtree(out, ignore_errors=True)
    print(f"ok {checks}")


if __name__ == "__main__":
    main()
