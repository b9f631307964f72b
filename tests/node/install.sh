#!/usr/bin/env bash
# Installs the pinned @ethereumjs/evm (package-lock.json) into tests/node/node_modules
# with the machine's Node.js, for the differential tests and `frugal bench evm`.
set -euo pipefail
cd "$(dirname "$0")"
command -v node >/dev/null || { echo "tests/node: node is not installed" >&2; exit 1; }
command -v npm >/dev/null || { echo "tests/node: npm is not installed" >&2; exit 1; }
npm ci --no-audit --no-fund --loglevel=error
