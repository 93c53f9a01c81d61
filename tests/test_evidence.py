"""r3f-evidence: the plan states the experiments docs/evidence.md documents, runs them seed by seed in one
pool, and publishes a finished experiment (tables, plot, every result.json, a README with the command)."""

import json
import os
import re
import shlex
from dataclasses import replace
from pathlib import Path

import pytest

from r3f_fairseq.experiments import evidence, files
from r3f_fairseq.experiments.glue import table2
from r3f_fairseq.experiments.probing import run as probing
from tests.test_tables_stats import write_result


DOCS = Path(__file__).resolve().parents[1] / "docs" / "evidence.md"


def documented_commands(script: str):
    """The arguments of every ``bash scripts/<script> ...`` line in docs/evidence.md's bash blocks
    (continuation lines joined), with the ``for x in ...`` loops around it."""
    text = DOCS.read_text().replace("\\\n", " ")
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        loops = dict(re.findall(r"for (\w+) in ([^;]+);", block))
        for line in block.splitlines():
            words = shlex.split(line.strip()) if line.strip().startswith(f"bash scripts/{script}") else []
            if words:
                commands.append((words[2:], {name: values.split() for name, values in loops.items()}))
    return commands


@pytest.mark.parametrize("experiment", ["degradation", "generalization"])
def test_probing_experiments_are_the_commands_docs_evidence_gives(experiment):
    """docs/evidence.md gives each experiment as an r3f-probing command; the plan runs exactly that
    (so runs made by either are reused by the other)."""
    ((argv, _),) = documented_commands(f"probing/{experiment}.sh")
    planned = getattr(evidence, experiment)("runs/evidence")
    documented = probing.parse_args([experiment, *argv])
    assert replace(documented, jobs=planned.jobs, threads=planned.threads) == planned


def test_the_plan_runs_whole_seeds_first_in_the_documented_order(tmp_path):
    units = evidence.plan(str(tmp_path), evidence.EXPERIMENTS)
    assert [u.experiment for u in units] == ["degradation"] * 15 + ["generalization"] * 9 + ["glue"] * 60
    assert [u.label for u in units[:4]] == ["std seed 1", "r3f seed 1", "r4f seed 1", "std seed 2"]
    glue = [u.args[0] for u in units if u.experiment == "glue"]
    assert [(r.task, r.method, r.seed) for r in glue[:4]] == [("MRPC", "std", 1), ("MRPC", "r3f", 1),
                                                              ("MRPC", "r4f", 1), ("STS-B", "std", 1)]
    assert {r.seed for r in glue[:12]} == {1} and {r.save for r in glue} == {False}
    assert {r.updates for r in glue} == {None}, "each task's own recipe"
    assert not any(u.done for u in units)
    assert [u.experiment for u in evidence.plan(str(tmp_path), ["glue"])] == ["glue"] * 60


def test_status_counts_finished_chains_and_runs(tmp_path):
    p = evidence.degradation(str(tmp_path))
    probing.save_records(p, [{"method": "std", "seed": 1, "stage": 1, "probe_task": "SST-2", "value": 80.0}])
    run = evidence.glue_runs(str(tmp_path))[0]
    write_result(tmp_path / "glue", run.task, run.method, run.seed, 80.0, metric="f1")
    text = evidence.status(evidence.plan(str(tmp_path), evidence.EXPERIMENTS), jobs_at_a_time=2)
    assert "degradation: 1/15 chains finished (0/120 fairseq-train runs, 0.0 h); next: r3f seed 1\n" in text
    assert "generalization: 0/9 chains finished (0/63 fairseq-train runs, 0.0 h); next: std seed 1\n" in text
    # one finished run of 100 s: 59 left at 100 s each, two at a time
    assert "glue: 1/60 runs finished (1/60 fairseq-train runs, 0.0 h); next: MRPC r3f seed 1; " \
           "roughly 0.8 h left at 2 at a time" in text
    assert "| glue | MRPC | std | 100 | 1 |" in evidence.timings(evidence.plan(str(tmp_path), ["glue"]))


