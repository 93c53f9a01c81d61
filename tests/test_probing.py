"""The probing experiments' orchestration (stage order, chaining, resumption) and one real tiny run."""

import json

import pytest

from r3f_fairseq.experiments.probing import run as probing
from r3f_fairseq.experiments.probing import table as probing_table
from tests.helpers import USER_DIR, json_logs, run_cli


class Recorder(probing.Experiment):
    """Experiment with fine-tuning and probing replaced by a log of the calls."""

    def __init__(self, args, method="std", seed=1):
        super().__init__(args, method, seed)
        self.calls = []

    def finetune(self, stage, task, restore):
        self.calls.append(("finetune", stage, task, restore))
        return f"/ckpt/{stage}/checkpoint_best.pt"

    def probe(self, label, task, checkpoint, **where):
        self.calls.append(("probe", task, checkpoint))
        self.records.append({"experiment": self.p.experiment, "method": self.method, "seed": self.seed,
                             "probe_task": task, "metric": "accuracy", "value": 50.0 + len(self.records), **where})


def args_for(experiment, tmp_path, *extra):
    return probing.parse_args([experiment, "--glue-dir", str(tmp_path), "--out-dir", str(tmp_path / "out"), *extra])


def test_degradation_probes_the_first_task_after_every_stage_each_stage_from_the_last(tmp_path):
    e = Recorder(args_for("degradation", tmp_path, "--chain", "SST-2", "QNLI", "RTE"))
    probing.run_chain(e, "/pretrained.pt", cycles=1, probe_each_stage=True)
    assert e.calls == [
        ("finetune", "stage1_SST-2", "SST-2", "/pretrained.pt"), ("probe", "SST-2", "/ckpt/stage1_SST-2/checkpoint_best.pt"),
        ("finetune", "stage2_QNLI", "QNLI", "/ckpt/stage1_SST-2/checkpoint_best.pt"),
        ("probe", "SST-2", "/ckpt/stage2_QNLI/checkpoint_best.pt"),
        ("finetune", "stage3_RTE", "RTE", "/ckpt/stage2_QNLI/checkpoint_best.pt"),
        ("probe", "SST-2", "/ckpt/stage3_RTE/checkpoint_best.pt"),
    ]
    assert "after RTE" in probing_table.markdown(e.records)


def test_retention_probes_a_task_when_it_comes_round_again_before_fine_tuning_on_it(tmp_path):
    e = Recorder(args_for("retention", tmp_path, "--chain", "SST-2", "RTE"))
    probing.run_chain(e, "/pretrained.pt", cycles=2, probe_each_stage=False)
    assert e.calls == [
        ("finetune", "stage1_SST-2", "SST-2", "/pretrained.pt"),
        ("finetune", "stage2_RTE", "RTE", "/ckpt/stage1_SST-2/checkpoint_best.pt"),
        ("probe", "SST-2", "/ckpt/stage2_RTE/checkpoint_best.pt"),
        ("finetune", "stage3_SST-2", "SST-2", "/ckpt/stage2_RTE/checkpoint_best.pt"),
        ("probe", "RTE", "/ckpt/stage3_SST-2/checkpoint_best.pt"),
    ]  # no stage 4: nothing would probe it
    assert [(r["probe_task"], r["cycle"]) for r in e.records] == [("SST-2", 2), ("RTE", 2)]
    assert "| std / RTE |" in probing_table.markdown(e.records)


def test_generalization_probes_every_task_on_the_sst2_encoder(tmp_path):
    e = Recorder(args_for("generalization", tmp_path, "--probe-tasks", "MRPC", "rte"))
    probing.run_generalization(e, "/pretrained.pt")
    assert e.calls == [("finetune", "stage1_SST-2", "SST-2", "/pretrained.pt"),
                       ("probe", "MRPC", "/ckpt/stage1_SST-2/checkpoint_best.pt"),
                       ("probe", "RTE", "/ckpt/stage1_SST-2/checkpoint_best.pt")]


def test_steps_are_counted_for_stage_k_of_n(tmp_path):
    assert probing.steps_per_chain(args_for("generalization", tmp_path, "--probe-tasks", "MRPC", "RTE")) == 3
    assert probing.steps_per_chain(args_for("degradation", tmp_path, "--chain", "SST-2", "RTE")) == 4
    e = Recorder(args_for("retention", tmp_path, "--chain", "SST-2", "RTE", "--cycles", "2"))
    probing.run_chain(e, "/pretrained.pt", cycles=2, probe_each_stage=False)
    assert len(e.calls) == probing.steps_per_chain(e.p) == 5


def test_tables_say_how_many_seeds_and_where_chance_is(tmp_path):
    records = [{"experiment": "degradation", "method": m, "seed": s, "probe_task": "SST-2", "metric": "accuracy",
                "value": v, "majority": 50.9, "stage": 1, "after": "SST-2"}
               for m, s, v in (("std", 1, 80.0), ("std", 2, 82.0), ("r3f", 1, 81.0))]
    table = probing_table.markdown(records)
    assert "| std | 81.0 ± 1.4, median 81.0 (n=2) |" in table and "| r3f | 81.0 (n=1) |" in table
    assert "| r3f - std | +1.0 (n=1, no interval) |" in table  # seed 1 only: 81 - 80
    assert "| majority class | 50.9 |" in table
    probing_table.plot(records, str(tmp_path / "plot.png"))
    assert (tmp_path / "plot.png").stat().st_size > 1000


