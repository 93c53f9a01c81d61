"""Runs you can trust (issue 17): the best checkpoint is the best, nothing half-done counts as done,
a run folder has one writer, a killed run leaves no orphan and resumes to the same result."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile

import pytest

from r3f_fairseq.errors import UserError
from r3f_fairseq.experiments import files, runs
from r3f_fairseq.experiments.fairseq_process import Progress
from r3f_fairseq.experiments.glue import finetune
from r3f_fairseq.experiments.glue.finetune import GlueRun
from r3f_fairseq.experiments.glue.inputs import Paths
from r3f_fairseq.experiments.glue.recipes import TINY_CPU_PROFILE
from tests.helpers import USER_DIR, json_logs, run_cli


def fingerprint(tmp_path, updates=3, data=b"abc"):
    data_dir = tmp_path / "data"
    (data_dir / "input0").mkdir(parents=True, exist_ok=True)
    (data_dir / "input0" / "train.bin").write_bytes(data)
    return runs.fingerprint([str(data_dir), "--seed", "1", "--max-update", str(updates), "--fp16"], str(data_dir))


def finished_run(run_dir, made, **extra):
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "train.log").write_text("$ fairseq-train ...\nthe first run\n")
    (run_dir / "checkpoint_best.pt").write_bytes(b"old")
    result = {"fingerprint": made, "best": {"accuracy": 60.0}, "validations": [], "walltime_s": 1.0,
              "complete": True, **extra}
    files.write_json(str(run_dir / "result.json"), result)
    return result


# ---------------------------------------------------------------------------- "already done?"

def test_a_finished_run_is_reused_only_with_the_same_command_and_data(tmp_path):
    run_dir = tmp_path / "run"
    assert runs.finished(str(run_dir), fingerprint(tmp_path)) is None  # nothing there: run it
    old = finished_run(run_dir, fingerprint(tmp_path))
    assert runs.finished(str(run_dir), fingerprint(tmp_path)) == old
    with pytest.raises(UserError, match=r"holds a finished run made with other settings: --max-update 3 \(now 4\); "
                                        r"pass --rerun .* --keep"):
        runs.finished(str(run_dir), fingerprint(tmp_path, updates=4))
    with pytest.raises(UserError, match=r"data files input0/train.bin"):
        runs.finished(str(run_dir), fingerprint(tmp_path, data=b"abd"))


def test_two_preparations_of_the_same_data_have_one_digest(rte_bin, shared_data, bpe_dir, tmp_path):
    """A fresh clone prepares the data again: its runs must match the results saved from another clone
    (fairseq-preprocess's log, which names a temporary folder, is not data)."""
    from r3f_fairseq.data.prepare_glue import prepare_task

    again = prepare_task("RTE", str(shared_data / "glue"), bpe_dir, str(tmp_path), workers=1, limit=64)
    logs = [open(os.path.join(d, "input0", "preprocess.log")).read() for d in (rte_bin, again)]
    assert logs[0] != logs[1], "the logs differ: that is why they are left out"
    assert runs.data_digest(again) == runs.data_digest(rte_bin)
    assert "input0/train.bin" in runs.data_digest(again) and "input0/preprocess.log" not in runs.data_digest(again)


def test_a_result_whose_fingerprint_digested_the_preprocess_log_is_reused(tmp_path):
    run_dir, wanted = tmp_path / "run", fingerprint(tmp_path)
    old = finished_run(run_dir, dict(wanted, data={**wanted["data"], "input0/preprocess.log": "0" * 64}))
    assert runs.finished(str(run_dir), wanted) == old
    finished_run(run_dir, dict(wanted, data={**wanted["data"], "input0/train.bin": "0" * 64}))
    with pytest.raises(UserError, match=r"data files input0/train.bin"):
        runs.finished(str(run_dir), wanted)


def test_extra_flags_count_as_settings(tmp_path):
    made = fingerprint(tmp_path)
    finished_run(tmp_path / "run", made)
    wanted = dict(made, command=[*made["command"], "--r3f-lambda", "5"])
    with pytest.raises(UserError, match=r"--r3f-lambda absent \(now 5\)"):
        runs.finished(str(tmp_path / "run"), wanted)


def test_keep_reuses_and_rerun_archives_the_old_log_and_result(tmp_path):
    run_dir = tmp_path / "run"
    old = finished_run(run_dir, fingerprint(tmp_path))
    assert runs.finished(str(run_dir), fingerprint(tmp_path, updates=4), "keep") == old
    assert runs.finished(str(run_dir), fingerprint(tmp_path, updates=4), "rerun") is None
    assert (run_dir / "train.log.1").read_text().endswith("the first run\n"), "a finished run's log was lost"
    assert json.loads((run_dir / "result.json.1").read_text()) == old
    assert not (run_dir / "result.json").exists() and not (run_dir / "checkpoint_best.pt").exists()


@pytest.mark.parametrize("content", ['{"fingerprint": {}, "best"', "", '{"best": {}}'])
def test_a_truncated_or_incomplete_result_is_not_done(tmp_path, content):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "result.json").write_text(content)
    assert runs.finished(str(run_dir), fingerprint(tmp_path)) is None
    assert (run_dir / "result.json.1").read_text() == content and not (run_dir / "result.json").exists()