def test_time_left_is_never_less_than_the_longest_unfinished_chain(tmp_path):
    # 14 chains finished, the last one has run 1 of its 8 runs: its 7 runs left come one after the other
    units = evidence.plan(str(tmp_path), ["degradation"])
    for u in units:
        for n in range(u.runs if u is not units[-1] else 1):
            files.write_json(os.path.join(u.folder, f"run{n}", "result.json"), {"walltime_s": 600.0})
    units = evidence.plan(str(tmp_path), ["degradation"])
    units = [replace(u, done=u is not units[-1]) for u in units]
    assert evidence.status(units, jobs_at_a_time=2).endswith("roughly 1.2 h left at 2 at a time")  # 7 x 600 s


def test_time_left_takes_each_run_from_runs_like_it(tmp_path):
    """A run left is expected to take what finished runs of its task (and method) took, not the mean
    of every finished run: the long RTE runs left weigh as RTE runs."""
    for task, seed, seconds in [("MRPC", 1, 100.0), ("MRPC", 2, 100.0), ("RTE", 1, 3000.0)]:
        write_result(tmp_path / "glue", task, "std", seed, 60.0)
        result = tmp_path / "glue" / "minilm-cpu" / task / "std" / f"seed{seed}" / "result.json"
        result.write_text(result.read_text().replace('"walltime_s": 100.0', f'"walltime_s": {seconds}'))
    units = evidence.plan(str(tmp_path), ["glue"])
    assert sum(u.done for u in units) == 3
    # MRPC: 13 runs left x 100 s; RTE: 14 x 3000 s (r3f and r4f as the task's longest); STS-B and CoLA,
    # nothing like them finished: 30 x the mean run, 1066.7 s. Two at a time: 37,650 s
    assert evidence.status(units, jobs_at_a_time=2).endswith("roughly 10.5 h left at 2 at a time")


def probe_record(method, seed, stage, value):
    return {"experiment": "degradation", "method": method, "seed": seed, "probe_task": "SST-2", "metric": "accuracy",
            "value": value, "majority": 50.9, "stage": stage, "after": ["SST-2", "QNLI"][stage - 1]}


def test_a_finished_probing_experiment_is_published_with_every_result_and_the_command(tmp_path):
    out, docs = tmp_path / "runs", tmp_path / "docs"
    p = evidence.degradation(str(out))
    records = [probe_record(m, s, stage, 70.0 + s + (m == "r3f") - 5 * stage)
               for m in ("std", "r3f") for s in (1, 2, 3) for stage in (1, 2)]
    probing.save_records(p, records)
    result = out / "probing" / "degradation" / "std" / "seed1" / "probe_stage1_SST-2" / "result.json"
    result.parent.mkdir(parents=True)
    result.write_text(json.dumps({"walltime_s": 7200.0, "git_commit": "abc123"}))
    target = evidence.publish("degradation", str(out), str(docs), "r3f-evidence --only degradation")
    assert target == str(docs / "degradation")
    names = sorted(f.name for f in (docs / "degradation").iterdir())
    assert names == ["README.md", "plot.png", "probes.json", "runs", "table.csv", "table.md"]
    assert json.loads((docs / "degradation" / "runs" / "std" / "seed1" / "probe_stage1_SST-2" / "result.json")
                      .read_text())["git_commit"] == "abc123"
    readme = (docs / "degradation" / "README.md").read_text()
    assert "`r3f-evidence --only degradation`" in readme and "1 runs" in readme and "2.0 h" in readme
    assert "| r3f - std | +1.0 [+1.0, +1.0]* (n=3) | +1.0 [+1.0, +1.0]* (n=3) |" in readme
    assert not (docs / "degradation.tmp").exists()


def test_a_finished_glue_experiment_is_published_with_table_and_plot(tmp_path):
    out, docs = tmp_path / "runs", tmp_path / "docs"
    for seed in (1, 2):
        write_result(out / "glue", "RTE", "std", seed, 60.0 + seed)
        write_result(out / "glue", "RTE", "r3f", seed, 62.0 + seed)
    evidence.publish("glue", str(out), str(docs), "r3f-evidence --only glue")
    assert "| r3f - std | +2.0 [+2.0, +2.0]* (n=2) |" in (docs / "glue" / "table.md").read_text()
    assert (docs / "glue" / "plot.png").stat().st_size > 1000
    assert len(list((docs / "glue" / "runs").rglob("result.json"))) == 4


