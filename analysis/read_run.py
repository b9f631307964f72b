#!/usr/bin/python3
"""Read a frugal run (an HDF5 file, docs/hdf5-schema.md) with h5py: an example
for analysing runs in Python.

    /usr/bin/python3 analysis/read_run.py RUN.h5           # a short summary
    /usr/bin/python3 analysis/read_run.py RUN.h5 --json    # the same as JSON

Needs Debian's python3-h5py (and numpy). A file that a run is still writing,
or that a killed run left behind, opens too (SWMR read mode). A truncated or
corrupt file is an error within milliseconds (exit 3; a missing or unreadable
file: exit 4), as in frugal report.
"""
import ctypes
import json
import os
import sys

import h5py
import numpy as np

# As analysis/run.c: a SWMR reader retries a metadata block whose checksum
# fails, sleeping 1 ns, 2 ns, 4 ns ... in between (HDF5 1.10); the default 100
# tries never end on a damaged file, 20 end after about a millisecond.
READ_ATTEMPTS = 20

# /stop_reason holds one of these (evo_stop_name in evolve/run.c)
STOP_REASONS = ("none", "target", "generations", "evaluations", "gas", "wall-clock")


class CorruptRun(Exception):
    """The file is not a frugal run, or it is truncated or corrupt."""


def _libhdf5():
    """The HDF5 library that h5py uses, as loaded in this process."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            name = os.path.basename(path)
            if name.startswith("libhdf5") and "_hl" not in name and ".so" in name:
                return ctypes.CDLL(path)
    raise OSError("cannot find the HDF5 library that h5py uses")


def _open(path):
    # A finished run opens plainly: each metadata block is read once.
    try:
        return h5py.File(path, "r")
    except OSError:
        pass
    # A run being written, or killed, is marked open for writing: SWMR read,
    # with few retries (h5py has no call for them; libhdf5 has).
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_libver_bounds(h5py.h5f.LIBVER_LATEST, h5py.h5f.LIBVER_LATEST)
    lib = _libhdf5()
    lib.H5Pset_metadata_read_attempts.argtypes = [ctypes.c_int64, ctypes.c_uint]
    if lib.H5Pset_metadata_read_attempts(fapl.id, READ_ATTEMPTS) < 0:
        raise OSError("H5Pset_metadata_read_attempts failed")
    flags = h5py.h5f.ACC_RDONLY | h5py.h5f.ACC_SWMR_READ
    return h5py.File(h5py.h5f.open(os.fsencode(path), flags, fapl=fapl))


def _check(f, stats, pop, islands, size, gens):
    """What the file stores without a checksum must agree with the rest: the
    stop reason is a known name, and each /stats row with its generation's
    rows of /pop (from which the run computed it)."""
    reason = f["stop_reason"][()].decode()
    if reason not in STOP_REASONS:
        raise CorruptRun("/stop_reason")
    rows = islands * size
    g = np.arange(gens)
    isl, slot = stats["best_island"].astype(np.int64), stats["best_slot"].astype(np.int64)
    if (stats["generation"] != g).any() or (isl >= islands).any() or (slot >= size).any():
        raise CorruptRun("/stats: a row names no individual")
    best = (g * islands + isl) * size + slot
    col = {k: pop[k][:gens * rows] for k in
           ("error", "fitness", "gas", "memtime", "length", "hits", "status")}
    for s, p in (("best_error", "error"), ("best_fitness", "fitness")):
        a, b = stats[s], col[p][best]
        if not ((a == b) | (np.isnan(a) & np.isnan(b))).all():
            raise CorruptRun("/stats: the best individual differs from /pop")
    for s, p in (("best_gas", "gas"), ("best_memtime", "memtime"), ("best_length", "length"),
                 ("best_hits", "hits"), ("best_status", "status")):
        if (stats[s] != col[p][best]).any():
            raise CorruptRun("/stats: the best individual differs from /pop")
    if gens > 1 and ((np.diff(stats["evaluations"].astype(np.float64)) < 0).any() or
                     (np.diff(stats["gas_total"].astype(np.float64)) < 0).any()):
        raise CorruptRun("/stats: the counters decrease")
    for s, p in (("median_error", "error"), ("median_gas", "gas"),
                 ("median_memtime", "memtime"), ("median_length", "length")):
        v = col[p].reshape(gens, rows).astype(np.float64)
        m = stats[s]
        if not ((m >= v.min(axis=1)) & (m <= v.max(axis=1))).all():
            raise CorruptRun("/stats: a median out of range")
    return reason


def read_run(path):
    """The run's settings, its /stats table and the best individual of the
    last complete generation, as a dict of plain Python values. Raises
    OSError when the file cannot be read, CorruptRun when it is not a frugal
    run or is truncated or corrupt."""
    with open(path, "rb") as raw:  # OSError: missing or unreadable
        if raw.read(8) != b"\x89HDF\r\n\x1a\n":
            raise CorruptRun("not an HDF5 file")
    try:
        f = _open(path)
    except OSError as e:
        raise CorruptRun(f"truncated or corrupt HDF5 file ({e})") from e
    try:
        with f:
            if "frugal" not in f.attrs:
                raise CorruptRun("not a frugal run (no /frugal attribute)")
            return _read(f)
    except CorruptRun as e:
        if str(e).startswith(("not a frugal run", "no complete generation")):
            raise
        raise CorruptRun(f"truncated or corrupt run file ({e})") from e
    except (OSError, KeyError, ValueError, IndexError, TypeError, RuntimeError) as e:
        raise CorruptRun(f"truncated or corrupt run file ({type(e).__name__}: {e})") from e


def _read(f):
    pop = f["pop"]
    islands, size = int(pop.attrs["islands"]), int(pop.attrs["pop_size"])
    if islands < 1 or size < 1:
        raise CorruptRun("the /pop attributes")
    rows = islands * size  # rows per generation: (generation, island, slot)
    stats = f["stats"][:]
    # complete generations: a killed run may leave a partial one behind
    gens = min(len(stats), len(pop["error"]) // rows)
    if gens < 1:
        raise CorruptRun("no complete generation")
    stats = stats[:gens]
    reason = _check(f, stats, pop, islands, size, gens)
    last = gens - 1
    island, slot = int(stats["best_island"][last]), int(stats["best_slot"][last])
    row = (last * islands + island) * size + slot
    off, n = int(pop["code_offset"][row]), int(pop["length"][row])
    code = bytes(pop["code"][off:off + n])
    if len(code) != n:
        raise CorruptRun("a genome past the end of /pop/code")
    return {
        "spec": json.loads(f.attrs["spec"]),
        "seed": int(f.attrs["seed"]),
        "islands": islands,
        "pop_size": size,
        "generations": gens,
        "stop_reason": reason,
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
            "code": code.hex(),
            "parents": [int(pop["parent_a"][row]), int(pop["parent_b"][row])],
        },
    }


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
    for g, (e, gas) in enumerate(zip(run["best_error"], run["best_gas"])):
        print(f"  generation {g:4d}  best error {e:12.6g}  gas {gas}")
    print(f"best: island {b['island']} slot {b['slot']}, error {b['error']:.6g}, "
          f"gas {b['gas']}, {b['length']} bytes: {b['code']}")
    print(f"mean of the best errors: {np.mean(run['best_error']):.6g}")


if __name__ == "__main__":
    main(sys.argv)
