#!/usr/bin/env bash
# Run the test-suite on a fresh machine: sets up .venv (scripts/setup_env.sh),
# then runs pytest. Extra arguments go to pytest, e.g. scripts/test.sh -k kl
# Fast tier (no slow integration tests): scripts/test.sh -m "not slow"
# Tests read real data from ../shared/data (override with R3F_SHARED_DATA).
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0
fi
exec "$(dirname "${BASH_SOURCE[0]}")/in_venv.sh" python -m pytest tests "$@"
