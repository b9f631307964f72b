#!/usr/bin/python3
"""Read a frugal run (an HDF5 file, docs/hdf5-schema.md) with h5py: an example
for analysing runs in Python.

    /usr/bin/python3 analysis/read_run.py RUN.h5           # a short summary
    /usr/bin/python3 analysis/read_run.py RUN.h5 --json    # the same as JSON

Needs Debian's python3-h5py (and numpy). The reading is analysis/frugal.py's
(docs/python.md); this is its command line. A file that a run is still writing,
or that a killed run left behind, opens too (SWMR read mode). A truncated or
corrupt file is an error within milliseconds (exit 3; a missing or unreadable
file: exit 4), as in frugal report.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from frugal import CorruptRun, read_run  # noqa: E402 (the module: analysis/frugal.py)

__all__ = ["CorruptRun", "read_run"]


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    try:
        run = read_run(argv[1])
    except CorruptRun as e:
        print(f"read_run.py: {argv[1]}: {e}", file=sys.stderr)
        sys.exit(3)
    except OSError as e:
        print(f"read_run.py: {argv[1]}: {e.strerror or e}", file=sys.stderr)
        sys.exit(4)
    if "--json" in argv[2:]:
        print(json.dumps(run))
        return
    b = run["best"]
    print(f"{argv[1]}: {run['generations']} generations of {run['islands']} x "
          f"{run['pop_size']}, seed {run['seed']}, stopped: {run['stop_reason']}")
    k = run["pop_generations"]
    print(f"populations in the file: {run['population']} ({len(k)} generations"
          + (f": {', '.join(map(str, k))})" if len(k) <= 8 else f": {k[0]}, {k[1]}, ..., {k[-1]})"))
    for g, (e, gas) in enumerate(zip(run["best_error"], run["best_gas"])):
        print(f"  generation {g:4d}  best error {e:12.6g}  gas {gas}")
    print(f"best: island {b['island']} slot {b['slot']}, error {b['error']:.6g}, "
          f"gas {b['gas']}, {b['length']} bytes: {b['code']}")
    print(f"mean of the best errors: {np.mean(run['best_error']):.6g}")


if __name__ == "__main__":
    main(sys.argv)
