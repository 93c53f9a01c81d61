"""The multi-seed evidence at CPU scale (docs/evidence.md): three experiments, one plan, both cores.

    r3f-evidence [--only degradation generalization glue] [--out-dir runs/evidence]
                 [--docs docs/evidence] [--jobs 2] [--status [--timings]] [--commit] [--hours H]
    (also: scripts/evidence.sh, python -m r3f_fairseq.experiments.evidence)

* ``degradation`` (the paper's Figure 4): SST-2 -> QNLI -> QQP -> RTE, 100
  updates a stage, std / r3f / r4f, 5 seeds; after every stage the SST-2 probe
  (300 updates at lr 1e-2, the probe that can learn);
* ``generalization`` (Figure 3): SST-2 fine-tuned for 200 updates, then probed
  on CoLA, MRPC, STS-B, QNLI, QQP and RTE (same probe), 3 seeds;
* ``glue`` (Table 2): MRPC, STS-B, RTE and CoLA with each task's ``minilm-cpu``
  recipe, 5 seeds per method, no checkpoints kept.

Every chain (probing: one method and seed) and every GLUE run goes into one
pool, ``--jobs`` at a time, in the order above and seed by seed, so a core
never waits for the end of an experiment and a partial experiment holds whole
seeds. Finished runs made with the same settings are reused, so an interrupted
plan resumes where it stopped (an interrupted GLUE run starts again: it keeps
no checkpoint).

Every finished chain or GLUE run is saved at once to ``DOCS/<experiment>/``
(its runs' ``result.json`` files; a chain's probe records in ``probes.json``),
and a plan starts by copying what is saved there back to ``--out-dir``, for
each chain or run that has no result there (whole or not at all): a fresh clone
resumes from what an earlier one saved (the fingerprints still decide whether a
run is reused; they hold the paths inside ``--out-dir``, so keep it relative).
An experiment that is published gets no saves until its last unit publishes it
again. When the last unit of an experiment finishes, its
tables, plot and every run's ``result.json`` are published to
``DOCS/<experiment>/`` with a README that names this command and the commit
(left alone when its tables and runs are published as they are). ``--commit``
commits that folder (and nothing else) after every save. ``--status`` says what
is finished (after that copy), runs nothing.
"""

import argparse
import filecmp
import glob
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from r3f_fairseq.errors import UserError, cli
from r3f_fairseq.experiments import files, jobs, runs, tables
from r3f_fairseq.experiments.fairseq_process import quiet_console
from r3f_fairseq.experiments.glue import finetune, sweep, table2
from r3f_fairseq.experiments.glue.finetune import GlueRun
from r3f_fairseq.experiments.glue.inputs import Paths
from r3f_fairseq.experiments.glue.recipes import PROFILES
from r3f_fairseq.experiments.probing import run as probing
from r3f_fairseq.experiments.probing.run import Probing

PROFILE = "minilm-cpu"
METHODS = ("std", "r3f", "r4f")
GLUE_TASKS = ("MRPC", "STS-B", "RTE", "CoLA")
GLUE_SEEDS = 5
EXPERIMENTS = ("degradation", "generalization", "glue")


def degradation(out_dir: str) -> Probing:
    return Probing("degradation", METHODS, seeds=5, profile=PROFILE, updates=100, probe_updates=300,
                   probe_lr=1e-2, paths=probing.shared_paths(os.path.join(out_dir, "probing")))


def generalization(out_dir: str) -> Probing:
    return Probing("generalization", METHODS, seeds=3, profile=PROFILE, updates=200, probe_updates=300,
                   probe_lr=1e-2, paths=probing.shared_paths(os.path.join(out_dir, "probing")))


def probing_experiment(experiment: str, out_dir: str) -> Probing:
    return degradation(out_dir) if experiment == "degradation" else generalization(out_dir)


