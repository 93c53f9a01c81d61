#!/usr/bin/env bash
# r3f-rouge (all cores) against a plain single-process rouge-score loop, side by side, on >= 10k
# CNN/DM-length pairs made from the shared CNN/DM samples; checks every pair is identical:
#   scripts/bench/rouge.sh [--pairs 10000] [--workers N] [--json bench.json]
# Full options and how the pairs are made: scripts/bench/rouge.sh --help
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/../in_venv.sh" python -m r3f_fairseq.experiments.bench.rouge "$@"
