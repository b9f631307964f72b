"""frugal's run files in Python (docs/python.md): a small module on h5py and
numpy (Debian's python3-h5py and python3-numpy).

    import sys; sys.path.insert(0, "analysis")
    import frugal
    run = frugal.open("results/quartic/seed-1.h5")     # a run file, or
    batch = frugal.open("results/quartic")             # a folder of them
    run.stats["best_error"]                            # /stats, as arrays
    run.population(10)                                 # generation 10
    run.best_programs()                                # with their expressions
    run.lineage(50, 0, 0)                              # ancestry through parent_a
    run.cases()                                        # the stored cases, or None

Files are opened as analysis/read_run.py opens them (a run being written or
a killed one opens in SWMR read mode, and a damaged file fails fast with
CorruptRun). Expressions come from the frugal binary (`frugal disasm
RUN.h5:ID --expr`), so that there is one expression printer: the one of
docs/report.md, "Expressions".
"""
import builtins
import ctypes
import hashlib
import json
import os
import shutil
import subprocess

import h5py
import numpy as np

__all__ = ["open", "Run", "Batch", "CorruptRun", "read_run", "STOP_REASONS", "OPS"]

# As analysis/run.c: a SWMR reader retries a metadata block whose checksum
# fails, sleeping 1 ns, 2 ns, 4 ns ... in between (HDF5 1.10); the default 100
# tries never end on a damaged file, 20 end after about a millisecond.
READ_ATTEMPTS = 20

# /stop_reason holds one of these (evo_stop_name in evolve/run.c)
STOP_REASONS = ("none", "target", "generations", "evaluations", "gas", "wall-clock")

# The bits of /pop/ops (EVO_OP_* in evolve/evolve.h)
OPS = {"one-point": 0x01, "two-point": 0x02, "homologous": 0x04, "point": 0x08,
       "insert": 0x10, "delete": 0x20, "swap": 0x40, "umad": 0x80, "elite": 0x100,
       "survivor": 0x200, "immigrant": 0x400, "clone": 0x800, "verified": 0x1000}
_CX_MASK = 0x07
_NONE = 0xFFFFFFFF


class CorruptRun(Exception):
    """The file is not a frugal run, or it is truncated or corrupt."""


def _libhdf5():
    """The HDF5 library that h5py uses, as loaded in this process."""
    with builtins.open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            name = os.path.basename(path)
            if name.startswith("libhdf5") and "_hl" not in name and ".so" in name:
                return ctypes.CDLL(path)
    raise OSError("cannot find the HDF5 library that h5py uses")


def _open_h5(path):
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


def _check(f, stats, pop, islands, size, kept):
    """What the file stores without a checksum must agree with the rest: the
    stop reason is a known name, and the /stats row of each generation in
    /pop (kept: their generations) with its rows (from which the run
    computed it)."""
    reason = f["stop_reason"][()].decode()
    if reason not in STOP_REASONS:
        raise CorruptRun("/stop_reason")
    rows = islands * size
    gens = len(kept)
    isl, slot = stats["best_island"].astype(np.int64), stats["best_slot"].astype(np.int64)
    if ((stats["generation"] != np.arange(len(stats))).any() or (isl >= islands).any() or
            (slot >= size).any()):
        raise CorruptRun("/stats: a row names no individual")
    if gens and ((np.diff(kept) <= 0).any() or kept[-1] >= len(stats)):
        raise CorruptRun("/pop_generations")
    stats = stats[kept]
    isl, slot = isl[kept], slot[kept]
    best = (np.arange(gens) * islands + isl) * size + slot
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
        if gens and not ((m >= v.min(axis=1)) & (m <= v.max(axis=1))).all():
            raise CorruptRun("/stats: a median out of range")
    return reason, col


def _frugal_binary():
    """The frugal binary: $FRUGAL, else this checkout's ./frugal, else PATH."""
    if os.environ.get("FRUGAL"):
        return os.environ["FRUGAL"]
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "frugal")
    if os.access(here, os.X_OK):
        return os.path.normpath(here)
    return shutil.which("frugal") or "frugal"


