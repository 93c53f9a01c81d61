#!/usr/bin/env bash
# Figure 1: walltime to the best dev checkpoint per method over seeds, from sweep logs.
#   scripts/tables/walltime_figure.sh --task SST-2 [--runs runs/glue] [--profile minilm-cpu] --png fig.png
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/../in_venv.sh" python -m r3f_fairseq.experiments.glue.walltime_figure "$@"
