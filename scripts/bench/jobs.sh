#!/usr/bin/env bash
# Wall time of one small real sweep run as 2 jobs x 1 thread and as 1 job x 2 threads (--jobs default):
#   scripts/bench/jobs.sh [--task CoLA] [--runs 4] [--updates 60] [--configs 2x1 1x2] [--json FILE]
# Writes the figures to a JSON (default runs/bench/jobs/jobs.json). Full options: scripts/bench/jobs.sh --help
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/../in_venv.sh" python -m r3f_fairseq.experiments.bench.jobs "$@"