def test_table2_plot_shows_each_task(tmp_path):
    for seed, value in ((1, 60.0), (2, 64.0)):
        write_result(tmp_path, "RTE", "std", seed, value)
        write_result(tmp_path, "CoLA", "r4f", seed, value - 20, metric="mcc")
    table2.main(["--runs", str(tmp_path), "--png", str(tmp_path / "t.png")])
    assert (tmp_path / "t.png").stat().st_size > 1000


def test_the_pool_publishes_an_experiment_when_its_last_unit_finishes(tmp_path, monkeypatch, capsys):
    """An experiment is published once, after its last unit, with every chain's records saved."""
    out = tmp_path / "runs"
    p = evidence.degradation(str(out))
    chains = [evidence.Unit("degradation", f"{m} seed 1", fake_chain, (p, m, 1), False, str(tmp_path / m), 8,
                            probing=p) for m in ("std", "r3f")]
    glue = [evidence.Unit("glue", "RTE std seed 1", lambda r, on_change: {"task": "RTE"}, ("run", "stop"), False,
                          str(tmp_path / "glue"), 1)]
    monkeypatch.setattr(evidence, "plan", lambda out_dir, only, on_change: chains + glue)
    monkeypatch.setattr(evidence, "prepare", lambda out_dir, only: None)
    published = []

    def publish(experiment, out_dir, docs, command):
        saved = json.loads((out / "probing" / "degradation" / "probes.json").read_text())
        published.append((experiment, sorted(r["method"] for r in saved), command))
        return f"{docs}/{experiment}"

    monkeypatch.setattr(evidence, "publish", publish)
    docs = tmp_path / "my docs"
    result = evidence.main(["--out-dir", str(out), "--docs", str(docs), "--jobs", "1"])
    command = f"r3f-evidence --out-dir {out} --docs '{docs}' --jobs 1"
    assert published == [("degradation", ["r3f", "std"], command), ("glue", ["r3f", "std"], command)]
    assert set(result) == {"degradation", "glue"}
    assert "(3/3 of the plan" in capsys.readouterr().out


def fake_chain(p, method, seed):
    return [probe_record(method, seed, 1, 80.0)]


def test_glue_runs_are_the_sweeps_docs_evidence_gives():
    """docs/evidence.md: `for task in ...; for method in ...; r3f-glue-sweep "$task" "$method" ...`."""
    from r3f_fairseq.experiments.glue import finetune, sweep

    ((argv, loops),) = documented_commands("glue/sweep.sh")
    assert argv[:2] == ["$task", "$method"]
    documented = []
    for task in loops["task"]:
        for method in loops["method"]:
            args = sweep.parse_args([task, method, *argv[2:]])
            documented += [finetune.run_from(args, seed) for seed in args.seed_list]
    assert sorted(documented, key=repr) == sorted(evidence.glue_runs("runs/evidence"), key=repr)


def test_commit_commits_the_folder_alone_and_only_when_it_changed(tmp_path, monkeypatch, capsys):
    import subprocess

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    git("config", "user.email", "t@t")
    git("config", "user.name", "t")
    (tmp_path / "other.txt").write_text("staged, not ours\n")
    git("add", "other.txt")
    (tmp_path / "docs" / "degradation").mkdir(parents=True)
    (tmp_path / "docs" / "degradation" / "table.md").write_text("| a |\n")
    monkeypatch.chdir(tmp_path)
    evidence.commit("docs/degradation", "evidence: degradation")
    evidence.commit("docs/degradation", "evidence: degradation")
    out = capsys.readouterr().out
    assert "committed docs/degradation" in out and "unchanged since its last commit" in out
    files = subprocess.run(["git", "show", "--name-only", "--format=", "HEAD"], cwd=tmp_path, capture_output=True,
                           text=True).stdout.split()
    assert files == ["docs/degradation/table.md"]
    status = subprocess.run(["git", "status", "--porcelain"], cwd=tmp_path, capture_output=True, text=True).stdout
    assert "A  other.txt" in status, "a file staged by someone else stays staged, uncommitted"


# ---------------------------------------------------------------------------- a fresh clone resumes

