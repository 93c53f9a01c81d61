"""Turning token files into fairseq binaries with ``fairseq-preprocess``."""

import subprocess
import sys
from typing import Optional, Sequence


def fairseq_preprocess(
    destdir: str,
    trainpref: Optional[str],
    validprefs: Sequence[str] = (),
    srcdict: Optional[str] = None,
    workers: int = 1,
    extra: Sequence[str] = (),
) -> None:
    """Binarise one source-only column (fairseq's ``--only-source``); without a
    ``trainpref`` (evaluation-only data) ``srcdict`` is required."""
    if not trainpref and not srcdict:
        raise ValueError("fairseq_preprocess: evaluation-only data needs a srcdict")
    cmd = [
        sys.executable, "-m", "fairseq_cli.preprocess", "--only-source",
        "--destdir", destdir, "--workers", str(workers),
    ]
    if trainpref:
        cmd += ["--trainpref", trainpref]
    if validprefs:
        cmd += ["--validpref", ",".join(validprefs)]
    if srcdict:
        cmd += ["--srcdict", srcdict]
    run_checked(cmd + list(extra))


def run_checked(cmd: Sequence[str]) -> None:
    proc = subprocess.run(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-4000:]}")
