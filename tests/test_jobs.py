"""--jobs / --threads: independent runs side by side, each its own process with its thread count."""

import os
import time

import pytest

from r3f_fairseq.errors import UserError
from r3f_fairseq.experiments import jobs
from r3f_fairseq.experiments.glue import sweep
from r3f_fairseq.experiments.probing import run as probing


def where_and_when(seconds):
    start = time.time()
    time.sleep(seconds)
    return os.getpid(), os.environ.get("OMP_NUM_THREADS"), os.environ.get("MKL_NUM_THREADS"), start, time.time()


def fail_or_wait(i):
    if i == 0:
        raise UserError("run 0 failed")
    time.sleep(1.5)
    return i


def test_two_jobs_run_side_by_side_in_their_own_processes_with_cores_over_jobs_threads(monkeypatch):
    monkeypatch.setattr(jobs, "cores", lambda: 4)  # the jobs' count comes from here, whatever this machine has
    got = dict(jobs.completed([(where_and_when, (1.0,)), (where_and_when, (1.0,))], jobs=2))
    (pid0, omp0, mkl0, start0, end0), (pid1, omp1, _, start1, end1) = got[0], got[1]
    assert len({pid0, pid1, os.getpid()}) == 3
    assert omp0 == omp1 == mkl0 == "2"
    assert start1 < end0 and start0 < end1  # they overlapped


def test_one_job_runs_here_and_leaves_the_threads_alone_unless_told(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    [(_, (pid, omp, _, _, _))] = list(jobs.completed([(where_and_when, (0,))], jobs=1))
    assert pid == os.getpid() and omp is None
    monkeypatch.setenv("OMP_NUM_THREADS", "8")
    [(_, (_, omp, _, _, _))] = list(jobs.completed([(where_and_when, (0,))], jobs=1, threads=2))
    assert omp == "2"


def test_the_first_error_stops_new_runs_lets_running_ones_finish_then_is_raised():
    seen = []
    with pytest.raises(UserError, match="run 0 failed"):
        for i, result in jobs.completed([(fail_or_wait, (i,)) for i in range(5)], jobs=2):
            seen.append(result)
    assert seen == [1]  # run 1 was running and finished; runs 2-4 never started


def identity(i):
    return i


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_call_admit_refuses_is_passed_over_and_admit_sees_what_finished_before(n_jobs):
    """``admit`` is asked when a call's turn comes, after the results before it were taken."""
    taken, asked = [], []

    def admit(i):
        asked.append((i, len(taken)))
        return i != 2

    for i, result in jobs.completed([(identity, (i,)) for i in range(5)], jobs=n_jobs, admit=admit):
        taken.append(result)
    assert sorted(taken) == [0, 1, 3, 4]
    assert [i for i, _ in asked] == [0, 1, 2, 3, 4]
    if n_jobs == 1:
        assert asked == [(0, 0), (1, 1), (2, 2), (3, 2), (4, 3)]
    else:  # two at a time: the third call's turn comes once one of the first two was taken
        assert asked[2][1] >= 1


@pytest.mark.parametrize("parse", [lambda a: sweep.parse_args(["RTE", "std", *a]),
                                   lambda a: probing.parse_args(["degradation", "--glue-dir", ".", *a])])
def test_jobs_and_threads_must_be_positive(parse):
    with pytest.raises(UserError, match="--jobs must be > 0; got 0"):
        parse(["--jobs", "0"])
    with pytest.raises(UserError, match="--threads must be > 0; got -1"):
        parse(["--threads", "-1"])



def test_the_default_is_two_jobs_on_cpu_profiles_and_one_on_gpu_profiles(monkeypatch):
    monkeypatch.setattr(jobs, "cores", lambda: 2)
    assert sweep.parse_args(["RTE", "std"]).jobs == 2
    assert sweep.parse_args(["RTE", "std", "--profile", "roberta-large", "--pretrained", __file__]).jobs == 1
    assert probing.parse_args(["degradation", "--glue-dir", "."]).jobs == 2
    monkeypatch.setattr(jobs, "cores", lambda: 1)
    assert sweep.parse_args(["RTE", "std"]).jobs == 1


def test_a_single_run_keeps_every_core_whatever_jobs_says(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    [(_, (pid, omp, _, _, _))] = list(jobs.completed([(where_and_when, (0,))], jobs=2))
    assert pid == os.getpid() and omp is None
