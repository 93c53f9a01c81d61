#!/usr/bin/env bash
# Table 4 (ROUGE R1/R2/RL per summarisation dataset and method) from scripts/summarization/rouge.sh --json files.
#   scripts/tables/summarization_table4.sh --results cnn_dm.std.json cnn_dm.r3f.json ... [--csv table4.csv]
# Relative paths are resolved from the repository root (scripts/in_venv.sh runs there).
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/../in_venv.sh" python -m r3f_fairseq.experiments.summarization.table4 "$@"
