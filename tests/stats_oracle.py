#!/usr/bin/python3
"""The oracle of tests/test_stats.c: SciPy's answers for the statistics of
analysis/stats.c. One question per input line, one answer line per question,
numbers in repr (round-trip) form:

  wilson K N | cp K N        -> lo hi    (binomtest(K, N).proportion_ci(0.95))
  fisher A B C D             -> odds p   (fisher_exact([[A, B], [C, D]]))
  mwu NX X... NY Y...        -> u p exact a12   (mannwhitneyu, method 'auto';
                                a12 counted pair by pair here)
  holm P...                  -> adjusted p-values (Holm 1979, written out here:
                                SciPy has no Holm)
"""
import sys

from scipy import stats


def fmt(*v):
    return " ".join(repr(float(x)) for x in v)


def mwu_exact_rule(x, y):
    # scipy.stats._mannwhitneyu._mwu_choose_method, restated so that the
    # test also checks which method the C code chose
    if len(x) > 8 and len(y) > 8:
        return False
    return len(set(x + y)) == len(x + y)


def main():
    for line in sys.stdin:
        w = line.split()
        if not w:
            continue
        op, a = w[0], w[1:]
        if op in ("wilson", "cp"):
            k, n = int(a[0]), int(a[1])
            ci = stats.binomtest(k, n).proportion_ci(
                0.95, method="wilson" if op == "wilson" else "exact")
            print(fmt(ci.low, ci.high))
        elif op == "fisher":
            t = [[int(a[0]), int(a[1])], [int(a[2]), int(a[3])]]
            odds, p = stats.fisher_exact(t)
            print(fmt(odds, p))
        elif op == "mwu":
            nx = int(a[0])
            x = [float(v) for v in a[1:1 + nx]]
            ny = int(a[1 + nx])
            y = [float(v) for v in a[2 + nx:2 + nx + ny]]
            r = stats.mannwhitneyu(x, y, alternative="two-sided", method="auto")
            gt = sum((xi > yj) + 0.5 * (xi == yj) for xi in x for yj in y)
            print(fmt(r.statistic, r.pvalue, mwu_exact_rule(x, y), gt / (nx * ny)))
        elif op == "holm":
            p = [float(v) for v in a]
            m = len(p)
            order = sorted(range(m), key=lambda i: p[i])
            adj, run = [0.0] * m, 0.0
            for j, i in enumerate(order):
                run = max(run, min(1.0, (m - j) * p[i]))
                adj[i] = run
            print(fmt(*adj))
        else:
            sys.exit("stats_oracle.py: unknown question " + op)


main()
