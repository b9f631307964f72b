#!/usr/bin/python3
"""DEAP on Koza's quartic, the peer of `frugal bench gp`.

Standard tree GP as in DEAP's symbolic-regression example: + - * protected /
and neg, one ephemeral-free terminal x, genHalfAndHalf(1, 2) initial trees,
tournament of 3, cxOnePoint (p 0.5) + mutUniform with genFull(0, 2) (p 0.1),
static height limit 17. The 20 case inputs are read from stdin (one x per
line), so both systems fit the same points.

Prints one line: "<evaluations> <seconds> <eval seconds> <best error>", where
seconds is the wall time of the whole run (initial population included), eval
seconds the part spent in evaluate(), and evaluations counts the individuals
DEAP actually evaluated (the invalid ones).
Usage: deap_quartic.py POP GENERATIONS SEED < xs
"""
import math
import operator
import random
import sys
import time

from deap import algorithms, base, creator, gp, tools


def protected_div(a, b):
    try:
        return a / b
    except ZeroDivisionError:
        return 1.0


def main():
    pop_size, ngen, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    xs = [float(line) for line in sys.stdin if line.strip()]
    ys = [x**4 + x**3 + x**2 + x for x in xs]
    random.seed(seed)

    pset = gp.PrimitiveSet("MAIN", 1)
    pset.addPrimitive(operator.add, 2)
    pset.addPrimitive(operator.sub, 2)
    pset.addPrimitive(operator.mul, 2)
    pset.addPrimitive(protected_div, 2)
    pset.addPrimitive(operator.neg, 1)
    pset.renameArguments(ARG0="x")

    creator.create("FitnessMin", base.Fitness, weights=(-1.0,))
    creator.create("Individual", gp.PrimitiveTree, fitness=creator.FitnessMin)
    tb = base.Toolbox()
    tb.register("expr", gp.genHalfAndHalf, pset=pset, min_=1, max_=2)
    tb.register("individual", tools.initIterate, creator.Individual, tb.expr)
    tb.register("population", tools.initRepeat, list, tb.individual)
    tb.register("compile", gp.compile, pset=pset)

    def evaluate(ind):
        f = tb.compile(expr=ind)
        err = 0.0
        for x, y in zip(xs, ys):
            try:
                err += abs(f(x) - y)
            except OverflowError:
                err += 1000.0
        return (err if math.isfinite(err) else 1e9,)

    tb.register("evaluate", evaluate)
    tb.register("select", tools.selTournament, tournsize=3)
    tb.register("mate", gp.cxOnePoint)
    tb.register("expr_mut", gp.genFull, min_=0, max_=2)
    tb.register("mutate", gp.mutUniform, expr=tb.expr_mut, pset=pset)
    limit = gp.staticLimit(key=operator.attrgetter("height"), max_value=17)
    tb.decorate("mate", limit)
    tb.decorate("mutate", limit)

    clock = time.perf_counter
    t0 = clock()
    pop = tb.population(n=pop_size)
    nevals, tev = 0, 0.0
    for gen in range(ngen + 1):
        if gen:
            pop = algorithms.varAnd(tb.select(pop, len(pop)), tb, 0.5, 0.1)
        invalid = [ind for ind in pop if not ind.fitness.valid]
        t1 = clock()
        for ind in invalid:
            ind.fitness.values = tb.evaluate(ind)
        tev += clock() - t1
        nevals += len(invalid)
    secs = clock() - t0
    best = min(ind.fitness.values[0] for ind in pop)
    print(f"{nevals} {secs:.6f} {tev:.6f} {best:.6g}")


if __name__ == "__main__":
    main()
