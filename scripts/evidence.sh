#!/usr/bin/env bash
# The multi-seed evidence (docs/evidence.md): degradation, generalisation and GLUE small tasks, one plan on both cores;
# each finished experiment is published to docs/evidence/<name>/:
#   scripts/evidence.sh [--only degradation generalization glue] [--status] [--commit]. Full options: scripts/evidence.sh --help
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/in_venv.sh" python -m r3f_fairseq.experiments.evidence "$@"
