#!/usr/bin/env bash
# Prepare CNN/DM, XSum, Gigaword or Reddit TIFU for BART (raw text, GPT-2 BPE, fairseq binaries):
#   scripts/summarization/prepare.sh DATASET --raw RAW --bpe-dir ../shared/data/gpt2_bpe --out-dir data/DATASET
# DATASET: cnn_dm, xsum, gigaword, reddit_tifu. Full options and raw layouts: --help
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/../in_venv.sh" python -m r3f_fairseq.data.prepare_summarization "$@"
