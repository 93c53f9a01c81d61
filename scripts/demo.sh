#!/usr/bin/env bash
# Run the demo on a fresh machine: sets up .venv (scripts/setup_env.sh),
# converts the pretrained all-MiniLM-L6-v2 to fairseq, fine-tunes it on a fixed
# subset of GLUE SST-2 with standard, R3F and R4F fine-tuning and prints dev
# accuracy and walltime per method. Options go to the demo, e.g.
#   scripts/demo.sh --glue-dir /data/glue --updates 100 --seed 2
# (python -m r3f_fairseq.experiments.glue.demo --help lists them all).
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0
fi
exec "$(dirname "${BASH_SOURCE[0]}")/in_venv.sh" python -m r3f_fairseq.experiments.glue.demo "$@"
