"""Running fairseq's console scripts (fairseq-train, ...) as child processes.

* The child runs in its own process group and dies with us: SIGINT/SIGTERM/SIGHUP
  to this process are forwarded to the whole group, and the kernel sends the child
  SIGKILL if this process dies any other way (``PR_SET_PDEATHSIG``, Linux), so a
  killed wrapper never leaves a fairseq-train writing into a run folder.
* Its whole output goes to the run's log file (appended: a resumed run keeps the
  log of its earlier attempts); what we print is one progress line per logged
  update (elapsed time and ETA) and per validation.
* :func:`quiet_console` hides the noise of importing fairseq and hydra (deprecation
  warnings, the tensorboardX notice, DEBUG logging) from what our CLIs print.
"""

import ctypes
import json
import logging
import os
import shlex
import signal
import subprocess
import sys
import time
import warnings
from typing import Callable, Dict, List, Optional, Sequence

Record = Dict[str, object]


def json_records(output: str, tag: str) -> List[Record]:
    """The ``--log-format json`` records fairseq printed under ``| tag |``
    (``train_inner``, ``train``, ``valid``), numbers as floats."""
    records = []
    marker = f"| {tag} | "
    for line in output.splitlines():
        if marker in line and "{" in line:
            try:
                record = json.loads(line.split(marker, 1)[1])
            except json.JSONDecodeError:  # a line cut short by a kill
                continue
            records.append({k: _number(v) for k, v in record.items()})
    return records


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def _die_with_parent() -> None:  # runs in the child between fork and exec
    os.setpgrp()
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class FairseqFailed(RuntimeError):
    pass


def run_tool(tool: str, args: Sequence[str], log_path: str,
             on_record: Optional[Callable[[str, Record], None]] = None) -> float:
    """Run ``tool`` from this interpreter's environment, appending its output to
    ``log_path`` (after a ``$ command`` line); ``on_record(tag, record)`` gets every
    ``train_inner`` and ``valid`` JSON record. Returns the walltime in seconds;
    raises :class:`FairseqFailed` naming the log if the tool fails."""
    exe = os.path.join(os.path.dirname(sys.executable), tool)
    start = time.perf_counter()
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"$ {shlex.join([tool, *args])}\n")
        log.flush()
        proc = subprocess.Popen([exe, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=dict(os.environ, PYTHONUNBUFFERED="1"), preexec_fn=_die_with_parent)
        forwarded = {}

        def forward(signum, _frame):
            try:
                os.killpg(proc.pid, signum)
            except ProcessLookupError:
                pass
            raise KeyboardInterrupt if signum == signal.SIGINT else SystemExit(128 + signum)

        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            forwarded[signum] = signal.signal(signum, forward)
        tail: List[str] = []
        try:
            for line in proc.stdout:
                log.write(line)
                log.flush()
                tail = (tail + [line])[-20:]
                if on_record:
                    for tag in ("train_inner", "valid"):
                        for record in json_records(line, tag):
                            on_record(tag, record)
            returncode = proc.wait()
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait()
            for signum, handler in forwarded.items():
                signal.signal(signum, handler)
    if returncode != 0:
        last = next((line.strip() for line in reversed(tail) if line.strip()), "")
        raise FairseqFailed(f"{tool} failed with exit code {returncode}; full log: {log_path}; last line: {last}")
    return time.perf_counter() - start


def clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress:
    """``on_record`` callback printing ``update k/N loss L | elapsed, ETA`` and every
    validation; the rate is measured from the first update this process saw (a
    resumed run starts there)."""

    def __init__(self, prefix: str, total_updates: int, metric: str, maximize: bool = True):
        self.prefix, self.total, self.metric, self.maximize = prefix, total_updates, metric, maximize
        self.start = time.perf_counter()
        self.first: Optional[tuple] = None
        self.best: Optional[float] = None

    def __call__(self, tag: str, record: Record) -> None:
        now = time.perf_counter()
        if tag == "train_inner":
            update = int(record["num_updates"])
            if self.first is None:
                self.first = (update, now)
            done, since = update - self.first[0], now - self.first[1]
            eta = f", ETA {clock(since / done * (self.total - update))}" if done > 0 else ""
            print(f"{self.prefix} update {update}/{self.total} loss {record.get('loss')} | "
                  f"{clock(now - self.start)} elapsed{eta}", flush=True)
        else:
            value = record.get("valid_" + self.metric)
            if isinstance(value, float):
                better = self.best is None or (value >= self.best if self.maximize else value <= self.best)
                self.best = value if better else self.best
            print(f"{self.prefix} dev {self.metric} {value} at update {int(record['valid_num_updates'])} "
                  f"(best {self.best}) | {clock(now - self.start)} elapsed", flush=True)


class Heartbeat:
    """``with Heartbeat("[glue] preparing RTE"):`` prints the step, then every
    ``every`` seconds how long it has been running, then how long it took."""

    def __init__(self, what: str, every: float = 15.0):
        import threading

        self.what, self.every = what, every
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self):
        while not self.stop.wait(self.every):
            print(f"{self.what} ... {clock(time.perf_counter() - self.start)} elapsed", flush=True)

    def __enter__(self):
        self.start = time.perf_counter()
        print(f"{self.what}", flush=True)
        self.thread.start()
        return self

    def __exit__(self, exc_type, *_):
        self.stop.set()
        self.thread.join()
        if exc_type is None:
            print(f"{self.what}: done in {clock(time.perf_counter() - self.start)}", flush=True)
        return False


_NOISE = (
    # hydra's deprecation warnings, raised when fairseq composes its configs
    r"(?s).*(no longer experimental|version_base|deprecated|validated against ConfigStore schema|strict flag)",
)


def quiet_console() -> None:
    """Hide the import/compose noise of fairseq and hydra from our own output (fairseq's
    own logs still go, in full, to each run's train.log). The tensorboardX notice is
    printed while ``r3f_fairseq`` itself is imported, before any CLI runs; it is
    hidden here for everything after that, and for the child processes."""
    for pattern in _NOISE:
        warnings.filterwarnings("ignore", message=pattern)
    warnings.filterwarnings("ignore", module=r"hydra(\..*)?$")
    root = logging.getLogger()
    root.setLevel(logging.WARNING)  # fairseq's imports call logging.basicConfig(level=DEBUG)
    for name in ("hydra", "fairseq", "matplotlib", "PIL"):
        logging.getLogger(name).setLevel(logging.WARNING)
