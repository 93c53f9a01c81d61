"""Independent runs N at a time: ``--jobs N`` and ``--threads T`` of the sweep and probing runners.

Each job is its own process (started fresh, ``spawn``), with ``OMP_NUM_THREADS`` /
``MKL_NUM_THREADS`` set to T (default: the cores this process may use, divided by
N) before anything in it imports torch; the fairseq-train it starts inherits them.
A job dies with the runner (``PR_SET_PDEATHSIG``), and its fairseq-train with it.
Every run still goes through ``runs.train`` in its own folder (lock, fingerprint,
resume), so running jobs side by side changes nothing about what is reused or
trusted. ``--jobs 1`` (the default) runs everything in this process, one after the
other; with ``--threads`` it also sets the thread count.

The default, for CPU profiles on a machine with two or more cores, is 2 jobs of
cores / 2 threads: on the 2-core development machine a 4-run MiniLM sweep took
196 s as 2 jobs x 1 thread and 210 s as 1 job x 2 threads (``r3f-bench-jobs``;
docs/tooling.md, "Using both cores"). Profiles that train on GPUs default to
1 job: their runs would share one GPU.

This module does not import torch: it only sets the environment.
"""

import argparse
import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Callable, Iterator, Optional, Sequence, Tuple

from r3f_fairseq.errors import UserError

#: the default of --jobs on CPU: docs/tooling.md, "Using both cores", has the measurement behind it
CPU_JOBS = 2
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def add_jobs_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--jobs", type=int,
                   help=f"independent runs at a time, each its own process (default: {CPU_JOBS} for CPU profiles "
                        "on 2 or more cores, 1 for GPU profiles; see docs/tooling.md, 'Using both cores')")
    p.add_argument("--threads", type=int,
                   help="threads per job (OMP_NUM_THREADS, MKL_NUM_THREADS; default: cores / --jobs, "
                        "and untouched with --jobs 1)")


def default_jobs(on_gpu: bool) -> int:
    """``CPU_JOBS`` on a CPU profile with at least that many cores, else 1."""
    return CPU_JOBS if not on_gpu and cores() >= CPU_JOBS else 1


def check_jobs_options(args, on_gpu: bool) -> None:
    """Check ``--jobs`` / ``--threads``; an absent ``--jobs`` becomes :func:`default_jobs`."""
    if args.jobs is None:
        args.jobs = default_jobs(on_gpu)
    if args.jobs <= 0:
        raise UserError(f"--jobs must be > 0; got {args.jobs}")
    if args.threads is not None and args.threads <= 0:
        raise UserError(f"--threads must be > 0; got {args.threads}")


def threads_per_job(jobs: int, threads: Optional[int]) -> Optional[int]:
    """``--threads`` if given; else cores / jobs for several jobs; None (leave the environment) for one."""
    if threads is not None:
        return threads
    return max(1, cores() // jobs) if jobs > 1 else None


def set_threads(threads: Optional[int]) -> None:
    """Set the thread variables (inherited by fairseq-train) and torch's own count if torch is loaded."""
    if threads is None:
        return
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def _start_job(threads: Optional[int]) -> None:
    from r3f_fairseq.experiments.fairseq_process import _die_with_parent, quiet_console

    set_threads(threads)
    _die_with_parent()
    quiet_console()


Call = Tuple[Callable, tuple]


def completed(calls: Sequence[Call], jobs: int, threads: Optional[int] = None,
              admit: Optional[Callable[[int], bool]] = None) -> Iterator[Tuple[int, object]]:
    """Run ``fn(*args)`` for every ``(fn, args)`` in ``calls``, ``jobs`` at a time; yields
    ``(index, result)`` as each finishes. The first error stops new calls from starting,
    lets the running ones finish (each is a complete, resumable run), then is raised.
    A call whose index ``admit`` refuses, asked when the call's turn comes, is passed over."""
    if jobs == 1 or len(calls) <= 1:  # here, with all cores unless --threads says otherwise
        set_threads(threads)
        for i, (fn, args) in enumerate(calls):
            if admit is None or admit(i):
                yield i, fn(*args)
        return
    jobs = min(jobs, len(calls))
    threads = threads_per_job(jobs, threads)
    print(f"[jobs] {len(calls)} runs, {jobs} at a time, {threads} thread(s) each", flush=True)
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_start_job,
                             initargs=(threads,)) as pool:
        waiting = list(enumerate(calls))[::-1]
        running, error = {}, None
        while waiting or running:
            while waiting and error is None and len(running) < jobs:  # never more queued than running
                i, (fn, args) = waiting.pop()
                if admit is None or admit(i):
                    running[pool.submit(fn, *args)] = i
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                i = running.pop(future)
                if future.exception() is None:
                    yield i, future.result()
                elif error is None:
                    error = future.exception()
                    waiting = []
                    if running:
                        print(f"[jobs] stopping: {error}; waiting for {len(running)} running run(s)", flush=True)
        if error is not None:
            raise error
