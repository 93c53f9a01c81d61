#!/usr/bin/env bash
# XNLI with XLM-R: prepare (sentencepiece + binarise), zero-shot evaluate, Table 3.
#   scripts/xnli/xnli.sh prepare --xnli-dir DIR --spm-model M --spm-dict D --out-dir OUT [--glue-dir GLUE]
#   scripts/xnli/xnli.sh evaluate --checkpoint CKPT --xnli-bin OUT/XNLI-bin --out result.json
#   scripts/xnli/xnli.sh table std.json r3f.json r4f.json
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/../in_venv.sh" python -m r3f_fairseq.experiments.glue.xnli "$@"