def test_each_finished_unit_is_saved_and_a_fresh_clone_resumes_from_what_was_saved(tmp_path, monkeypatch):
    """The pool saves a unit's runs to DOCS/<experiment>/ as it finishes; another --out-dir (a fresh
    clone: runs/ is not in git) gets them back when it starts, and its plan counts them finished."""
    out, docs = tmp_path / "runs", tmp_path / "docs"
    p = evidence.degradation(str(out))
    runs_of_glue = evidence.glue_runs(str(out))[:2]

    def chain(p, method, seed):
        result = os.path.join(p.out_dir, p.experiment, method, f"seed{seed}", "probe_stage1_SST-2", "result.json")
        files.write_json(result, {"walltime_s": 60.0, "complete": True})
        return [probe_record(method, seed, 1, 80.0)]

    def glue_run(r, on_change):
        write_result(out / "glue", r.task, r.method, r.seed, 70.0, metric="f1")
        return {}

    units = [evidence.Unit("degradation", "std seed 1", chain, (p, "std", 1), False,
                           str(out / "probing" / "degradation" / "std" / "seed1"), 8, probing=p)]
    units += [evidence.Unit("glue", f"MRPC {r.method} seed 1", glue_run, (r, "stop"), False, r.dir, 1)
              for r in runs_of_glue]
    units.append(evidence.Unit("glue", "MRPC r4f seed 1", interrupted, (None, "stop"), False,
                               str(out / "glue" / "minilm-cpu" / "MRPC" / "r4f" / "seed1"), 1))
    units.append(evidence.Unit("degradation", "r3f seed 1", chain, (p, "r3f", 1), False, str(out / "y"), 8,
                               probing=p))
    monkeypatch.setattr(evidence, "plan", lambda out_dir, only, on_change: units)
    monkeypatch.setattr(evidence, "prepare", lambda out_dir, only: None)
    with pytest.raises(KeyboardInterrupt):  # the session ends during the fourth unit
        evidence.main(["--out-dir", str(out), "--docs", str(docs), "--jobs", "1"])
    saved = sorted(str(f.relative_to(docs)) for f in docs.rglob("*") if f.is_file())
    assert saved == ["degradation/README.md", "degradation/probes.json",
                     "degradation/runs/std/seed1/probe_stage1_SST-2/result.json",
                     "glue/README.md", "glue/runs/minilm-cpu/MRPC/r3f/seed1/result.json",
                     "glue/runs/minilm-cpu/MRPC/std/seed1/result.json"]
    assert (docs / "glue" / "README.md").read_text().startswith("# glue: unfinished, 2 of 3 runs finished")
    assert (docs / "degradation" / "README.md").read_text().startswith("# degradation: unfinished, 1 of 2 chains")
    assert "copies them back" in (docs / "degradation" / "README.md").read_text()

    assert evidence.save_progress(units[1], str(out), str(docs), 2, 3, "again") is None, "saved already"
    write_result(out / "glue", "MRPC", "r4f", 1, 71.0, metric="f1")
    (docs / "glue" / "table.md").write_text("published\n")
    assert evidence.save_progress(units[3], str(out), str(docs), 3, 3, "again") is None, "published: left alone"
    assert not (docs / "glue" / "runs" / "minilm-cpu" / "MRPC" / "r4f").exists()
    (docs / "glue" / "table.md").unlink()

    monkeypatch.undo()
    fresh = tmp_path / "fresh clone" / "runs"
    both = ["degradation", "glue"]
    assert evidence.restore(evidence.plan(str(fresh), both), str(fresh), str(docs)) == {"degradation": 1, "glue": 2}
    mine = fresh / "glue" / "minilm-cpu" / "MRPC" / "std" / "seed1" / "result.json"
    assert json.loads(mine.read_text()) == json.loads((out / "glue" / mine.relative_to(fresh / "glue")).read_text())
    mine.write_text('{"this clone": 1}')
    assert evidence.restore(evidence.plan(str(fresh), both), str(fresh), str(docs)) == {}
    assert mine.read_text() == '{"this clone": 1}', "what is there already is not overwritten"
    planned = evidence.plan(str(fresh), both)
    assert [u.label for u in planned if u.done] == ["std seed 1", "MRPC std seed 1", "MRPC r3f seed 1"]
    assert [r["method"] for r in json.loads((fresh / "probing" / "degradation" / "probes.json").read_text())] \
        == ["std"]


