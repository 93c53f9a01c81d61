"""The whole summarisation path on the real CNN/DM sample: prepare -> R3F fine-tuning of a tiny
BART -> generation -> ROUGE -> Table 4."""

import json
import os

import pytest

from r3f_fairseq.data import prepare_summarization
from r3f_fairseq.experiments.summarization import finetune as summarization_finetune
from r3f_fairseq.experiments.summarization import generate as summarize
from tests.helpers import USER_DIR, json_logs, run_cli


def write_split(raw, name, sources, targets):
    (raw / f"{name}.source").write_text("\n".join(sources) + "\n", encoding="utf-8")
    (raw / f"{name}.target").write_text("\n".join(targets) + "\n", encoding="utf-8")


@pytest.mark.slow
def test_prepare_train_generate_score(shared_data, bpe_dir, tmp_path):
    from r3f_fairseq import rouge
    from r3f_fairseq.experiments.summarization import table4 as summarization_table

    root = shared_data / "summarization" / "cnn_dm"
    sources = (root / "test_sample_42.source").read_text(encoding="utf-8").splitlines()
    targets = (root / "test_sample_42.target").read_text(encoding="utf-8").splitlines()
    raw = tmp_path / "raw"
    raw.mkdir()
    write_split(raw, "train", sources[:34], targets[:34])
    write_split(raw, "val", sources[34:], targets[34:])
    out = tmp_path / "cnn_dm"
    bin_dir = prepare_summarization.main(["cnn_dm", "--raw", str(raw), "--bpe-dir", bpe_dir,
                                          "--out-dir", str(out), "--workers", "1"])

    result = summarization_finetune.main([
        "cnn_dm", "r3f", "1", "--data", bin_dir, "--profile", "tiny-cpu", "--out-dir", str(tmp_path / "runs"),
        "--updates", "20", "--validations", "4", "--lr", "1e-3", "--max-tokens", "4096", "--update-freq", "1", "--",
        "--max-source-positions", "256", "--eps", "1e-2"])
    log = (tmp_path / "runs" / "tiny-cpu" / "cnn_dm" / "r3f" / "seed1" / "train.log").read_text()
    records = [json.loads(line.split("| train_inner | ", 1)[1]) for line in log.splitlines() if "| train_inner | " in line]
    assert records and all(float(r["symm_kl"]) > 0 for r in records), "R3F term missing from the log"
    assert float(records[-1]["loss"]) < float(records[0]["loss"])
    assert os.path.isfile(result["checkpoint"])
    # checkpoint_best.pt is the validation result.json calls best (fairseq re-evaluates it)
    assert len({v["loss"] for v in result["validations"]}) > 1
    validated = run_cli("fairseq-validate", bin_dir, "--path", result["checkpoint"], "--user-dir", USER_DIR,
                        "--cpu", "--task", "translation", "--source-lang", "source", "--target-lang", "target",
                        "--criterion", "label_smoothed_cross_entropy_r3f", "--max-tokens", "4096",
                        "--log-format", "json")
    (record,) = json_logs(validated, "valid")
    assert record["valid_loss"] == result["best_valid_loss"]

    hypo = tmp_path / "valid.hypo"
    summaries = summarize.main(["--checkpoint", result["checkpoint"], "--data", bin_dir, "--source",
                                str(out / "raw" / "valid.source"), "--out", str(hypo), "--bpe-dir", bpe_dir,
                                "--preset", "cnn_dm", "--beam", "2", "--max-len-b", "60", "--min-len", "10",
                                "--batch-size", "4", "--cpu"])
    assert len(summaries) == 8 and all(s.strip() for s in summaries)
    assert len(hypo.read_text(encoding="utf-8").splitlines()) == 8

    scores = tmp_path / "rouge.json"
    rouge.main(["--hyp", str(hypo), "--ref", str(out / "raw" / "valid.target"), "--json", str(scores),
                "--bootstrap", "100", "--dataset", "cnn_dm", "--method", "r3f"])
    data = json.loads(scores.read_text())
    assert data["n"] == 8 and 0 <= data["scores"]["rouge1"]["f"] <= 100
    summarization_table.main(["--results", str(scores)])
