"""Turning token files into fairseq binaries with ``fairseq-preprocess``."""

import subprocess
import sys
from typing import Optional, Sequence


def fairseq_preprocess(
    destdir: str,
    trainpref: str,
    validprefs: Sequence[str] = (),
    srcdict: Optional[str] = None,
    workers: int = 1,
    extra: Sequence[str] = (),
) -> None:
    """Binarise one source-only column (fairseq's ``--only-source``)."""
    cmd = [
        sys.executable, "-m", "fairseq_cli.preprocess", "--only-source",
        "--trainpref", trainpref, "--destdir", destdir, "--workers", str(workers),
    ]
    if validprefs:
        cmd += ["--validpref", ",".join(validprefs)]
    if srcdict:
        cmd += ["--srcdict", srcdict]
    run_checked(cmd + list(extra))


def run_checked(cmd: Sequence[str]) -> None:
    proc = subprocess.run(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-4000:]}")
