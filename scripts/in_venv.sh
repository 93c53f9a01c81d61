#!/usr/bin/env bash
# Run a command inside the project's .venv, creating/updating it first
# (scripts/setup_env.sh). The command runs from the repository root with
# .venv/bin first on PATH, e.g.  scripts/in_venv.sh python -m r3f_fairseq.experiments.glue.demo --help
set -euo pipefail
if [[ $# -eq 0 || "$1" == "-h" || "$1" == "--help" ]]; then
  sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; [[ $# -eq 0 ]] && exit 2; exit 0
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup_env.sh"
cd "$root"
export PATH="$root/.venv/bin:$PATH"
exec "$@"