def glue_runs(out_dir: str) -> List[GlueRun]:
    """Seed by seed, each task and method with its recipe; no checkpoints (60 runs x 90 MB otherwise)."""
    paths = Paths(out_dir=os.path.join(out_dir, "glue"))
    return [GlueRun(task, method, seed, PROFILES[PROFILE], paths, save=False)
            for seed in range(1, GLUE_SEEDS + 1) for task in GLUE_TASKS for method in METHODS]


@dataclass(frozen=True)
class Unit:
    """One job of the pool: a probing chain (``probing`` set) or a GLUE run."""
    experiment: str
    label: str
    call: Callable
    args: tuple
    done: bool  # finished when the plan was made (for --status)
    folder: str  # where its runs' result.json files go
    runs: int  # fairseq-train runs in it
    probing: Optional[Probing] = None

    def finished_runs(self) -> List[Dict]:
        return [files.read_json(path) for path in _results(self.folder)]


def plan(out_dir: str, only: Sequence[str], on_change: str = "stop") -> List[Unit]:
    """Every chain and run of the experiments in ``only``, in the order they are run. Reads only what
    is finished: nothing is converted or prepared."""
    units: List[Unit] = []
    for p in (degradation(out_dir), generalization(out_dir)):
        if p.experiment not in only:
            continue
        p = replace(p, on_change=on_change)
        recorded = {(r["method"], r["seed"]) for r in _records(p)}
        for method, seed in p.chains():
            units.append(Unit(p.experiment, f"{method} seed {seed}", run_chain, (p, method, seed),
                              (method, seed) in recorded, os.path.join(p.out_dir, p.experiment, method, f"seed{seed}"),
                              probing.steps_per_chain(p), probing=p))
    if "glue" in only:
        for r in glue_runs(out_dir):
            units.append(Unit("glue", f"{r.task} {r.method} seed {r.seed}", finetune.run, (r, on_change),
                              os.path.isfile(os.path.join(r.dir, "result.json")), r.dir, 1))
    return units


def run_chain(p: Probing, method: str, seed: int) -> List[Dict]:
    """One probing chain, from the profile's pretrained model (converted by :func:`prepare`)."""
    return probing.run_one_chain(p, method, seed, probing.pretrained_model(p))


def _records(p: Probing) -> List[Dict]:
    return files.read_json(p.probes_json) if os.path.isfile(p.probes_json) else []


def prepare(out_dir: str, only: Sequence[str]) -> None:
    """Converted model and prepared data, once, before the jobs start (they would all do it at once)."""
    for p in (degradation(out_dir), generalization(out_dir)):
        if p.experiment in only:
            probing.prepare_inputs(p, probing.pretrained_model(p))
    if "glue" in only:
        first = glue_runs(out_dir)[0]
        for task in GLUE_TASKS:
            sweep.prepare_inputs(replace(first, task=task))


# ---------------------------------------------------------------------------- publishing

def report(experiment: str, out_dir: str) -> str:
    """Write the experiment's tables and plot in ``out_dir``; returns the folder that holds them."""
    directory = runs_dir(experiment, out_dir)
    if experiment == "glue":
        results = table2.load_results(directory, PROFILE)
        summary = table2.summarise(results)
        files.write_text(os.path.join(directory, "table.md"), table2.markdown(summary) + "\n")
        table2.write_csv(summary, os.path.join(directory, "table.csv"))
        table2.plot(results, os.path.join(directory, "plot.png"))
        return directory
    probing.write_report(directory)
    return directory


def runs_dir(experiment: str, out_dir: str) -> str:
    """Where an experiment's runs are kept under ``out_dir``; ``DOCS/<experiment>/runs/`` mirrors it."""
    if experiment == "glue":
        return os.path.join(out_dir, "glue")
    return os.path.dirname(probing_experiment(experiment, out_dir).probes_json)


def _results(folder: str) -> List[str]:
    return sorted(glob.glob(os.path.join(folder, "**", "result.json"), recursive=True))


