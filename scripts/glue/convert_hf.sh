#!/usr/bin/env bash
# Convert a Hugging Face BERT/RoBERTa-family checkpoint (config.json + safetensors or
# pytorch_model.bin + vocabulary) to a fairseq RoBERTa checkpoint and dict.txt:
#   scripts/glue/convert_hf.sh --hf-dir MODEL_DIR --out-dir OUT [--pooler-head N]
#   scripts/glue/convert_hf.sh --out-dir OUT   (no --hf-dir: the installed all-MiniLM-L6-v2)
# Full options: scripts/glue/convert_hf.sh --help
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/../in_venv.sh" python -m r3f_fairseq.conversion.hf_bert "$@"
