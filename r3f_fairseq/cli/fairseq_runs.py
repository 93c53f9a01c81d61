"""Running fairseq's console scripts as subprocesses and reading their JSON logs."""

import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple


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


def fairseq(tool: str, args: Sequence[str], log_path: Optional[str] = None,
            progress: Optional[Callable[[str, Dict[str, object]], None]] = None) -> Run:
    """Run ``tool`` (fairseq-train, fairseq-validate, ...) from this interpreter's
    environment, streaming its output to ``log_path`` (the command first) and
    each JSON record to ``progress(tag, record)``; raise with the tail of the
    output if it fails."""
    exe = os.path.join(os.path.dirname(sys.executable), tool)
    command = [exe, *args]
    log = open(log_path, "w", encoding="utf-8") if log_path else None
    lines: List[str] = []
    start = time.perf_counter()
    try:
        if log:
            log.write("$ " + shlex.join([tool, *args]) + "\n")
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=dict(os.environ, PYTHONUNBUFFERED="1"))
        for line in proc.stdout:
            lines.append(line)
            if log:
                log.write(line)
                log.flush()
            if progress:
                for tag in ("train_inner", "valid"):
                    records = json_records(line, tag)
                    if records:
                        progress(tag, records[0])
        returncode = proc.wait()
    finally:
        if log:
            log.close()
    output = "".join(lines)
    run = Run(command, output, time.perf_counter() - start)
    if returncode != 0:
        raise RuntimeError(f"{tool} failed with exit code {returncode}:\n{output[-5000:]}")
    return run


def split_fairseq_flags(argv: Sequence[str]) -> Tuple[List[str], Optional[List[str]]]:
    """``(our arguments, the fairseq flags after "--")``; the latter is None without a "--"."""
    argv = list(argv)
    if "--" not in argv:
        return argv, None
    return argv[:argv.index("--")], argv[argv.index("--") + 1:]


def save_result(run_dir: str, result: Dict[str, object]) -> None:
    """``run_dir/result.json``: what a run measured and the command that measured it."""
    with open(os.path.join(run_dir, "result.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)


def print_progress(prefix: str, total_updates: int, metric: str):
    """A ``progress`` callback printing one line per logged update / validation."""
    def show(tag: str, record: Dict[str, object]) -> None:
        if tag == "train_inner":
            print(f"{prefix} update {int(record['num_updates'])}/{total_updates} loss {record['loss']}", flush=True)
        else:
            print(f"{prefix} dev {metric} {record.get('valid_' + metric)} at update "
                  f"{int(record['valid_num_updates'])}", flush=True)
    return show


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return value
