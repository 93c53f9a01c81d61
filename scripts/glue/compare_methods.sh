#!/usr/bin/env bash
# std, R3F, R4F, SMART and FreeLB on the demo's SST-2 subset (MiniLM, CPU), 3 seeds each,
# then Table 2 and the Figure-1 walltime plot:
#   scripts/glue/compare_methods.sh [--seeds 3] [--updates 200] [--png docs/figure1_sst2_cpu.png]
# Full options: scripts/glue/compare_methods.sh --help
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/../in_venv.sh" python -m r3f_fairseq.experiments.glue.compare_methods "$@"
