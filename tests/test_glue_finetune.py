"""GLUE runs: recipes -> fairseq-train commands, profiles, a real MiniLM sweep, Table 2, the shipped YAML."""

import json
import pathlib
import subprocess
import sys

import pytest

from r3f_fairseq.errors import UserError
from r3f_fairseq.experiments import tables
from r3f_fairseq.experiments.glue import finetune, inputs, sweep, table2
from r3f_fairseq.experiments.glue.finetune import GlueRun
from r3f_fairseq.experiments.glue.inputs import Paths
from r3f_fairseq.experiments.glue.recipes import (MINILM_CPU_PROFILE, PROFILES, ROBERTA_LARGE,
                                                  ROBERTA_LARGE_PROFILE)

REPO = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture
def converted(tmp_path):
    """A stand-in for a converted model: its fairseq_args.txt is all a command needs."""
    model = tmp_path / "models" / "all-MiniLM-L6-v2"
    model.mkdir(parents=True)
    (model / "fairseq_args.txt").write_text("--arch roberta_bert --encoder-layers 6\n")
    (model / "model.pt").write_bytes(b"")
    return model / "model.pt"


def command(tmp_path, task, method, seed=1, profile=MINILM_CPU_PROFILE, pretrained=None, **run):
    r = GlueRun(task, method, seed, profile, Paths(out_dir=str(tmp_path)), **run)
    return finetune.command(r, f"{task}-bin", str(pretrained) if pretrained else None)


def flag(command, name):
    return command[command.index(name) + 1]


def test_each_task_gets_its_own_metric_and_head(tmp_path, converted):
    cola = command(tmp_path, "CoLA", "r3f", 3, pretrained=converted)
    assert "--report-mcc" in cola and flag(cola, "--best-checkpoint-metric") == "mcc"
    assert flag(cola, "--seed") == "3" and flag(cola, "--criterion") == "sentence_prediction_r3f"
    stsb = command(tmp_path, "STS-B", "r4f", pretrained=converted)
    assert "--regression-target" in stsb and flag(stsb, "--num-classes") == "1"
    assert flag(stsb, "--best-checkpoint-metric") == "pearson" and flag(stsb, "--task") == "sentence_prediction_r4f"
    mrpc = command(tmp_path, "MRPC", "std", pretrained=converted, save=False, extra=("--fp16",))
    assert "--report-acc-and-f1" in mrpc and mrpc[-1] == "--fp16" and "--no-save" in mrpc
    assert flag(mrpc, "--criterion") == "sentence_prediction"
    assert "--separator-token" not in mrpc  # BERT layout for the converted MiniLM
    assert mrpc[mrpc.index("--cpu") - 4:mrpc.index("--cpu")] == ["--arch", "roberta_bert", "--encoder-layers", "6"]


def test_pretrained_weights_come_in_through_finetune_from_model_so_that_a_rerun_resumes(tmp_path, converted):
    cmd = command(tmp_path, "RTE", "std", pretrained=converted)
    assert flag(cmd, "--finetune-from-model") == str(converted)
    assert not any(w.startswith("--reset-") or w == "--restore-file" for w in cmd)
    assert "--no-last-checkpoints" not in cmd  # checkpoint_last.pt is what fairseq resumes from


def test_roberta_large_profile_uses_fairseqs_published_settings_on_one_gpu(tmp_path):
    rte = command(tmp_path, "RTE", "r3f", profile=ROBERTA_LARGE_PROFILE, pretrained="roberta.large/model.pt")
    assert (flag(rte, "--lr"), flag(rte, "--batch-size"), flag(rte, "--total-num-update"),
            flag(rte, "--warmup-updates")) == ("2e-05", "16", "2036", "122")
    assert flag(rte, "--arch") == "roberta_large" and flag(rte, "--separator-token") == "2" and "--fp16" in rte
    # fairseq would use every visible GPU: the world size is pinned to the recipe's one GPU
    assert (flag(rte, "--distributed-world-size"), flag(rte, "--update-freq")) == ("1", "1")
    assert [flag(rte, f) for f in ("--eps", "--noise-type", "--r3f-lambda")] == ["1e-5", "uniform", "0.7"]
    with pytest.raises(UserError, match="--gpus 8: the recipe's global batch is 1 GPU"):
        command(tmp_path, "RTE", "r3f", profile=ROBERTA_LARGE_PROFILE, pretrained="x.pt", gpus=8)
    assert PROFILES["roberta-large"].recipes["MNLI"].total_updates == 123873


def test_a_profile_that_needs_weights_says_where_to_get_them(tmp_path):
    with pytest.raises(UserError, match="--pretrained is required for --profile roberta-large: .*roberta.large"):
        inputs.pretrained_model(ROBERTA_LARGE_PROFILE, None, Paths(out_dir=str(tmp_path)))


