#!/usr/bin/env bash
# Run TASK x METHOD over N seeds (default 10), resuming finished seeds.
#   scripts/glue/sweep.sh TASK METHOD [--seeds 10] [finetune options] [-- fairseq flags]
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/../in_venv.sh" python -m r3f_fairseq.experiments.glue.sweep "$@"