def _published_as_is(source: str, target: str, outputs: Sequence[str]) -> bool:
    """Whether ``target`` holds the same results as ``source`` and the same tables (the plot follows)."""
    mine = [os.path.relpath(path, source) for path in _results(source)]
    saved = os.path.join(target, "runs")
    published = [os.path.relpath(path, saved) for path in _results(saved)]
    return (mine == published
            and all(_same_file(os.path.join(source, name), os.path.join(saved, name)) for name in mine)
            and all(_same_file(os.path.join(source, name), os.path.join(target, name))
                    for name in outputs if name != "plot.png"))


def _same_file(a: str, b: str) -> bool:
    return os.path.isfile(a) and os.path.isfile(b) and filecmp.cmp(a, b, shallow=False)


def publish(experiment: str, out_dir: str, docs: str, command: str) -> str:
    """Copy tables, plot and every run's result.json to ``docs/<experiment>/`` with a README; returns it.
    Left as it is when the same tables and runs are published there already."""
    source = report(experiment, out_dir)
    target = os.path.join(docs, experiment)
    outputs = ["table.md", "table.csv", "plot.png"] + ([] if experiment == "glue" else ["probes.json"])
    results = _results(source)
    if _published_as_is(source, target, outputs):
        print(f"[evidence] {target}: published as it is already", flush=True)
        return target
    staging = target + ".tmp"
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    for name in outputs:
        shutil.copyfile(os.path.join(source, name), os.path.join(staging, name))
    for path in results:
        copy = os.path.join(staging, "runs", os.path.relpath(path, source))
        os.makedirs(os.path.dirname(copy), exist_ok=True)
        shutil.copyfile(path, copy)
    made = [files.read_json(path) for path in results]
    walltime = sum(machine_seconds(r) for r in made)
    commits = sorted({str(r.get("git_commit")) for r in made})
    with open(os.path.join(source, "table.md"), encoding="utf-8") as f:
        table = f.read()
    readme = [f"# {experiment}: the finished experiment", "",
              f"Made by `{command}` (r3f_fairseq/experiments/evidence.py states its settings), "
              f"published {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.", "",
              f"- {len(results)} runs (`runs/**/result.json`: settings, every validation, command, fingerprint, "
              f"versions), {walltime / 3600:.1f} h of fairseq-train wall time in all;",
              f"- made at commit(s): {', '.join(commits)};",
              "- `table.md` / `table.csv`: the statistics (docs/evidence.md says how to read them); "
              "`plot.png`: every seed as a dot" + ("; `probes.json`: one record per probe." if experiment != "glue"
                                                   else "."),
              "", "`r3f-evidence` rewrites this folder whenever it publishes; what the numbers say is in "
              "docs/evidence.md.", "", table]
    files.write_text(os.path.join(staging, "README.md"), "\n".join(readme))
    shutil.rmtree(target, ignore_errors=True)
    os.replace(staging, target)
    return target


def save_progress(unit: Unit, out_dir: str, docs: str, finished: int, total: int, command: str) -> Optional[str]:
    """A finished unit's runs (and, for a chain, the probe records so far) into ``docs/<experiment>/``,
    beside those saved there already, with a README that says the experiment is unfinished; returns the
    folder, or None when all of it was saved there already or the experiment is published (its last
    unit publishes it again). Whole units only: a chain's later stages start from its earlier stages'
    checkpoints, which are not saved."""
    source, target = runs_dir(unit.experiment, out_dir), os.path.join(docs, unit.experiment)
    if os.path.isfile(os.path.join(target, "table.md")):
        return None
    copies = [(path, os.path.join(target, "runs", os.path.relpath(path, source))) for path in _results(unit.folder)]
    if unit.probing:
        copies.append((unit.probing.probes_json, os.path.join(target, "probes.json")))
    copies = [(path, copy) for path, copy in copies if not _same_file(path, copy)]
    if not copies:
        return None
    for path, copy in copies:
        files.copy_file(path, copy)
    what = "runs" if unit.experiment == "glue" else "chains (one method and seed each)"
    files.write_text(os.path.join(target, "README.md"), "\n".join([
        f"# {unit.experiment}: unfinished, {finished} of {total} {what} finished", "",
        f"Saved by `{command}` as each finished, last at {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: "
        "`runs/**/result.json`" + ("" if unit.experiment == "glue" else " and the probe records in `probes.json`")
        + ". `r3f-evidence` copies them back to its `--out-dir` when it starts, so that a fresh clone resumes "
        "from here; the tables come when the last one finishes.", ""]))
    return target