class Run:
    """One run file, loaded and checked: its complete generations only (a
    killed run's partial generation is ignored, as frugal report does).

    Attributes: path, spec (dict), seed, islands, pop_size, n_cases (training
    cases per evaluation), per_case, generations, stop_reason, and stats: a
    dict of numpy arrays, one per /stats column, one value per generation;
    pop_generations, the generations whose populations /pop holds (all of
    them, or those output.population kept: every N and the last, or the
    last only); every_name, that choice as the spec writes it.
    Raises OSError when the file cannot be read, CorruptRun when it is not a
    frugal run or is truncated or corrupt."""

    def __init__(self, path):
        self.path = path
        with builtins.open(path, "rb") as raw:  # OSError: missing or unreadable
            if raw.read(8) != b"\x89HDF\r\n\x1a\n":
                raise CorruptRun("not an HDF5 file")
        try:
            f = _open_h5(path)
        except OSError as e:
            raise CorruptRun(f"truncated or corrupt HDF5 file ({e})") from e
        try:
            with f:
                if "frugal" not in f.attrs:
                    raise CorruptRun("not a frugal run (no /frugal attribute)")
                self._load(f)
        except CorruptRun as e:
            if str(e).startswith(("not a frugal run", "no complete generation")):
                raise
            raise CorruptRun(f"truncated or corrupt run file ({e})") from e
        except (OSError, KeyError, ValueError, IndexError, TypeError, RuntimeError) as e:
            raise CorruptRun(f"truncated or corrupt run file ({type(e).__name__}: {e})") from e

    def _load(self, f):
        pop = f["pop"]
        self.islands, self.pop_size = int(pop.attrs["islands"]), int(pop.attrs["pop_size"])
        if self.islands < 1 or self.pop_size < 1:
            raise CorruptRun("the /pop attributes")
        self.n_cases = int(pop.attrs["cases"])
        self.per_case = bool(pop.attrs.get("per_case", 0))
        rows = self.islands * self.pop_size  # rows per generation: (generation, island, slot)
        stats = f["stats"][:]
        every = int(pop.attrs.get("every", 1))
        self.every_name = "every" if every == 1 else "final" if every == 0 else f"every {every}"
        if "pop_generations" in f:  # /pop holds these generations
            kept = f["pop_generations"][:].astype(np.int64)
            # complete generations: a killed run may leave a partial one behind
            kept = kept[:len(pop["error"]) // rows]
            gens = len(stats)
            kept = kept[kept < gens]
        else:  # every generation
            gens = min(len(stats), len(pop["error"]) // rows)
            kept = np.arange(gens)
        if gens < 1:
            raise CorruptRun("no complete generation")
        stats = stats[:gens]
        self.stop_reason, col = _check(f, stats, pop, self.islands, self.pop_size, kept)
        self.generations = gens
        self.pop_generations = [int(g) for g in kept]
        self._index = {g: j for j, g in enumerate(self.pop_generations)}
        self.spec = json.loads(f.attrs["spec"])
        self.seed = int(f.attrs["seed"])
        self.stats = {name: stats[name] for name in stats.dtype.names}
        n = len(kept) * rows
        self._pop = dict(col)
        for k in ("parent_a", "parent_b", "ops", "code_offset"):
            self._pop[k] = pop[k][:n]
        end = int(self._pop["code_offset"][-1]) + int(self._pop["length"][-1]) if n else 0
        self._code = pop["code"][:end].tobytes()
        if len(self._code) != end:
            raise CorruptRun("a genome past the end of /pop/code")
        self._elite = None  # /elite: each generation's best genome (absent: /pop has it)
        if "elite" in f:
            e = f["elite"]
            eo = e["code_offset"][:gens].astype(np.int64)
            el = e["length"][:gens].astype(np.int64)
            n = min(len(eo), len(el))
            ends = eo[:n] + el[:n]
            ecode = e["code"][:int(ends.max()) if n else 0].tobytes()
            if n and int(ends.max()) > len(ecode):
                raise CorruptRun("a genome past the end of /elite/code")
            self._elite = [ecode[int(eo[g]):int(ends[g])] for g in range(n)]
        self._errors = self.per_case
        self._cases = None
        if "cases" in f:
            self._cases = {k: self._case_file(k, d) for k, d in f["cases"].items()}

    @staticmethod
    def _case_file(name, d):
        """/cases/<name>: the data file's bytes and its attributes (path,
        sha256, bytes), the bytes checked against the SHA-256."""
        out = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in d.attrs.items()}
        out["data"] = d[()]
        if "sha256" in out and hashlib.sha256(out["data"].tobytes()).hexdigest() != out["sha256"]:
            raise CorruptRun(f"/cases/{name}: the bytes do not match their stored SHA-256")
        return out

    # ---- rows and individuals ----

    def row(self, gen, island, slot):
        """The /pop row of (generation, island, slot)."""
        if not (0 <= gen < self.generations and 0 <= island < self.islands and
                0 <= slot < self.pop_size):
            raise IndexError(f"no individual {gen}:{island}:{slot} in {self.path} "
                             f"({self.generations} generations of {self.islands} x "
                             f"{self.pop_size})")
        if gen not in self._index:
            raise IndexError(f"generation {gen} is not in {self.path}'s populations "
                             f"(output.population \"{self.every_name}\": "
                             f"{self.kept_text()})")
        return (self._index[gen] * self.islands + island) * self.pop_size + slot

    def kept_text(self):
        """The generations /pop holds, short: "0-50", "0, 10, ..., 50", "50"."""
        k = self.pop_generations
        if not k:
            return "none"
        if k == list(range(k[0], k[-1] + 1)) and len(k) > 2:
            return f"{k[0]}-{k[-1]}"
        return ", ".join(map(str, k)) if len(k) <= 4 else f"{k[0]}, {k[1]}, ..., {k[-1]}"

    def code(self, gen, island, slot):
        """The genome of an individual, as bytes."""
        r = self.row(gen, island, slot)
        off = int(self._pop["code_offset"][r])
        return self._code[off:off + int(self._pop["length"][r])]

    def best_code(self, gen):
        """The genome of generation gen's best individual (the one /stats
        names), as bytes: from /pop, or from /elite when /pop does not keep
        that generation."""
        if gen in self._index:
            return self.code(gen, int(self.stats["best_island"][gen]),
                             int(self.stats["best_slot"][gen]))
        if self._elite is not None and 0 <= gen < len(self._elite):
            return self._elite[gen]
        raise IndexError(f"generation {gen}'s best is not in {self.path} "
                         f"({self.generations} generations; populations: {self.kept_text()})")

    def individual(self, gen, island, slot):
        """One individual: its /pop columns, its code and its id."""
        r = self.row(gen, island, slot)
        d = {k: v[r].item() for k, v in self._pop.items() if k != "code_offset"}
        d.update(generation=gen, island=island, slot=slot, code=self.code(gen, island, slot))
        return d

    def population(self, gen):
        """Generation gen: a dict of numpy arrays of shape (islands, pop_size),
        one per /pop column, and "code", a list (islands) of lists of bytes."""
        j = self.row(gen, 0, 0) // (self.islands * self.pop_size)
        rows = self.islands * self.pop_size
        sl = slice(j * rows, (j + 1) * rows)
        shape = (self.islands, self.pop_size)
        out = {k: v[sl].reshape(shape) for k, v in self._pop.items() if k != "code_offset"}
        out["code"] = [[self.code(gen, i, s) for s in range(self.pop_size)]
                       for i in range(self.islands)]
        return out

    def case_errors(self, gen, island, slot):
        """An individual's per-case errors (stored with output.per_case), or None."""
        if not self.per_case:
            return None
        r = self.row(gen, island, slot)
        with _open_h5(self.path) as f:
            return f["pop/errors"][r]

    def cases(self):
        """The data files a data task's run keeps in /cases, or None (a
        built-in task: its cases are made again from the spec and seed).
        A dict by dataset name ("data", "test"), each a dict: "data" the
        file's bytes (a numpy uint8 array: .tobytes().decode() is the text),
        "path" where the run read it, "sha256" (checked against the bytes
        when the run file is opened) and "bytes" its length."""
        return self._cases

    # ---- expressions (the C printer, through the frugal binary) ----

    def expr(self, gen, island, slot, style="infix"):
        """An individual as an expression: style "infix", "sympy" or
        "latex"; "(no expression: WHY)" when it has none (docs/report.md,
        "Expressions"). Runs `frugal disasm RUN.h5:ID --expr=STYLE`."""
        self.row(gen, island, slot)
        ref = f"{self.path}:{gen}:{island}:{slot}"
        p = subprocess.run([_frugal_binary(), "disasm", ref, f"--expr={style}"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"frugal disasm {ref}: {p.stderr.strip()}")
        return p.stdout.strip()

    def best(self, gen=None):
        """The best individual of generation gen (default: the last in /pop),
        with its expression ("expr", and "sympy" for SymPy's parser)."""
        gen = self.pop_generations[-1] if gen is None else gen
        i, s = int(self.stats["best_island"][gen]), int(self.stats["best_slot"][gen])
        d = self.individual(gen, i, s)
        d["expr"] = self.expr(gen, i, s)
        d["sympy"] = self.expr(gen, i, s, "sympy")
        return d

    def best_programs(self):
        """The best individual of each generation in /pop where the best
        program changed (the first generation of each), with its expression."""
        out, last = [], None
        for g in self.pop_generations:
            i, s = int(self.stats["best_island"][g]), int(self.stats["best_slot"][g])
            c = self.code(g, i, s)
            if c != last:
                out.append(self.best(g))
                last = c
        return out

    # ---- lineage ----

    def lineage(self, gen, island, slot):
        """The ancestry of an individual through parent_a (the parent its code
        starts from), newest first, as `frugal report --lineage` traces it: a
        list of dicts (the individual's columns, "ops" as names, and
        "second_parent", the crossover's other parent id or None). An
        immigrant's parent is its copy on its island of origin in the same
        generation."""
        out = []
        for _ in range(2 * self.generations + 2):
            d = self.individual(gen, island, slot)
            ops, pa, pb = d["ops"], d["parent_a"], d["parent_b"]
            d["ops_names"] = [k for k, b in OPS.items() if ops & b] or ["random"]
            d["second_parent"] = ((gen - 1, island, pb) if ops & _CX_MASK and pb != _NONE and
                                  gen > 0 else None)
            out.append(d)
            if ops & OPS["immigrant"]:
                if pb >= self.islands or pa >= self.pop_size:
                    break
                island, slot = pb, pa
                continue
            if gen == 0 or pa == _NONE or pa >= self.pop_size or gen - 1 not in self._index:
                break
            gen, slot = gen - 1, pa
        return out


class Batch:
    """A folder of run files (a batch over seeds): runs sorted by seed, and
    stats(column), a 2-D array (runs x generations), NaN past a run's end."""

    def __init__(self, path):
        self.path = path
        names = sorted(n for n in os.listdir(path) if n.endswith(".h5"))
        if not names:
            raise CorruptRun(f"{path}: no run files (*.h5)")
        self.runs = sorted((Run(os.path.join(path, n)) for n in names), key=lambda r: r.seed)

    def stats(self, column):
        gens = max(r.generations for r in self.runs)
        out = np.full((len(self.runs), gens), np.nan)
        for k, r in enumerate(self.runs):
            out[k, :r.generations] = r.stats[column]
        return out

    def best_programs(self):
        """Each run's final best, with its expression."""
        return [r.best() for r in self.runs]


def open(path):  # noqa: A001 (the module's entry point, as h5py.File)
    """A Run for a run file, a Batch for a folder of them."""
    return Batch(path) if os.path.isdir(path) else Run(path)


def read_run(path):
    """analysis/read_run.py's summary of a run: its settings, /stats and the
    last generation's best individual, as plain Python values."""
    run = Run(path)
    last = run.generations - 1
    i, s = int(run.stats["best_island"][last]), int(run.stats["best_slot"][last])
    if last in run._index:
        b = run.individual(last, i, s)
    else:  # a killed run whose last generation is not in /pop: /stats has its best
        b = {k: run.stats["best_" + k][last] for k in ("error", "gas", "memtime", "length")}
        b.update(island=i, slot=s, code=b"", parent_a=_NONE, parent_b=_NONE)
    return {
        "spec": run.spec,
        "seed": run.seed,
        "islands": run.islands,
        "pop_size": run.pop_size,
        "generations": run.generations,
        "population": run.every_name,
        "pop_generations": run.pop_generations,
        "stop_reason": run.stop_reason,
        "best_error": [float(x) for x in run.stats["best_error"]],
        "best_gas": [int(x) for x in run.stats["best_gas"]],
        "median_error": [float(x) for x in run.stats["median_error"]],
        "evaluations": int(run.stats["evaluations"][last]),
        "best": {
            "generation": last,
            "island": b["island"],
            "slot": b["slot"],
            "error": float(b["error"]),
            "gas": int(b["gas"]),
            "memtime": int(b["memtime"]),
            "length": int(b["length"]),
            "code": b["code"].hex(),
            "parents": [int(b["parent_a"]), int(b["parent_b"])],
        },
    }
