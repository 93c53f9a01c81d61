#!/usr/bin/env bash
# Fine-tune BART with standard (std) or R3F (r3f) fine-tuning on a prepared dataset:
#   scripts/summarization/finetune.sh DATASET METHOD SEED --data data/DATASET/bin --pretrained bart.large/model.pt
# Recipes per dataset in r3f_fairseq/experiments/summarization/recipes.py. Full options: --help
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/../in_venv.sh" python -m r3f_fairseq.experiments.summarization.finetune "$@"