def interrupted(r, on_change):
    raise KeyboardInterrupt


def test_a_chain_is_restored_whole_or_not_at_all(tmp_path):
    """A chain whose out_dir holds some of its runs keeps them and its own records; nothing saved elsewhere
    is mixed in (its later stages were trained from another execution's checkpoints)."""
    out, docs = tmp_path / "runs", tmp_path / "docs"
    files.write_json(str(docs / "degradation" / "probes.json"),
                     [probe_record("std", 1, 1, 80.0), probe_record("r3f", 1, 1, 81.0)])
    for method in ("std", "r3f"):
        for stage in ("stage1_SST-2", "stage2_QNLI"):
            files.write_json(str(docs / "degradation" / "runs" / method / "seed1" / stage / "result.json"),
                             {"saved": 1})
    p = evidence.degradation(str(out))
    probing.save_records(p, [probe_record("std", 1, 1, 79.0)])
    files.write_json(os.path.join(p.out_dir, "degradation", "std", "seed1", "stage1_SST-2", "result.json"), {"mine": 1})
    assert evidence.restore(evidence.plan(str(out), ["degradation"]), str(out), str(docs)) == {"degradation": 2}
    assert not os.path.exists(os.path.join(p.out_dir, "degradation", "std", "seed1", "stage2_QNLI"))
    assert os.path.isfile(os.path.join(p.out_dir, "degradation", "r3f", "seed1", "stage2_QNLI", "result.json"))
    assert sorted((r["method"], r["value"]) for r in json.loads(open(p.probes_json).read())) == \
        [("r3f", 81.0), ("std", 79.0)]


def test_an_experiment_published_as_it_is_is_not_published_again(tmp_path, capsys):
    out, docs = tmp_path / "runs", tmp_path / "docs"
    for seed in (1, 2):
        write_result(out / "glue", "RTE", "std", seed, 60.0 + seed)
        write_result(out / "glue", "RTE", "r3f", seed, 62.0 + seed)
    evidence.publish("glue", str(out), str(docs), "r3f-evidence")
    readme = docs / "glue" / "README.md"
    readme.write_text(readme.read_text() + "a reading added by hand\n")
    evidence.publish("glue", str(out), str(docs), "r3f-evidence")
    assert "published as it is already" in capsys.readouterr().out
    assert readme.read_text().endswith("a reading added by hand\n")
    result = out / "glue" / "minilm-cpu" / "RTE" / "std" / "seed2" / "result.json"
    result.write_text(json.dumps({**json.loads(result.read_text()), "git_commit": "abc"}))  # not in the tables
    evidence.publish("glue", str(out), str(docs), "r3f-evidence")
    assert "a reading added by hand" not in readme.read_text(), "a run's result changed: published again"
    assert json.loads((docs / "glue" / "runs" / result.relative_to(out / "glue")).read_text())["git_commit"] == "abc"
    readme.write_text("by hand\n")
    write_result(out / "glue", "RTE", "r3f", 3, 70.0)
    evidence.publish("glue", str(out), str(docs), "r3f-evidence")
    assert readme.read_text() != "by hand\n", "a new run: published again"


def test_a_run_finished_by_an_earlier_invocation_but_never_saved_is_saved(tmp_path, monkeypatch):
    """An earlier runner (stopped, or older than the saving) left a finished run in --out-dir only."""
    out, docs = tmp_path / "runs", tmp_path / "docs"
    first, second = evidence.glue_runs(str(out))[:2]
    write_result(out / "glue", first.task, first.method, first.seed, 70.0, metric="f1")
    third = evidence.glue_runs(str(out))[2]
    write_result(out / "glue", third.task, third.method, third.seed, 71.0, metric="f1")
    units = [evidence.Unit("glue", "MRPC std seed 1", lambda r, on_change: {}, (first, "stop"), True, first.dir, 1),
             evidence.Unit("glue", "MRPC r3f seed 1", interrupted, (second, "stop"), False, second.dir, 1),
             evidence.Unit("glue", "MRPC r4f seed 1", lambda r, on_change: {}, (third, "stop"), True, third.dir, 1)]
    monkeypatch.setattr(evidence, "plan", lambda out_dir, only, on_change: units)
    monkeypatch.setattr(evidence, "prepare", lambda out_dir, only: None)
    with pytest.raises(KeyboardInterrupt):
        evidence.main(["--out-dir", str(out), "--docs", str(docs), "--jobs", "1", "--only", "glue"])
    assert (docs / "glue" / "runs" / "minilm-cpu" / "MRPC" / "std" / "seed1" / "result.json").is_file()
    assert (docs / "glue" / "README.md").read_text().startswith("# glue: unfinished, 2 of 3 runs finished"), \
        "the count includes a finished run the pool has not handed back yet"


