#!/usr/bin/env bash
# Summaries of a file of documents (one per line, input order) from a BART checkpoint:
#   scripts/summarization/generate.sh --checkpoint CKPT --data data/DATASET/bin \
#       --source data/DATASET/raw/test.source --out test.hypo --bpe-dir ../shared/data/gpt2_bpe --preset DATASET
# Full options: --help
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/../in_venv.sh" python -m r3f_fairseq.experiments.summarization.generate "$@"
