#!/usr/bin/env bash
# The degradation probing experiment end to end, then its table and plot:
#   scripts/probing/degradation.sh [--methods std r3f r4f] [--seeds 1] [--profile minilm-cpu] [--updates N] [--out-dir runs/probing]
# Writes OUT/degradation/probes.json, table.md, table.csv and plot.png. Full options: scripts/probing/degradation.sh --help
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/../in_venv.sh" python -m r3f_fairseq.experiments.probing.run degradation "$@"
