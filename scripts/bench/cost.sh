#!/usr/bin/env bash
# Per-update walltime and peak memory of std, R3F, R4F, SMART (S=1), FreeLB (K=2, 3) and
# upstream fairseq's examples/rxf R3F, interleaved on the same model and batches (Table 1):
#   scripts/bench/cost.sh [--models minilm roberta-base] [--updates 20] [--json FILE]
# Prints a Markdown table per model. Full options: scripts/bench/cost.sh --help
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/../in_venv.sh" python -m r3f_fairseq.experiments.bench.cost "$@"