def test_shipped_rte_yaml_states_the_python_recipe():
    """One source of truth: the shipped rte_r4f.yaml is the roberta-large RTE recipe with R4F."""
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(REPO / "r3f_fairseq" / "configs" / "glue" / "rte_r4f.yaml")
    recipe = ROBERTA_LARGE["RTE"]
    r4f = command(pathlib.Path("/tmp"), "RTE", "r4f", profile=ROBERTA_LARGE_PROFILE, pretrained="x.pt")
    yaml = {"--task": cfg.task._name, "--criterion": cfg.criterion._name, "--num-classes": cfg.task.num_classes,
            "--lr": cfg.optimization.lr[0], "--batch-size": cfg.dataset.batch_size,
            "--max-update": cfg.optimization.max_update, "--warmup-updates": cfg.lr_scheduler.warmup_updates,
            "--max-epoch": cfg.optimization.max_epoch, "--max-tokens": cfg.dataset.max_tokens,
            "--distributed-world-size": cfg.distributed_training.distributed_world_size,
            "--eps": cfg.criterion.eps, "--r3f-lambda": cfg.criterion.r3f_lambda,
            "--noise-type": cfg.criterion.noise_type, "--weight-decay": cfg.optimizer.weight_decay,
            "--adam-eps": cfg.optimizer.adam_eps, "--clip-norm": cfg.optimization.clip_norm,
            "--dropout": cfg.model.dropout, "--fp16-init-scale": cfg.common.fp16_init_scale}
    for name, value in yaml.items():
        ours = flag(r4f, name)
        assert (float(ours) == float(value)) if isinstance(value, (int, float)) else ours == value, name
    assert cfg.model._name == flag(r4f, "--arch") and cfg.common.fp16 and recipe.lr == 2e-5


@pytest.mark.parametrize("argv, message", [
    (["RTF", "std", "1"], "unknown GLUE task 'RTF'"),
    (["RTE", "std", "1", "--updates", "0"], "--updates must be > 0"),
    (["RTE", "std", "1", "--validations", "0"], "--validations must be > 0"),
    (["RTE", "std", "1", "--profile", "roberta-large"], "--pretrained is required for --profile roberta-large"),
    (["RTE", "std", "1", "--bin-dir", "/nonexistent"], "--bin-dir /nonexistent: no input0/"),
    (["RTE", "std", "1", "--pretrained", "/nonexistent.pt"], "--pretrained /nonexistent.pt: no such file"),
    (["RTE", "std", "1", "--", "--lr", "1e-3"], "-- --lr: pass --lr (before --) so that result.json records it"),
    (["RTE", "std", "1", "--", "--max-update", "9"], "-- --max-update: pass --updates"),
])
def test_bad_input_is_one_line_naming_the_flag(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        finetune.main([*argv[:3], "--dry-run", "--out-dir", str(tmp_path), *argv[3:]])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.startswith("error: ") and message in err and len(err.splitlines()) == 1


def test_a_cli_user_error_is_one_line_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "r3f_fairseq.experiments.glue.finetune", "RTF", "std", "1",
                           "--dry-run", "--out-dir", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 2 and "error: TASK: unknown GLUE task 'RTF'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_sweep_runs_one_seed_per_job_array_task(monkeypatch):
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "7")
    args = sweep.parse_args(["RTE", "r3f", "--seed-from-env", "SLURM_ARRAY_TASK_ID", "--updates", "3"])
    assert args.seed_list == [7]
    assert sweep.parse_args(["RTE", "r3f", "--seeds", "3", "--first-seed", "4"]).seed_list == [4, 5, 6]
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "")
    with pytest.raises(UserError, match="--seed-from-env SLURM_ARRAY_TASK_ID: the variable holds ''"):
        sweep.parse_args(["RTE", "r3f", "--seed-from-env", "SLURM_ARRAY_TASK_ID"])


