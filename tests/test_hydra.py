"""The criterion and task configs work through fairseq-hydra-train YAML too."""

import pathlib

import pytest

from r3f_fairseq.user_dir import CONFIG_DIR
from tests.helpers import USER_DIR, json_logs, run_cli

CONFIGS = pathlib.Path(CONFIG_DIR) / "glue"
TINY = ["model._name=roberta_base", "+model.encoder_layers=2", "+model.encoder_embed_dim=32",
        "+model.encoder_ffn_embed_dim=64", "+model.encoder_attention_heads=2", "task.max_positions=256"]


@pytest.mark.slow
def test_shipped_r4f_yaml_trains_with_fairseq_hydra_train(rte_bin, tmp_path):
    out = run_cli(
        "fairseq-hydra-train", "--config-dir", str(CONFIGS), "--config-name", "rte_r4f",
        f"task.data={rte_bin}", f"checkpoint.save_dir={tmp_path}", "checkpoint.restore_file=checkpoint_last.pt",
        f"common.user_dir={USER_DIR}", "common.fp16=false", "common.cpu=true", "common.log_interval=1",
        "optimization.max_update=3", "criterion.eps=1e-3", "criterion.r3f_lambda=0.5",
        f"hydra.run.dir={tmp_path / 'hydra'}", *TINY,
    )
    assert "R4F: spectral norm on classification head 'sentence_classification_head', layers: dense, out_proj" in out
    assert "'eps': 0.001, 'r3f_lambda': 0.5, 'noise_type': uniform" in out
    records = [r for r in json_logs(out.replace("][train_inner][INFO] - ", " | train_inner | "), "train_inner")]
    assert len(records) == 3 and all(r["symm_kl"] > 0 for r in records)
    assert (tmp_path / "checkpoint_last.pt").is_file()
