#!/usr/bin/env bash
# Fetch GLUE in its original TSV layout into data/glue (the default --glue-dir of
# the GLUE scripts and the demo): from the official addresses, or offline with
#   scripts/glue/download.sh --from-dir /path/to/glue_or_zips [TASK ...]
# Full options: scripts/glue/download.sh --help
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/../in_venv.sh" python -m r3f_fairseq.data.download_glue "$@"