@pytest.mark.slow
def test_real_minilm_sweep_then_table(shared_data, tmp_path, capsys):
    """Two seeds of a 3-update MiniLM fine-tune on real RTE, side by side (--jobs 2), then Table 2."""
    out = tmp_path / "runs"
    argv = ["RTE", "r3f", "--jobs", "1", "--seeds", "2", "--updates", "3", "--out-dir", str(out),
            "--glue-dir", str(shared_data / "glue")]
    sweep.main([*argv, "--jobs", "2"])  # the last --jobs counts
    results = [json.loads((out / "minilm-cpu" / "RTE" / "r3f" / f"seed{s}" / "result.json").read_text())
               for s in (1, 2)]
    for r in results:
        assert r["metric"] == "accuracy" and 0 <= r["best"]["accuracy"] <= 100
        assert r["command"].startswith("fairseq-train ") and r["lr"] == 3e-5 and r["updates"] == 3
        assert r["walltime_s"] > 0 and len(r["validations"]) >= 3 and r["complete"]
        assert r["versions"]["torch"] and r["versions"]["fairseq"] and 40 < r["majority"]["accuracy"] < 60
    capsys.readouterr()
    sweep.main(argv)
    assert capsys.readouterr().out.count("done already") == 2
    with pytest.raises(SystemExit):  # another budget: stops, naming what differs
        sweep.main([*argv[:-4], "--updates", "4", *argv[-4:]])
    assert "--max-update 3 (now 4)" in capsys.readouterr().err
    table = table2.main(["--runs", str(out), "--csv", str(tmp_path / "t.csv")])
    accs = sorted(r["best"]["accuracy"] for r in results)
    assert f"| r3f | {tables.cell(accs, best=True)} |" in table and f"best {accs[1]:.1f} (n=2)" in table
    assert "RTE,r3f,accuracy,2," in (tmp_path / "t.csv").read_text()


def test_table_names_a_broken_result_file(tmp_path):
    bad = tmp_path / "minilm-cpu" / "RTE" / "std" / "seed1"
    bad.mkdir(parents=True)
    (bad / "result.json").write_text("{")
    with pytest.raises(UserError, match="seed1/result.json: not valid JSON"):
        table2.load_results(str(tmp_path), "minilm-cpu")
    (bad / "result.json").write_text(json.dumps({"task": "RTE", "method": "std", "seed": 1, "metric": "accuracy",
                                                 "best": {"accuracy": None}, "walltime_s": 1}))
    with pytest.raises(UserError, match="seed1/result.json: best.accuracy is None, not a number"):
        table2.load_results(str(tmp_path), "minilm-cpu")


def test_table_takes_median_and_best_of_each_tasks_own_metric():
    def result(task, method, seed, metric, best):
        return {"task": task, "method": method, "seed": seed, "metric": metric, "best": best, "walltime_s": 10.0 * seed}

    results = [result("MRPC", "r3f", s, "f1", {"f1": f1, "accuracy": acc})
               for s, f1, acc in ((1, 80.0, 70.0), (2, 90.0, 75.0), (3, 85.0, 80.0))]
    results.append(result("CoLA", "std", 1, "mcc", {"mcc": 40.0, "accuracy": 75.0}))
    summary = table2.summarise(results)
    assert summary[("MRPC", "r3f")]["median"] == 85.0 and summary[("MRPC", "r3f")]["best"] == 90.0
    table = table2.markdown(summary)
    assert table.splitlines()[0] == "| method | CoLA (MCC) | MRPC (F1) |"
    assert "| r3f | - | 85.0 ± 5.0, median 85.0, best 90.0 (n=3) |" in table and "| std | 40.0 (n=1) | - |" in table
    assert "| MRPC | r3f | F1 85.0, Acc 75.0 |" in table  # medians of each metric
    assert "| r3f | - | 20 s |" in table


def test_a_fine_tuned_checkpoint_takes_its_architecture_and_vocabulary_from_the_converted_model(tmp_path, converted):
    """--pretrained beside a converted model's files uses them; a checkpoint of an
    earlier run (no fairseq_args.txt beside it) uses the converted MiniLM in --models-dir."""
    other = tmp_path / "other-converted"
    other.mkdir()
    (other / "fairseq_args.txt").write_text("--arch roberta_bert --encoder-layers 2\n")
    stage = tmp_path / "stage1"
    stage.mkdir()
    paths = Paths(out_dir=str(tmp_path))
    assert inputs.converted_model_files(str(other / "model.pt"), paths) == str(other)
    assert inputs.model_flags(MINILM_CPU_PROFILE, str(other / "model.pt"), paths) == [
        "--arch", "roberta_bert", "--encoder-layers", "2", "--cpu"]
    assert inputs.converted_model_files(str(stage / "checkpoint_best.pt"), paths) == str(converted.parent)
    assert inputs.model_flags(MINILM_CPU_PROFILE, str(stage / "checkpoint_best.pt"), paths)[:4] == [
        "--arch", "roberta_bert", "--encoder-layers", "6"]


@pytest.mark.parametrize("validations, interval", [(5, 160), (1, 800)])
def test_validations_and_checkpoints_share_one_schedule(tmp_path, converted, validations, interval):
    cmd = command(tmp_path, "RTE", "std", pretrained=converted, validations=validations)
    assert flag(cmd, "--max-update") == "800"
    assert flag(cmd, "--validate-interval-updates") == flag(cmd, "--save-interval-updates") == str(interval)
