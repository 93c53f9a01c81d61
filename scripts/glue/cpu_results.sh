#!/usr/bin/env bash
# Reproduce the README's CPU-scale GLUE results (all-MiniLM-L6-v2, minilm-cpu profile):
#   1. the demo (SST-2, first 10,000 train sentences, std / r3f / r4f, seed 1), timed;
#   2. MRPC, STS-B, CoLA and RTE with std / r3f / r4f, seed 1 (full train sets);
#   3. seeds 2 and 3 of CoLA (a 3-seed sweep for Table 2's median / best);
#   4. Table 2 from runs/glue (Markdown on stdout, CSV in runs/glue/table2.csv).
# Usage: scripts/glue/cpu_results.sh [--glue-dir DIR]   (about 3 hours on 2 cores; RTE alone about 1.5)
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0
fi
here="$(dirname "${BASH_SOURCE[0]}")"
glue=()
if [[ "${1:-}" == "--glue-dir" ]]; then
  [[ -d "${2:-}" ]] || { echo "--glue-dir ${2:-}: no such directory" >&2; exit 2; }
  glue=(--glue-dir "$2"); shift 2
fi
[[ $# -eq 0 ]] || { echo "unknown arguments: $*" >&2; exit 2; }

start=$SECONDS
bash "$here/../demo.sh" "${glue[@]}"
echo "[results] demo walltime: $((SECONDS - start)) s"
for task in MRPC STS-B CoLA RTE; do
  for method in std r3f r4f; do
    bash "$here/sweep.sh" "$task" "$method" --seeds 1 "${glue[@]}" -- --no-save
  done
done
for method in std r3f r4f; do
  bash "$here/sweep.sh" CoLA "$method" --seeds 3 "${glue[@]}" -- --no-save
done
bash "$here/../tables/glue_table2.sh" --runs runs/glue --csv runs/glue/table2.csv
echo "[results] total walltime: $((SECONDS - start)) s"
