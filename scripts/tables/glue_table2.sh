#!/usr/bin/env bash
# Table 2 (median / best dev metric over seeds, per task and method) from sweep results.
#   scripts/tables/glue_table2.sh [--runs runs/glue] [--profile minilm-cpu] [--csv table2.csv]
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/../in_venv.sh" python -m r3f_fairseq.experiments.glue.table2 "$@"
