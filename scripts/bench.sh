#!/usr/bin/env bash
# Placeholder: benchmarks (see /work/shared/BENCH-NOTES.md, DESIGN.md
# "Performance and reliability targets") come later. Writes an empty result.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench
echo '{}' > bench/results.json
echo "bench: no benchmarks yet (placeholder); wrote empty bench/results.json"
