"""The plugin through fairseq's own command-line tools, as subprocesses, on real data."""


import pytest
import torch

from tests.helpers import TINY_BART, TINY_ROBERTA, USER_DIR, json_logs, run_cli

pytestmark = pytest.mark.slow  # every test trains with fairseq-train

TRAIN_RTE = [
    *TINY_ROBERTA, "--num-classes", "2", "--user-dir", USER_DIR, "--cpu", "--seed", "1",
    "--criterion", "sentence_prediction_r3f", "--eps", "1e-3",
    "--optimizer", "adam", "--lr", "1e-3", "--batch-size", "8",
    "--log-format", "json", "--log-interval", "1", "--no-epoch-checkpoints",
    "--best-checkpoint-metric", "accuracy", "--maximize-best-checkpoint-metric",
]


def train_rte(data, save_dir, *extra):
    return run_cli("fairseq-train", data, *TRAIN_RTE, "--save-dir", str(save_dir), *extra)


@pytest.mark.parametrize("method", [
    ["--task", "sentence_prediction"],                                   # R3F
    ["--task", "sentence_prediction_r4f"],                               # R4F, every head layer (paper)
    ["--spectral-norm-classification-head"],                             # R4F, fairseq's flag (out_proj)
], ids=["r3f", "r4f", "r4f-fairseq-flag"])
def test_fine_tune_rte_then_validate(rte_bin, bpe_dir, tmp_path, method):
    out = train_rte(rte_bin, tmp_path, *method, "--max-update", "24")
    records = json_logs(out, "train_inner")
    assert len(records) == 24
    assert all(r["symm_kl"] > 0 for r in records)
    epochs = [r["train_loss"] for r in json_logs(out, "train")]  # 64 examples, batch 8: 3 epochs of 8 updates
    assert len(epochs) == 3 and epochs[-1] < epochs[0], epochs  # whole epochs: no batch-composition noise
    assert json_logs(out, "valid")[-1]["valid_accuracy"] >= 0

    checkpoint = tmp_path / "checkpoint_best.pt"
    validated = run_cli("fairseq-validate", rte_bin, "--path", str(checkpoint), "--user-dir", USER_DIR,
                        "--cpu", "--task", "sentence_prediction", "--batch-size", "8",
                        "--criterion", "sentence_prediction_r3f", "--num-classes", "2",
                        "--init-token", "0", "--separator-token", "2", "--log-format", "json")
    assert "accuracy" in validated
    if method != ["--task", "sentence_prediction"]:
        import r3f_fairseq

        r3f_fairseq.register()  # safe globals for torch.load

        state = torch.load(checkpoint, map_location="cpu")["model"]
        assert any(k.endswith("out_proj.weight_orig") for k in state)
        assert any(k.endswith("dense.weight_orig") for k in state) == (method[-1] == "sentence_prediction_r4f")
        # the hub interface users call for inference loads it too
        from fairseq.models.roberta import RobertaModel

        hub = RobertaModel.from_pretrained(str(tmp_path), "checkpoint_best.pt", data_name_or_path=rte_bin,
                                           user_dir=USER_DIR, bpe="gpt2",
                                           gpt2_encoder_json=f"{bpe_dir}/encoder.json",
                                           gpt2_vocab_bpe=f"{bpe_dir}/vocab.bpe")
        hub.eval()
        tokens = hub.encode("The cat sat on the mat.", "A cat was sitting.")
        assert hub.predict("sentence_classification_head", tokens).shape == (1, 2)


def test_restore_file_and_auto_resume(rte_bin, tmp_path):
    first = tmp_path / "first"
    train_rte(rte_bin, first, "--max-update", "6", "--task", "sentence_prediction_r4f")
    # auto-resume: the same command with a later --max-update continues from checkpoint_last.pt
    resumed = train_rte(rte_bin, first, "--max-update", "10", "--task", "sentence_prediction_r4f")
    assert "Loaded checkpoint" in resumed and "@ 6 updates" in resumed
    assert [int(r["num_updates"]) for r in json_logs(resumed, "train_inner")] == [7, 8, 9, 10]
    # --restore-file into a fresh directory continues from that checkpoint
    second = tmp_path / "second"
    restored = train_rte(rte_bin, second, "--max-update", "12", "--task", "sentence_prediction_r4f",
                         "--restore-file", str(first / "checkpoint_last.pt"))
    assert "@ 10 updates" in restored
    assert [int(r["num_updates"]) for r in json_logs(restored, "train_inner")] == [11, 12]
    assert (second / "checkpoint_last.pt").is_file()


def test_tiny_bart_on_cnn_dm_then_generate(cnn_dm_bin, tmp_path):
    out = run_cli("fairseq-train", cnn_dm_bin, *TINY_BART, "--user-dir", USER_DIR, "--cpu", "--seed", "1",
                  "--criterion", "label_smoothed_cross_entropy_r3f", "--label-smoothing", "0.1",
                  "--eps", "1e-3", "--optimizer", "adam", "--lr", "3e-3", "--batch-size", "8",
                  "--max-update", "12", "--log-format", "json", "--log-interval", "1",
                  "--save-dir", str(tmp_path), "--no-epoch-checkpoints")
    records = json_logs(out, "train_inner")
    assert len(records) == 12 and all(r["symm_kl"] > 0 for r in records)
    assert records[-1]["loss"] < records[0]["loss"]
    generated = run_cli("fairseq-generate", cnn_dm_bin, "--path", str(tmp_path / "checkpoint_last.pt"),
                        "--user-dir", USER_DIR, "--cpu", *TINY_BART[:11],
                        "--gen-subset", "valid", "--beam", "2", "--max-len-b", "12", "--batch-size", "8")
    hypotheses = [line for line in generated.splitlines() if line.startswith("H-")]
    assert len(hypotheses) == 8
