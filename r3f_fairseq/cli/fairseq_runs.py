"""Running fairseq's console scripts as subprocesses and reading their JSON logs."""

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Dict, List, Sequence


@dataclass
class Run:
    command: List[str]
    output: str
    seconds: float

    def records(self, tag: str) -> List[Dict[str, object]]:
        return json_records(self.output, tag)


def json_records(output: str, tag: str) -> List[Dict[str, object]]:
    """The ``--log-format json`` records fairseq printed under ``| tag |``
    (``train_inner``, ``train``, ``valid``), numbers as floats."""
    records = []
    marker = f"| {tag} | "
    for line in output.splitlines():
        if marker in line and "{" in line:
            record = json.loads(line.split(marker, 1)[1])
            records.append({k: _number(v) for k, v in record.items()})
    return records


def fairseq(tool: str, args: Sequence[str], log_path: str = None) -> Run:
    """Run ``tool`` (fairseq-train, fairseq-validate, ...) from this interpreter's
    environment; raise with the tail of its output if it fails."""
    exe = os.path.join(os.path.dirname(sys.executable), tool)
    command = [exe, *args]
    start = time.perf_counter()
    proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=dict(os.environ, PYTHONUNBUFFERED="1"))
    run = Run(command, proc.stdout, time.perf_counter() - start)
    if log_path:
        with open(log_path, "w", encoding="utf-8") as f:
            f.write("$ " + " ".join(command) + "\n" + proc.stdout)
    if proc.returncode != 0:
        raise RuntimeError(f"{tool} failed with exit code {proc.returncode}:\n{proc.stdout[-5000:]}")
    return run


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return value