def test_status_counts_the_runs_a_fresh_clone_gets_back(tmp_path, capsys):
    docs = tmp_path / "docs"
    write_result(docs / "glue" / "runs", "MRPC", "std", 1, 80.0, metric="f1")
    evidence.main(["--out-dir", str(tmp_path / "runs"), "--docs", str(docs), "--only", "glue", "--status"])
    out = capsys.readouterr().out
    assert "[evidence] glue: 1 finished runs copied from" in out
    assert "glue: 1/60 runs finished (1/60 fairseq-train runs, 0.0 h); next: MRPC r3f seed 1" in out


def test_hours_starts_no_run_that_would_not_finish_in_time(tmp_path, monkeypatch, capsys):
    """--hours: a run is not started when the finished runs of its task and method (else the longest of its
    task) say it would not finish in the time left (an unfinished GLUE run is discarded); one with
    nothing to go by is started, as is everything done."""
    import time as real_time
    from types import SimpleNamespace

    now = [0.0]
    monkeypatch.setattr(evidence, "time", SimpleNamespace(time=lambda: now[0], strftime=real_time.strftime,
                                                          gmtime=real_time.gmtime))
    monkeypatch.setattr(evidence, "prepare", lambda out_dir, only: None)
    seconds = {"std": 100.0, "r3f": 160.0}

    def finish(out, r):
        write_result(out / "glue", r.task, r.method, r.seed, 80.0)
        result = os.path.join(r.dir, "result.json")
        files.write_json(result, {**files.read_json(result), "walltime_s": seconds[r.method]})

    def run_all(out, hours=None):
        started = []

        def run(r, on_change):
            if not os.path.exists(os.path.join(r.dir, "result.json")):  # else: reused
                started.append(f"{r.task} {r.method} seed {r.seed}")
                now[0] += seconds[r.method]
                finish(out, r)
            return {}

        glue = evidence.glue_runs(str(out))
        finish(out, glue[0])
        units = [evidence.Unit("glue", f"{r.task} {r.method} seed {r.seed}", run, (r, "stop"), r is glue[0], r.dir, 1)
                 for r in (glue[0], glue[12], glue[1], glue[13], glue[24], glue[3])]
        # MRPC std 1 (done), std 2, r3f 1, r3f 2, std 3; STS-B std 1
        monkeypatch.setattr(evidence, "plan", lambda out_dir, only, on_change: units)
        now[0] = 0.0
        evidence.main(["--out-dir", str(out), "--docs", str(out / "docs"), "--jobs", "1", "--only", "glue"]
                      + (["--hours", str(hours)] if hours else []))
        return started

    # r3f 1 goes by std's 100 s (ends at 260 s); then r3f 2 by r3f 1's 160 s: it would end at 420 s
    assert run_all(tmp_path / "a", hours=380 / 3600) == ["MRPC std seed 2", "MRPC r3f seed 1", "MRPC std seed 3",
                                                         "STS-B std seed 1"]
    assert "1 chains or runs not started" in capsys.readouterr().out
    assert run_all(tmp_path / "b", hours=90 / 3600) == ["STS-B std seed 1"], "std 1's 100 s: no MRPC run fits"
    assert "4 chains or runs not started" in capsys.readouterr().out
    assert run_all(tmp_path / "c") == ["MRPC std seed 2", "MRPC r3f seed 1", "MRPC r3f seed 2", "MRPC std seed 3",
                                       "STS-B std seed 1"]
    assert "not started" not in capsys.readouterr().out
    with pytest.raises(SystemExit):
        evidence.main(["--hours", "0"])
    assert "--hours must be a positive number; got 0.0" in capsys.readouterr().err