def restore(units: List[Unit], out_dir: str, docs: str) -> Dict[str, int]:
    """Copy back from ``docs/<experiment>/runs/`` the runs saved for each unit that has no result of its
    own in ``out_dir`` (and a chain's probe records): a unit is restored whole or not at all, so that no
    chain mixes stages of two executions. Returns the number of results copied, per experiment."""
    copied: Dict[str, int] = {}
    for u in units:
        saved = os.path.join(docs, u.experiment, "runs", os.path.relpath(u.folder, runs_dir(u.experiment, out_dir)))
        saved_results = _results(saved)
        if not saved_results or _results(u.folder):
            continue
        for path in saved_results:
            files.copy_file(path, os.path.join(u.folder, os.path.relpath(path, saved)))
            copied[u.experiment] = copied.get(u.experiment, 0) + 1
        records = os.path.join(docs, u.experiment, "probes.json")
        if u.probing and os.path.isfile(records):
            _, method, seed = u.args
            probing.save_records(u.probing, [r for r in files.read_json(records)
                                             if (r["method"], r["seed"]) == (method, seed)])
    return copied


def machine_seconds(result: Dict) -> float:
    """fairseq-train time a run took, every attempt counted (results older than that field: ``walltime_s``)."""
    return float(result.get("walltime_all_attempts_s", result.get("walltime_s")) or 0)


def commit(folder: str, message: str) -> None:
    """Commit ``folder`` alone (other staged or changed files are left as they are), if it changed."""
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], capture_output=True, text=True)

    step = git("add", "--", folder)
    if step.returncode == 0 and git("diff", "--cached", "--quiet", "--", folder).returncode == 0:
        print(f"[evidence] {folder}: unchanged since its last commit", flush=True)
        return
    if step.returncode == 0:
        step = git("commit", "-q", "-m", message, "--only", "--", folder)
    if step.returncode != 0:
        print(f"[evidence] could not commit {folder}: {step.stderr.strip()}", flush=True)
        return
    print(f"[evidence] committed {folder}", flush=True)


# ---------------------------------------------------------------------------- command line

def status(units: List[Unit], jobs_at_a_time: int = jobs.CPU_JOBS) -> str:
    """Per experiment: finished chains / runs, fairseq-train time so far, and a rough time left
    (:func:`time_left`)."""
    lines = []
    for experiment in EXPERIMENTS:
        mine = [u for u in units if u.experiment == experiment]
        if not mine:
            continue
        done = [u for u in mine if u.done]
        finished = [r for u in mine for r in u.finished_runs()]
        total = sum(u.runs for u in mine)
        seconds = sum(machine_seconds(r) for r in finished)
        line = (f"{experiment}: {len(done)}/{len(mine)} {'runs' if experiment == 'glue' else 'chains'} finished "
                f"({len(finished)}/{total} fairseq-train runs, {seconds / 3600:.1f} h)")
        if len(done) < len(mine):
            line += f"; next: {next(u.label for u in mine if not u.done)}"
            if finished:
                left = time_left(mine, jobs_at_a_time)
                line += f"; roughly {left / 3600:.1f} h left at {jobs_at_a_time} at a time"
        lines.append(line)
    return "\n".join(lines)


