#!/usr/bin/env bash
# Fine-tune one GLUE task with one method and seed, recording dev metrics and walltime.
#   scripts/glue/finetune.sh TASK METHOD SEED [--profile minilm-cpu|roberta-large] [options] [-- fairseq flags]
# METHOD: std, r3f, r4f, smart, freelb. Full options: scripts/glue/finetune.sh --help
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/../in_venv.sh" python -m r3f_fairseq.experiments.glue.finetune "$@"
