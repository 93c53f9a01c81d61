"""GLUE fine-tuning scripts: recipes -> fairseq-train commands, a real MiniLM sweep, Table 2."""

import json
import shlex
import subprocess
import sys

import pytest

from r3f_fairseq.cli import glue_finetune, glue_sweep, glue_table
from r3f_fairseq.cli.glue_recipes import PROFILES


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("glue_runs")


def dry_run(capsys, out_dir, shared_data, *argv):
    argv = list(argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    glue_finetune.main([*argv[:cut], "--dry-run", "--out-dir", str(out_dir), "--glue-dir", str(shared_data / "glue"),
                        *argv[cut:]])
    return shlex.split(capsys.readouterr().out.strip().splitlines()[-1])


def flag(command, name):
    return command[command.index(name) + 1]


def test_each_task_gets_its_own_metric_and_head(capsys, out_dir, shared_data):
    cola = dry_run(capsys, out_dir, shared_data, "CoLA", "r3f", "3")
    assert "--report-mcc" in cola and flag(cola, "--best-checkpoint-metric") == "mcc"
    assert flag(cola, "--seed") == "3" and flag(cola, "--criterion") == "sentence_prediction_r3f"
    stsb = dry_run(capsys, out_dir, shared_data, "STS-B", "r4f", "1")
    assert "--regression-target" in stsb and flag(stsb, "--num-classes") == "1"
    assert flag(stsb, "--best-checkpoint-metric") == "pearson" and flag(stsb, "--task") == "sentence_prediction_r4f"
    mrpc = dry_run(capsys, out_dir, shared_data, "MRPC", "std", "1", "--", "--no-save")
    assert "--report-acc-and-f1" in mrpc and mrpc[-1] == "--no-save"
    assert flag(mrpc, "--criterion") == "sentence_prediction"
    assert "--separator-token" not in mrpc  # BERT layout for the converted MiniLM


def test_roberta_large_profile_uses_fairseqs_published_settings(capsys, out_dir, shared_data, bpe_dir, tmp_path):
    pretrained = tmp_path / "model.pt"
    pretrained.write_bytes(b"")
    rte = dry_run(capsys, out_dir, shared_data, "RTE", "r3f", "1", "--profile", "roberta-large",
                  "--pretrained", str(pretrained), "--bpe-dir", bpe_dir)
    assert (flag(rte, "--lr"), flag(rte, "--batch-size"), flag(rte, "--total-num-update"),
            flag(rte, "--warmup-updates")) == ("2e-05", "16", "2036", "122")
    assert flag(rte, "--arch") == "roberta_large" and flag(rte, "--separator-token") == "2" and "--fp16" in rte
    assert PROFILES["roberta-large"].recipes["MNLI"].total_updates == 123873
    # XNLI: train on an MNLI-bin prepared elsewhere (XLM-R's sentencepiece), as it is
    (tmp_path / "MNLI-bin" / "input0").mkdir(parents=True)
    mnli = dry_run(capsys, out_dir, shared_data, "MNLI", "r4f", "2", "--profile", "roberta-large",
                   "--pretrained", str(pretrained), "--bin-dir", str(tmp_path / "MNLI-bin"))
    assert mnli[1] == str(tmp_path / "MNLI-bin") and flag(mnli, "--num-classes") == "3"


@pytest.mark.parametrize("argv, message", [
    (["RTF", "std", "1"], "unknown GLUE task 'RTF'"),
    (["RTE", "sgd", "1"], "invalid choice: 'sgd'"),
    (["RTE", "std", "1", "--updates", "0"], "--updates must be > 0"),
    (["RTE", "std", "1", "--validations", "0"], "--validations must be > 0"),
    (["RTE", "std", "1", "--profile", "roberta-large"], "--pretrained is required for --profile roberta-large"),
    (["RTE", "std", "1", "--bin-dir", "/nonexistent"], "--bin-dir /nonexistent: no input0/"),
])
def test_bad_input_fails_loudly(argv, message, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "r3f_fairseq.cli.glue_finetune", *argv, "--dry-run",
                           "--out-dir", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode != 0 and message in proc.stderr


def test_real_minilm_sweep_then_table(out_dir, shared_data, capsys):
    """Two seeds of a 3-update MiniLM fine-tune on real RTE, then Table 2 from their logs."""
    glue_sweep.main(["RTE", "r3f", "--seeds", "2", "--updates", "3", "--out-dir", str(out_dir),
                     "--glue-dir", str(shared_data / "glue"), "--", "--no-save"])
    results = [json.loads((out_dir / "minilm-cpu" / "RTE" / "r3f" / f"seed{s}" / "result.json").read_text())
               for s in (1, 2)]
    for r in results:
        assert r["metric"] == "accuracy" and 0 <= r["best"]["accuracy"] <= 100
        assert r["command"].startswith("fairseq-train ") and "--seed" in r["command"]
        assert r["walltime_s"] > 0 and len(r["validations"]) >= 3
    glue_sweep.main(["RTE", "r3f", "--seeds", "2", "--updates", "3", "--out-dir", str(out_dir),
                     "--glue-dir", str(shared_data / "glue")])
    assert capsys.readouterr().out.count("done already") == 2
    glue_table.main(["--runs", str(out_dir), "--csv", str(out_dir / "t.csv")])
    table = capsys.readouterr().out
    accs = sorted(r["best"]["accuracy"] for r in results)
    assert f"| r3f | {sum(accs) / 2:.1f} / {accs[1]:.1f} (n=2) |" in table
    assert "RTE,r3f,accuracy,2," in (out_dir / "t.csv").read_text()


def test_table_names_a_broken_result_file(tmp_path):
    bad = tmp_path / "minilm-cpu" / "RTE" / "std" / "seed1"
    bad.mkdir(parents=True)
    (bad / "result.json").write_text("{")
    with pytest.raises(ValueError, match="seed1/result.json: not valid JSON"):
        glue_table.load_results(str(tmp_path), "minilm-cpu")


def test_table_takes_median_and_best_of_each_tasks_own_metric():
    def result(task, method, seed, metric, best):
        return {"task": task, "method": method, "seed": seed, "metric": metric, "best": best, "walltime_s": 10.0 * seed}

    results = [result("MRPC", "r3f", s, "f1", {"f1": f1, "accuracy": acc})
               for s, f1, acc in ((1, 80.0, 70.0), (2, 90.0, 75.0), (3, 85.0, 80.0))]
    results.append(result("CoLA", "std", 1, "mcc", {"mcc": 40.0, "accuracy": 75.0}))
    summary = glue_table.summarise(results)
    assert summary[("MRPC", "r3f")]["median"] == 85.0 and summary[("MRPC", "r3f")]["best"] == 90.0
    table = glue_table.markdown(summary)
    assert table.splitlines()[0] == "| method | CoLA (MCC) | MRPC (F1) |"
    assert "| r3f | - | 85.0 / 90.0 (n=3) |" in table and "| std | 40.0 / 40.0 (n=1) | - |" in table
    assert "| MRPC | r3f | F1 85.0, Acc 75.0 |" in table  # medians of each metric
    assert "| r3f | - | 20 s |" in table


def test_a_fine_tuned_checkpoint_takes_its_architecture_and_vocabulary_from_the_converted_model(tmp_path):
    """--pretrained beside a converted model's files uses them; a checkpoint of an
    earlier run (no fairseq_args.txt beside it) uses the converted MiniLM in --models-dir."""
    import argparse

    profile = PROFILES["minilm-cpu"]
    base = tmp_path / "models" / "all-MiniLM-L6-v2"
    other = tmp_path / "other-converted"
    stage = tmp_path / "stage1"
    for directory, arch in ((base, "--arch roberta_bert --encoder-layers 6"), (other, "--arch roberta_bert --encoder-layers 2")):
        directory.mkdir(parents=True)
        (directory / "fairseq_args.txt").write_text(arch + "\n")
        (directory / "model.pt").write_bytes(b"")
    stage.mkdir()
    (stage / "checkpoint_best.pt").write_bytes(b"")

    def where(pretrained):
        return argparse.Namespace(pretrained=str(pretrained), models_dir=str(tmp_path / "models"))

    assert glue_finetune.converted_model_files(profile, where(other / "model.pt")) == str(other)
    assert glue_finetune.model_flags(profile, where(other / "model.pt")) == [
        "--arch", "roberta_bert", "--encoder-layers", "2", "--cpu"]
    assert glue_finetune.converted_model_files(profile, where(stage / "checkpoint_best.pt")) == str(base)
    assert glue_finetune.architecture_flags(profile, where(stage / "checkpoint_best.pt")) == [
        "--arch", "roberta_bert", "--encoder-layers", "6"]


@pytest.mark.parametrize("validations, interval", [(5, 160), (1, 800)])
def test_validations_spread_evenly_over_the_run(capsys, out_dir, shared_data, validations, interval):
    command = dry_run(capsys, out_dir, shared_data, "RTE", "std", "1", "--validations", str(validations))
    assert flag(command, "--max-update") == "800"
    assert flag(command, "--validate-interval-updates") == str(interval)