def time_left(units: List[Unit], jobs_at_a_time: int) -> float:
    """Seconds until ``units`` (one experiment's, some runs finished) are all done: each unfinished
    unit takes :func:`expected_seconds` less what it has run already (with nothing like it finished,
    the mean finished run's time for each of its runs left), ``jobs_at_a_time`` side by side, but never
    less than the longest unfinished unit: a chain's runs come one after the other."""
    finished = [r for u in units for r in u.finished_runs()]
    per_run = sum(machine_seconds(r) for r in finished) / len(finished)
    took = finished_unit_seconds(units)
    left = []
    for u in units:
        if u.done:
            continue
        expected = expected_seconds(u, took)
        ran = _seconds(u)
        if expected is not None and expected > ran:
            left.append(expected - ran)
        else:
            left.append(per_run * max(u.runs - len(u.finished_runs()), 1))
    return max(sum(left) / jobs_at_a_time, max(left))


def timings(units: List[Unit]) -> str:
    """A Markdown table of the finished runs' fairseq-train time (every attempt): median and n per
    experiment, step (a stage's task, a probe's task, a GLUE task) and method."""
    seconds: Dict[tuple, List[float]] = {}
    for u in units:
        for r in u.finished_runs():
            step = f"probe {r['task']}" if r["method"] == "probe" else r["task"]
            method = u.label.split()[0] if u.probing else r["method"]
            seconds.setdefault((u.experiment, step, method), []).append(machine_seconds(r))
    order = sorted(seconds, key=lambda k: (EXPERIMENTS.index(k[0]), METHODS.index(k[2]), k[1].startswith("probe"),
                                           k[1]))
    rows = [[e, step, m, f"{statistics.median(seconds[(e, step, m)]):.0f}", len(seconds[(e, step, m)])]
            for e, step, m in order]
    return tables.markdown(["experiment", "step", "method", "median s", "runs"], rows)


def parse_args(argv: List[str]):
    p = argparse.ArgumentParser(prog="r3f-evidence", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="+", choices=EXPERIMENTS, default=list(EXPERIMENTS),
                   help="run these experiments only (default: all three, in this order)")
    p.add_argument("--out-dir", default=os.path.join("runs", "evidence"), help="runs (default runs/evidence)")
    p.add_argument("--docs", default=os.path.join("docs", "evidence"),
                   help="where finished experiments are published (default docs/evidence)")
    p.add_argument("--status", action="store_true",
                   help="say what is finished (after copying saved runs back to --out-dir) and exit")
    p.add_argument("--timings", action="store_true",
                   help="with --status: the finished runs' median fairseq-train time per step and method")
    p.add_argument("--commit", action="store_true",
                   help="git-commit an experiment's folder after each save and when it is published")
    p.add_argument("--hours", type=float,
                   help="start no chain or run that would not finish within this many hours of the start (by the "
                        "median time of the finished ones of its task and method, else the longest finished one of "
                        "its task; one with neither is started), then stop: for a session or batch job with a "
                        "time limit, which would discard an unfinished GLUE run (it keeps no checkpoint)")
    runs.add_on_change_options(p)
    jobs.add_jobs_options(p)
    args = p.parse_args(argv)
    jobs.check_jobs_options(args, on_gpu=False)
    if args.hours is not None and not 0 < args.hours < float("inf"):
        raise UserError(f"--hours must be a positive number; got {args.hours}")
    if not args.status:
        try:
            os.makedirs(args.docs, exist_ok=True)
        except OSError as e:
            raise UserError(f"--docs {args.docs}: cannot create it: {e.strerror}") from None
    return args


