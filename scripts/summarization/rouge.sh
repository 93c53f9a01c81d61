#!/usr/bin/env bash
# ROUGE-1/2/L/Lsum (rouge-score, bootstrap 95% CI) of summaries against references, one per line.
#   scripts/summarization/rouge.sh --hyp test.hypo --ref test.target [--ptb-tokenize] [--json scores.json]
# Relative paths are resolved from the repository root (scripts/in_venv.sh runs there).
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/../in_venv.sh" python -m r3f_fairseq.rouge "$@"