def test_an_interrupted_run_with_the_same_settings_keeps_its_checkpoint_to_resume(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    files.write_json(str(run_dir / "settings.json"), fingerprint(tmp_path))
    _checkpoint(run_dir / "checkpoint_last.pt", "last")
    assert runs.finished(str(run_dir), fingerprint(tmp_path)) is None
    assert (run_dir / "checkpoint_last.pt").is_file()
    with pytest.raises(UserError, match="holds an interrupted run made with other settings: --max-update 3"):
        runs.finished(str(run_dir), fingerprint(tmp_path, updates=9))


def _checkpoint(path, content: str, mtime: float = 1e9):
    """A stand-in for a torch.save file: a zip archive, as torch.save writes."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", content)
    os.utime(path, (mtime, mtime))


def test_a_checkpoint_last_torn_while_fairseq_copied_it_is_restored_from_its_complete_source(tmp_path, capsys):
    # fairseq saves checkpoint_1_60.pt atomically, then copies it to checkpoint_best.pt and
    # checkpoint_last.pt in place: a kill during the last copy leaves a truncated file
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    files.write_json(str(run_dir / "settings.json"), fingerprint(tmp_path))
    _checkpoint(run_dir / "checkpoint_1_40.pt", "update 40", mtime=1e9)
    _checkpoint(run_dir / "checkpoint_1_60.pt", "update 60", mtime=1e9 + 100)
    _checkpoint(run_dir / "checkpoint_best.pt", "update 40", mtime=1e9 + 1)
    complete = (run_dir / "checkpoint_1_60.pt").read_bytes()
    (run_dir / "checkpoint_last.pt").write_bytes(complete[:len(complete) // 2])
    assert runs.finished(str(run_dir), fingerprint(tmp_path)) is None
    assert (run_dir / "checkpoint_last.pt").read_bytes() == complete
    assert "restoring it from checkpoint_1_60.pt" in capsys.readouterr().out
    assert not [p for p in os.listdir(run_dir) if p.endswith(".tmp")]


def test_a_torn_checkpoint_last_with_nothing_to_restore_it_from_starts_afresh(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    files.write_json(str(run_dir / "settings.json"), fingerprint(tmp_path))
    (run_dir / "checkpoint_last.pt").write_bytes(b"PK\x03\x04 torn")
    assert runs.finished(str(run_dir), fingerprint(tmp_path)) is None
    assert not (run_dir / "checkpoint_last.pt").exists()


# ---------------------------------------------------------------------------- files

def test_writes_are_atomic_and_a_failed_preparation_leaves_nothing(tmp_path):
    target = tmp_path / "result.json"
    files.write_json(str(target), {"a": 1})
    with pytest.raises(TypeError):
        files.write_json(str(target), {"a": object()})
    assert json.loads(target.read_text()) == {"a": 1} and os.listdir(tmp_path) == ["result.json"]
    with pytest.raises(RuntimeError):
        with files.prepared_dir(str(tmp_path / "RTE-bin")) as partial:
            (tmp_path / partial / "input0").mkdir()
            raise RuntimeError("killed half-way")
    assert sorted(os.listdir(tmp_path)) == ["result.json"], "a half-prepared folder was left behind"
    with files.prepared_dir(str(tmp_path / "RTE-bin")) as partial:
        (tmp_path / partial / "done").write_text("")
    assert (tmp_path / "RTE-bin" / "done").is_file()


def test_a_run_folder_has_one_writer(tmp_path):
    with files.FolderLock(str(tmp_path)):
        with pytest.raises(UserError, match=rf"{tmp_path} is in use by another run \(process {os.getpid()}\)"):
            with files.FolderLock(str(tmp_path)):
                pass
    with files.FolderLock(str(tmp_path)):  # released
        pass


# ---------------------------------------------------------------------------- reading a run

def test_the_best_is_fairseqs_choice_the_last_of_equal_validations():
    records = [{"u": 1, "acc": 50.0}, {"u": 2, "acc": 60.0}, {"u": 3, "acc": 60.0}, {"u": 4, "acc": 55.0}]
    assert runs.best_of(records, "acc")["u"] == 3  # fairseq: a >= best -> checkpoint_best.pt
    assert runs.best_of(records, "acc", maximize=False)["u"] == 1
    assert runs.best_of([{"u": 1, "l": 2.0}, {"u": 2, "l": 2.0}], "l", maximize=False)["u"] == 2


def test_a_resumed_runs_validations_come_from_every_attempt_once(tmp_path):
    def valid(update, acc):
        return f'2026-01-01 00:00:00 | INFO | valid | {{"valid_accuracy": "{acc}", "valid_num_updates": "{update}"}}\n'

    killed = '2026 | INFO | valid | {"valid_acc'  # a line cut short by the kill
    (tmp_path / "train.log").write_text("$ fairseq-train a\n" + valid(5, 50) + valid(10, 55) + killed
                                        + "\n$ fairseq-train a\n" + valid(10, 56) + valid(15, 60))
    assert [(int(r["valid_num_updates"]), r["valid_accuracy"]) for r in runs.validations(str(tmp_path))] == [
        (5, 50.0), (10, 56.0), (15, 60.0)]


def test_progress_shows_elapsed_time_and_eta(capsys):
    progress = Progress("[x]", 100, "accuracy")
    progress.first = (10, progress.start - 9.0)  # 9 s for the first 10 updates after resuming
    progress("train_inner", {"num_updates": 20.0, "loss": 0.5})
    progress("valid", {"valid_accuracy": 61.0, "valid_num_updates": 20.0})
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("[x] update 20/100 loss 0.5 | 0:00:00 elapsed, ETA 0:01:")
    assert out[1].startswith("[x] dev accuracy 61.0 at update 20 (best 61.0)")


@pytest.mark.parametrize("gpus, flags", [(None, ["8", "4"]), (4, ["4", "8"]), (32, ["32", "1"])])
def test_a_paper_scale_recipe_keeps_its_global_batch_on_any_number_of_gpus(gpus, flags):
    out = runs.pinned_world(8, 4, gpus)  # BART on CNN/DM: 8 GPUs x update-freq 4
    assert [out[1], out[3]] == flags and out[0] == "--distributed-world-size" and out[2] == "--update-freq"
    with pytest.raises(UserError, match="--gpus 3: .* divides 32"):
        runs.pinned_world(8, 4, 3)


# ---------------------------------------------------------------------------- real runs (tiny model)

# STS-B: the Pearson correlation moves at every update, so validations differ and a wrong
# checkpoint cannot pass for the best one by a tie. 32 pairs, batch 8: epochs end at updates
# 4, 8, 12; validations every 3 updates. With seed 1 the best validation (update 9) falls
# between epoch ends, where fairseq saves nothing unless told to (the bug this guards against).
def tiny_run(out_dir, stsb_bin, seed=1, pretrained=None):
    return GlueRun("STS-B", "r3f", seed, TINY_CPU_PROFILE, Paths(out_dir=str(out_dir)), updates=12, validations=4,
                   bin_dir=stsb_bin, lr=1e-2, pretrained=pretrained, extra=("--batch-size", "8"))


def validate(checkpoint, data):
    # fairseq-validate evaluates with the task and criterion saved in the checkpoint
    out = run_cli("fairseq-validate", data, "--path", str(checkpoint), "--user-dir", USER_DIR, "--cpu",
                  "--task", "sentence_prediction", "--criterion", "sentence_prediction", "--batch-size", "8",
                  "--log-format", "json")
    (record,) = json_logs(out, "valid")
    return record["valid_pearson"]


@pytest.mark.slow
def test_checkpoint_best_is_the_best_validation_in_result_json(stsb_bin, tmp_path):
    result = finetune.run(tiny_run(tmp_path, stsb_bin))
    values = [v["pearson"] for v in result["validations"]]
    assert len(set(values)) == len(values) > 5, values
    assert result["best_update"] % 4 != 0, "a best at an epoch end proves nothing; change the seed"
    assert result["checkpoint_best"] and os.path.isfile(result["checkpoint_best"])
    assert validate(result["checkpoint_best"], stsb_bin) == result["best"]["pearson"]
    # only the best checkpoint is kept once the run is done (resume files removed: bounded disk)
    assert sorted(p for p in os.listdir(os.path.dirname(result["checkpoint_best"])) if p.endswith(".pt")) == [
        "checkpoint_best.pt"]


def _pids_writing_into(folder: str):
    """Live (not zombie) processes whose command line names ``folder``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if folder.encode() in cmdline and state != "Z":
            found.append(int(pid))
    return found


def _wait_until_gone(pids, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline and pids():
        time.sleep(0.1)
    return pids()


@pytest.mark.slow
@pytest.mark.parametrize("torn", [False, True], ids=["last-checkpoint-whole", "last-checkpoint-torn"])
def test_kill_9_mid_run_kills_fairseq_train_then_the_rerun_resumes_to_the_same_metrics(stsb_bin, tmp_path, torn):
    # fine-tuned from "pretrained" weights (an earlier tiny run), as real runs are: fairseq must
    # resume from checkpoint_last.pt, not start again from --finetune-from-model; "torn": the kill
    # came while fairseq copied checkpoint_last.pt, which must be restored from its complete source
    pretrained = finetune.run(tiny_run(tmp_path / "pretraining", stsb_bin, seed=2))["checkpoint_best"]
    argv = [sys.executable, "-m", "r3f_fairseq.experiments.glue.finetune", "STS-B", "r3f", "1", "--profile",
            "tiny-cpu", "--bin-dir", stsb_bin, "--updates", "12", "--validations", "4", "--lr", "1e-2",
            "--pretrained", pretrained, "--", "--batch-size", "8"]
    reference = finetune.run(tiny_run(tmp_path / "reference", stsb_bin, pretrained=pretrained))

    out = tmp_path / "killed"
    run_dir = out / "tiny-cpu" / "STS-B" / "r3f" / "seed1"
    wrapper = subprocess.Popen([*argv[:3 + 3], "--out-dir", str(out), *argv[6:]], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    log, deadline = run_dir / "train.log", time.time() + 600
    while time.time() < deadline and not re.search(r"Saved checkpoint .*@ 6 updates", log.read_text() if log.exists()
                                                    else ""):
        time.sleep(0.2)
    assert wrapper.poll() is None, "the run ended before it could be killed"
    trainer = [pid for pid in _pids_writing_into(str(run_dir))
               if open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1] == str(wrapper.pid)]
    assert len(trainer) == 1, "no fairseq-train child found"
    os.kill(wrapper.pid, signal.SIGKILL)
    wrapper.wait()
    # the kernel kills fairseq-train at once (an orphan would still be training) ...
    assert not _wait_until_gone(lambda: [p for p in _pids_writing_into(str(run_dir)) if p in trainer], 2), \
        "fairseq-train outlived its killed wrapper"
    # ... and its data-loader workers notice within their 5 s watchdog
    assert not _wait_until_gone(lambda: _pids_writing_into(str(run_dir)), 15)
    assert not (run_dir / "result.json").exists()
    if torn:
        last = run_dir / "checkpoint_last.pt"
        last.write_bytes(last.read_bytes()[:last.stat().st_size // 2])

    subprocess.run([*argv[:6], "--out-dir", str(out), *argv[6:]], check=True, capture_output=True)
    attempts = log.read_text().split("$ fairseq-train ")
    assert len(attempts) == 3, "the killed attempt's log was not kept"
    loaded = re.search(r"Loaded checkpoint \S+checkpoint_last.pt \(epoch \d+ @ (\d+) updates\)", attempts[2])
    assert loaded and int(loaded.group(1)) >= 6, "the rerun started again instead of resuming"
    result = json.loads((run_dir / "result.json").read_text())
    assert result["validations"] == reference["validations"] and result["best"] == reference["best"]
    assert result["attempts"] == 2


@pytest.mark.slow
def test_a_glue_preparation_killed_half_way_leaves_no_bin_directory(shared_data, bpe_dir, tmp_path, monkeypatch):
    from r3f_fairseq.data import prepare_glue

    calls = []
    real = prepare_glue.fairseq_preprocess

    def dies_on_the_labels(destdir, *args, **kwargs):
        calls.append(destdir)
        if destdir.endswith("label"):
            raise KeyboardInterrupt  # killed after input0 and input1 were binarised
        return real(destdir, *args, **kwargs)

    monkeypatch.setattr(prepare_glue, "fairseq_preprocess", dies_on_the_labels)
    with pytest.raises(KeyboardInterrupt):
        prepare_glue.prepare_task("RTE", str(shared_data / "glue"), bpe_dir, str(tmp_path), limit=8)
    assert len(calls) == 3 and not (tmp_path / "RTE-bin").exists()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".RTE-bin")], "the partial folder was left"
    monkeypatch.setattr(prepare_glue, "fairseq_preprocess", real)
    assert prepare_glue.prepare_task("RTE", str(shared_data / "glue"), bpe_dir, str(tmp_path), limit=8) == \
        str(tmp_path / "RTE-bin") and (tmp_path / "RTE-bin" / "label" / "dict.txt").is_file()


def test_walltime_of_earlier_attempts_is_read_from_the_log_timestamps():
    log = ("$ fairseq-train a b\n2026-12-02 01:00:00 | INFO | fairseq_cli.train | start\nnot stamped\n"
           "2026-12-02 01:02:30 | INFO | train_inner | {}\n"  # killed here: 150 s
           "$ fairseq-train a b\nTraceback (no stamp)\n"  # died before logging: 0 s
           "$ fairseq-train a b\n2026-12-02 02:00:00 | INFO | x | y\n2026-12-02 02:00:59 | INFO | x | y\n")
    assert runs.attempt_seconds(log) == [150.0, 0.0, 59.0]
    assert runs.attempt_seconds("") == []


@pytest.mark.parametrize("resuming", [True, False])
def test_walltime_adds_earlier_attempts_only_when_the_run_carries_their_work_on(tmp_path, monkeypatch, resuming):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "train.log").write_text("$ fairseq-train x\n2026-12-02 01:00:00 | INFO | a | b\n"
                                       "2026-12-02 01:01:40 | INFO | a | b\n")  # killed after 100 s
    data = tmp_path / "data"
    data.mkdir()
    files.write_json(str(run_dir / "settings.json"), runs.fingerprint(["x"], str(data)))  # the same run's attempt
    if resuming:
        _checkpoint(run_dir / "checkpoint_last.pt", "last")

    def fairseq_train(tool, args, log, progress):
        with open(log, "a") as f:
            f.write('$ fairseq-train x\n2026-12-02 02:00:00 | INFO | valid | {"valid_num_updates": "4", '
                    '"valid_accuracy": "50.0"}\n')
        return 10.0

    monkeypatch.setattr(runs, "run_tool", fairseq_train)
    monkeypatch.setattr(runs, "provenance", lambda: {})
    training = runs.Training(str(run_dir), ["x"], str(data), {}, "[t]", 4, "accuracy")
    result = runs.train(training, lambda records: {"best": records[-1]})
    assert result["attempts"] == 2 and result["walltime_all_attempts_s"] == 110.0
    assert result["walltime_s"] == (110.0 if resuming else 10.0)
