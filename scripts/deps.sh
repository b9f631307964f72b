#!/usr/bin/env bash
# Installs the Debian packages frugal needs. Idempotent: does nothing when
# everything is present. As non-root it prints the exact command instead.
set -euo pipefail

pkgs=(
  build-essential pkg-config
  libcriterion-dev   # tests
  libhdf5-dev hdf5-tools python3-h5py  # storage, and reading it back
  libjansson-dev     # experiment specs
  zlib1g-dev         # crc32 for snapshots
  libdeflate-dev     # fast deflate for the HDF5 store
  libpng-dev         # memory images
  nettle-dev libgmp-dev libsecp256k1-dev  # EVM precompiles: hashes, modexp, ecrecover; SHA-256 of data files
  gnuplot-nox        # plots (pngcairo, pdfcairo, svg)
  libgsl-dev         # report statistics: quantiles, hypergeometric distribution
  python3-scipy      # the statistics tests' oracle (tests/stats_oracle.py)
  python3-numpy python3-sympy python3-matplotlib  # analysis/frugal.py, its tests and docs/python.md
  lua5.4 python3-deap  # benchmark peers
  clang libclang-rt-14-dev libomp-dev  # libFuzzer targets (libomp: fuzz_spec's OpenMP)
  clang-format       # make format, make format-check (CI)
)
if [ "${MPI:-0}" = 1 ]; then pkgs+=(libopenmpi-dev openmpi-bin); fi

missing=()
for p in "${pkgs[@]}"; do
  [[ $p == \#* ]] && continue
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# Node.js runs the EVM differential tests; any install of it will do (a
# machine may have its own build, which Debian's npm package conflicts with).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then missing+=(nodejs npm); fi
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "frugal needs these Debian packages. Run as root:" >&2
  echo "  apt-get update && $cmd" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
$cmd
