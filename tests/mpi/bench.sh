#!/usr/bin/env bash
# Weak scaling of frugal under Open MPI on this machine (make bench-mpi):
# islands per rank held constant (ISLANDS_PER_RANK, population POP each,
# GENS generations, 1 OpenMP thread per rank), 1 rank then 2 ranks. Prints
# evaluations/s, the efficiency (rate at R ranks / (R x rate at 1 rank)),
# the time of the all-gather after each generation and of a migration step,
# relative to a generation. Prints only; asserts nothing.
set -euo pipefail
BIN=${1:-build/mpi/frugal}
SPEC=${SPEC:-specs/quartic.json}
IPR=${ISLANDS_PER_RANK:-2}
POP=${POP:-1000}
GENS=${GENS:-40}
MAXR=${MAXR:-2}
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --bind-to none -x OMP_NUM_THREADS)
tmp=$(mktemp -d /tmp/frugal-bench-mpi-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=1
echo "frugal MPI weak scaling: $SPEC, $IPR islands of $POP per rank, $GENS generations," \
     "1 thread per rank, migration every 5 generations ($(nproc --all) cores)"
printf '%-6s %-8s %-12s %-10s %-12s %-12s %-14s %-12s\n' ranks islands evals/s efficiency \
       gen_ms exchange_ms "(wait/xfer)" migrate_ms
base=""
for R in $(seq 1 "$MAXR"); do
  I=$((IPR * R))
  "${MPIRUN[@]}" -np "$R" "$BIN" run "$SPEC" --set population.islands=$I \
      --set population.size=$POP --set migration.every=5 --generations "$GENS" \
      --out "$tmp/r$R.h5" --json >"$tmp/r$R.json" 2>"$tmp/r$R.err"
  python3 - "$tmp/r$R.json" "$tmp/r$R.err" "$R" "$I" "${base:-0}" >"$tmp/row" <<'PY'
import json, re, sys
j = json.load(open(sys.argv[1])); err = open(sys.argv[2]).read()
R, I, base = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
rate = j["evaluations"] / j["wall_seconds"]
gen_ms = 1e3 * j["wall_seconds"] / (j["generation"] + 1)
m = re.search(r"exchanged, ([\d.]+) ms each .*waiting for other ranks ([\d.]+) ms, transfer "
              r"([\d.]+) ms.*migrations, ([\d.]+) ms each", err)
ex, wait, xfer, mig = (m.group(1), m.group(2), m.group(3), m.group(4)) if m else ("-", "-", "-", "-")
eff = rate / (R * base) if base > 0 else 1.0
print(f"{R:<6} {I:<8} {rate:<12.0f} {eff:<10.2f} {gen_ms:<12.2f} {ex:<12} {wait + '/' + xfer:<14} {mig:<12}")
print(rate, file=sys.stderr)
PY
  [ -z "$base" ] && base=$(python3 -c "import json;j=json.load(open('$tmp/r$R.json'));print(j['evaluations']/j['wall_seconds'])")
  cat "$tmp/row"
done
echo "(1 rank: migration is in-process; with R ranks each rank also all-gathers the others'"
echo " islands after every generation: exchange_ms, of which wait is time spent waiting for"
echo " the slowest rank (rank 0 also writes the HDF5 file) and xfer the data transfer.)"
