#!/usr/bin/python3
"""DEAP's tree GP on a regression problem, the peer of `frugal bench science`.

Standard tree GP as in DEAP's symbolic-regression example: genHalfAndHalf(1, 2)
initial trees, tournament of 3, cxOnePoint (p 0.5) + mutUniform with
genFull(0, 2) (p 0.1), static height limit 17, fitness the sum of absolute
errors. The problem comes as JSON on stdin, so that both systems fit the same
points:

  {"pop": 300, "gens": 40, "seed": 1, "prims": ["add", "sub", ...],
   "erc": false, "hit": 0.01,
   "train": {"x": [[x0, x1, ...], ...], "y": [...]}, "test": {"x": ..., "y": ...}}

prims are names from PRIMS below. One JSON line goes to stdout: evaluations,
seconds, and for the best individual of each generation (least training
error) the evaluations at which it first had every case within `hit`
(ets_hits) or a mean squared error below `hit` (ets_mse), null if never; and
the final best's training and test mean absolute and squared errors.
Usage: deap_science.py < problem.json
"""
import json
import math
import operator
import random
import sys
import time

from deap import algorithms, base, creator, gp, tools


def pdiv(a, b):
    return a / b if b != 0 else 1.0


def pinv(a):
    return 1.0 / a if a != 0 else 1.0


def plog(a):
    return math.log(abs(a)) if a != 0 else 0.0


def psqrt(a):
    return math.sqrt(abs(a))


def pexp(a):
    return math.exp(a) if a < 100 else math.exp(100)


PRIMS = {
    "add": (operator.add, 2), "sub": (operator.sub, 2), "mul": (operator.mul, 2),
    "div": (pdiv, 2), "neg": (operator.neg, 1), "inv": (pinv, 1), "sqrt": (psqrt, 1),
    "sin": (math.sin, 1), "cos": (math.cos, 1), "exp": (pexp, 1), "log": (plog, 1),
    "square": (lambda a: a * a, 1),
}


def main():
    prob = json.load(sys.stdin)
    xs, ys = prob["train"]["x"], prob["train"]["y"]
    txs, tys = prob["test"]["x"], prob["test"]["y"]
    nvar = len(xs[0])
    hit = prob.get("hit", 0.01)
    random.seed(prob["seed"])

    pset = gp.PrimitiveSet("MAIN", nvar)
    for name in prob["prims"]:
        fn, arity = PRIMS[name]
        pset.addPrimitive(fn, arity, name=name)
    if prob.get("erc"):
        pset.addEphemeralConstant("erc", lambda: random.uniform(-1, 1))

    if not hasattr(creator, "FitnessMin"):
        creator.create("FitnessMin", base.Fitness, weights=(-1.0,))
        creator.create("Individual", gp.PrimitiveTree, fitness=creator.FitnessMin)
    tb = base.Toolbox()
    tb.register("expr", gp.genHalfAndHalf, pset=pset, min_=1, max_=2)
    tb.register("individual", tools.initIterate, creator.Individual, tb.expr)
    tb.register("population", tools.initRepeat, list, tb.individual)
    tb.register("compile", gp.compile, pset=pset)

    def errors(ind, X, Y):
        f = tb.compile(expr=ind)
        out = []
        for x, y in zip(X, Y):
            try:
                e = abs(f(*x) - y)
            except (OverflowError, ValueError):
                e = 1000.0
            out.append(e if math.isfinite(e) else 1000.0)
        return out

    def evaluate(ind):
        return (sum(errors(ind, xs, ys)),)

    tb.register("evaluate", evaluate)
    tb.register("select", tools.selTournament, tournsize=3)
    tb.register("mate", gp.cxOnePoint)
    tb.register("expr_mut", gp.genFull, min_=0, max_=2)
    tb.register("mutate", gp.mutUniform, expr=tb.expr_mut, pset=pset)
    limit = gp.staticLimit(key=operator.attrgetter("height"), max_value=17)
    tb.decorate("mate", limit)
    tb.decorate("mutate", limit)

    t0 = time.perf_counter()
    pop = tb.population(n=prob["pop"])
    nevals, ets_hits, ets_mse = 0, None, None
    for gen in range(prob["gens"] + 1):
        if gen:
            pop = algorithms.varAnd(tb.select(pop, len(pop)), tb, 0.5, 0.1)
        invalid = [ind for ind in pop if not ind.fitness.valid]
        for ind in invalid:
            ind.fitness.values = tb.evaluate(ind)
        nevals += len(invalid)
        best = min(pop, key=lambda i: i.fitness.values[0])
        e = errors(best, xs, ys)
        if ets_hits is None and max(e) <= hit:
            ets_hits = nevals
        if ets_mse is None and sum(v * v for v in e) / len(e) < hit:
            ets_mse = nevals
    secs = time.perf_counter() - t0
    best = min(pop, key=lambda i: i.fitness.values[0])
    tr, te = errors(best, xs, ys), errors(best, txs, tys)
    print(json.dumps({
        "evaluations": nevals, "seconds": secs, "ets_hits": ets_hits, "ets_mse": ets_mse,
        "train_mae": sum(tr) / len(tr), "train_mse": sum(v * v for v in tr) / len(tr),
        "test_mae": sum(te) / len(te), "test_mse": sum(v * v for v in te) / len(te),
        "size": len(best),
    }))


if __name__ == "__main__":
    main()