@pytest.mark.parametrize("argv, message", [
    (["degradation", "--probe-updates", "0"], "--probe-updates must be > 0"),
    (["retention", "--chain", "SST-2", "RTF"], "unknown GLUE task 'RTF'"),
    (["generalization", "--methods", "probe"], "invalid choice: 'probe'"),
    (["degradation", "--probe-lr", "0"], "--probe-lr must be a positive number; got 0.0"),
    (["degradation", "--probe-lr", "nan"], "--probe-lr must be a positive number; got nan"),
    (["retention", "--validations", "0"], "--validations must be > 0"),
])
def test_bad_arguments_name_the_flag(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        probing.main([*argv, "--glue-dir", str(tmp_path)])
    assert exit_.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.slow
def test_degradation_with_minilm_on_real_glue(shared_data, tmp_path, capsys):
    """Two stages (RTE -> MRPC), 2 updates each, std: fine-tune, chain, probe, table, plot;
    the kept stage checkpoint is the best validation its result.json reports."""
    out = tmp_path / "out"
    argv = ["degradation", "--methods", "std", "--chain", "RTE", "MRPC", "--updates", "2",
            "--probe-updates", "2", "--validations", "2", "--probe-lr", "1e-2",
            "--glue-dir", str(shared_data / "glue"), "--out-dir", str(out),
            "--data-dir", str(tmp_path / "data"), "--models-dir", str(tmp_path / "models")]
    first = probing.main(argv)
    assert "[probing] step 4/4: probe RTE" in capsys.readouterr().out
    assert probing.main(argv) == first, "a finished experiment resumes to the same records"
    with pytest.raises(SystemExit):
        probing.main([*argv, "--probe-lr", "1e-3"])  # never mixes budgets in one table
    assert "--lr 0.01 (now 0.001)" in capsys.readouterr().err
    records = json.loads((out / "degradation" / "probes.json").read_text())
    assert [(r["probe_task"], r["stage"], r["after"]) for r in records] == [("RTE", 1, "RTE"), ("RTE", 2, "MRPC")]
    assert all(40 < r["majority"] < 60 and r["probe_lr"] == 1e-2 for r in records)
    for name in ("table.md", "table.csv", "plot.png"):
        assert (out / "degradation" / name).is_file()
    root = out / "degradation" / "std" / "seed1"
    stage1 = root / "stage1_RTE" / "minilm-cpu" / "RTE" / "std" / "seed1"
    stage2 = root / "stage2_MRPC" / "minilm-cpu" / "MRPC" / "std" / "seed1"
    stage2_result = json.loads((stage2 / "result.json").read_text())
    command = stage2_result["command"]
    assert f"--finetune-from-model {stage1 / 'checkpoint_best.pt'}" in command
    assert "--classification-head-name mrpc_head" in command
    assert not (stage1 / "checkpoint_best.pt").exists(), "a used intermediate checkpoint was kept"
    assert "--arch roberta_bert" in command, "the architecture flags come from the converted model"
    assert "--validate-interval-updates 1 --save-interval-updates 1" in command
    probe_dir = root / "probe_stage2_MRPC" / "minilm-cpu" / "RTE" / "probe" / "seed1"
    probe = json.loads((probe_dir / "result.json").read_text())
    assert f"--finetune-from-model {stage2 / 'checkpoint_best.pt'}" in probe["command"]
    assert "--task sentence_prediction_probe" in probe["command"]
    # checkpoint_best.pt is the best validation of result.json (re-evaluated by fairseq itself)
    validated = run_cli("fairseq-validate", stage2_result["data"], "--path", str(stage2 / "checkpoint_best.pt"),
                        "--user-dir", USER_DIR, "--cpu", "--task", "sentence_prediction", "--criterion",
                        "sentence_prediction", "--batch-size", "16",
                        "--log-format", "json")
    (record,) = json_logs(validated, "valid")
    assert record["valid_f1"] == stage2_result["best"]["f1"]


@pytest.mark.slow
def test_two_chains_side_by_side_record_both_and_compare_them(shared_data, tmp_path, capsys):
    """--jobs 2: the std and r3f chains run as two processes; probes.json holds both, the table pairs them."""
    out = tmp_path / "out"
    argv = ["generalization", "--methods", "std", "r3f", "--probe-tasks", "RTE", "--updates", "2",
            "--probe-updates", "2", "--validations", "1", "--glue-dir", str(shared_data / "glue"),
            "--out-dir", str(out), "--data-dir", str(tmp_path / "data"), "--models-dir", str(tmp_path / "models")]
    records = probing.main(argv)  # the default on a CPU profile: 2 jobs
    assert "[jobs] 2 runs, 2 at a time" in capsys.readouterr().out
    assert sorted(r["method"] for r in records) == ["r3f", "std"]
    again = probing.main([*argv, "--jobs", "1"])  # here, so that capsys sees it: every run is found done
    assert sorted(again, key=lambda r: r["method"]) == sorted(records, key=lambda r: r["method"])
    assert capsys.readouterr().out.count("done already") == 4
    table = (out / "generalization" / "table.md").read_text()
    assert "| r3f - std | " in table and "(n=1, no interval)" in table