@cli
def main(argv=None) -> Dict[str, str]:
    quiet_console()
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    only = [e for e in EXPERIMENTS if e in args.only]
    units = plan(args.out_dir, only, args.on_change)
    copied = restore(units, args.out_dir, args.docs)
    for experiment, n in copied.items():
        print(f"[evidence] {experiment}: {n} finished runs copied from {args.docs}/{experiment}/runs", flush=True)
    if copied:
        units = plan(args.out_dir, only, args.on_change)
    print(status(units, args.jobs), flush=True)
    if args.status:
        if args.timings:
            print("\n" + timings(units), flush=True)
        return {}
    prepare(args.out_dir, only)
    command = shlex.join(["r3f-evidence", *argv])
    left = {e: sum(u.experiment == e for u in units) for e in only}
    records: Dict[str, List[Dict]] = {e: [] for e in only}
    published: Dict[str, str] = {}
    started, handed_back = time.time(), set()
    took = finished_unit_seconds(units) if args.hours else {}  # seconds of each finished unit, by task and method

    def in_time(i: int) -> bool:
        if args.hours is None or units[i].done:
            return True
        seconds = expected_seconds(units[i], took)
        return seconds is None or time.time() + seconds <= started + args.hours * 3600

    calls = [(u.call, u.args) for u in units]
    for n, (i, result) in enumerate(jobs.completed(calls, args.jobs, args.threads, in_time), 1):
        unit = units[i]
        handed_back.add(i)
        if not unit.done and args.hours:
            took.setdefault(_kind(unit), []).append(_seconds(unit))
        if unit.probing:  # a chain: its probe records
            records[unit.experiment] += result
            probing.save_records(unit.probing, records[unit.experiment])
        left[unit.experiment] -= 1
        print(f"[evidence] {unit.experiment} {unit.label} finished ({n}/{len(units)} of the plan, "
              f"{(time.time() - started) / 3600:.1f} h)", flush=True)
        if left[unit.experiment] == 0:
            published[unit.experiment] = publish(unit.experiment, args.out_dir, args.docs, command)
            print(f"[evidence] {unit.experiment}: published to {published[unit.experiment]}", flush=True)
            if args.commit:
                commit(published[unit.experiment], f"evidence: {unit.experiment} finished, published by {command}")
        else:  # saved even if it was finished before: the runner that finished it may have stopped first
            mine = [j for j, u in enumerate(units) if u.experiment == unit.experiment]
            done = sum(j in handed_back or units[j].done for j in mine)
            saved = save_progress(unit, args.out_dir, args.docs, done, len(mine), command)
            if saved and args.commit:
                commit(saved, f"evidence: {unit.experiment} {unit.label} finished ({done}/{len(mine)}), "
                              f"saved by {command}")
    if len(handed_back) < len(units):
        print(f"[evidence] --hours {args.hours:g}: {len(units) - len(handed_back)} chains or runs not started, as "
              f"they would not have finished in time; the same command goes on with them", flush=True)
    return published


def _kind(u: Unit) -> Tuple[str, str, str]:
    """A unit's experiment, task and method: ("glue", "MRPC", "r3f"); a chain's: ("degradation", "", "r3f")."""
    if u.probing:
        return u.experiment, "", u.args[1]
    return u.experiment, u.args[0].task, u.args[0].method


def finished_unit_seconds(units: List[Unit]) -> Dict[tuple, List[float]]:
    """The fairseq-train seconds of each finished unit (:func:`_seconds`), by :func:`_kind`."""
    took: Dict[tuple, List[float]] = {}
    for u in units:
        if u.done:
            took.setdefault(_kind(u), []).append(_seconds(u))
    return took


def expected_seconds(u: Unit, took: Dict[tuple, List[float]]) -> Optional[float]:
    """How long ``u`` should take, from ``took`` (the seconds of finished units by :func:`_kind`): the
    median of its task and method, else the longest of its task (another method's: std is the fastest),
    else None."""
    kind = _kind(u)
    if took.get(kind):
        return statistics.median(took[kind])
    same_task = [seconds for k, v in took.items() if k[:2] == kind[:2] for seconds in v]
    return max(same_task) if same_task else None


def _seconds(u: Unit) -> float:
    """The fairseq-train time of a finished unit's runs (each run's last attempt, as it would take again)."""
    return sum(float(r.get("walltime_s") or 0) for r in u.finished_runs())


if __name__ == "__main__":
    main()
