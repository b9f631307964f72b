#!/usr/bin/python3
"""Read a frugal run (an HDF5 file, docs/hdf5-schema.md) with h5py: an example
for analysing runs in Python.

    /usr/bin/python3 analysis/read_run.py RUN.h5           # a short summary
    /usr/bin/python3 analysis/read_run.py RUN.h5 --json    # the same as JSON

Needs Debian's python3-h5py (and numpy). A file that a run is still writing,
or that a killed run left behind, opens too (SWMR read mode).
"""
import json
import sys

import h5py
import numpy as np


def read_run(path):
    """The run's settings, its /stats table and the best individual of the
    last complete generation, as a dict of plain Python values."""
    with h5py.File(path, "r", libver="latest", swmr=True) as f:
        pop = f["pop"]
        islands, size = int(pop.attrs["islands"]), int(pop.attrs["pop_size"])
        rows = islands * size  # rows per generation: (generation, island, slot)
        stats = f["stats"][:]
        # complete generations: a killed run may leave a partial one behind
        gens = min(len(stats), len(pop["error"]) // rows)
        stats = stats[:gens]
        last = gens - 1
        island, slot = int(stats["best_island"][last]), int(stats["best_slot"][last])
        row = (last * islands + island) * size + slot
        off, n = int(pop["code_offset"][row]), int(pop["length"][row])
        return {
            "spec": json.loads(f.attrs["spec"]),
            "seed": int(f.attrs["seed"]),
            "islands": islands,
            "pop_size": size,
            "generations": gens,
            "stop_reason": f["stop_reason"][()].decode(),
            "best_error": [float(x) for x in stats["best_error"]],
            "best_gas": [int(x) for x in stats["best_gas"]],
            "median_error": [float(x) for x in stats["median_error"]],
            "evaluations": int(stats["evaluations"][last]),
            "best": {
                "generation": last,
                "island": island,
                "slot": slot,
                "error": float(pop["error"][row]),
                "gas": int(pop["gas"][row]),
                "memtime": int(pop["memtime"][row]),
                "length": n,
                "code": bytes(pop["code"][off:off + n]).hex(),
                "parents": [int(pop["parent_a"][row]), int(pop["parent_b"][row])],
            },
        }


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    run = read_run(argv[1])
    if "--json" in argv[2:]:
        print(json.dumps(run))
        return
    b = run["best"]
    print(f"{argv[1]}: {run['generations']} generations of {run['islands']} x "
          f"{run['pop_size']}, seed {run['seed']}, stopped: {run['stop_reason']}")
    for g, (e, gas) in enumerate(zip(run["best_error"], run["best_gas"])):
        print(f"  generation {g:4d}  best error {e:12.6g}  gas {gas}")
    print(f"best: island {b['island']} slot {b['slot']}, error {b['error']:.6g}, "
          f"gas {b['gas']}, {b['length']} bytes: {b['code']}")
    print(f"mean of the best errors: {np.mean(run['best_error']):.6g}")


if __name__ == "__main__":
    main(sys.argv)
