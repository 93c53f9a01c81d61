#!/usr/bin/env bash
# ROUGE-1/2/L/Lsum of summaries against references, one per line: identical to rouge-score, with
# files2rouge's sentence splitting for ROUGE-Lsum, all cores, bootstrap 95% CI (same as r3f-rouge):
#   scripts/summarization/rouge.sh --hyp test.hypo --ref test.target [--json scores.json]
# Relative paths are resolved from the repository root (scripts/in_venv.sh runs there). Full options: --help
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/../in_venv.sh" python -m r3f_fairseq.rouge "$@"
