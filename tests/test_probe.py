"""sentence_prediction_probe: a linear probe on a frozen encoder, chained from a fine-tuned checkpoint."""

import pytest
import torch

from tests.helpers import TINY_ROBERTA, USER_DIR, batch, run_cli
from r3f_fairseq.tasks.sentence_prediction_probe import linear_probe_head


def encoder_state(state):
    return {k: v for k, v in state.items() if ".classification_heads." not in f".{k}"}


def test_only_the_linear_head_trains_and_the_encoder_stays_bit_identical(tiny_roberta):
    cfg, task, model, crit = tiny_roberta("--task", "sentence_prediction_probe", "--criterion", "sentence_prediction")
    head = model.classification_heads["sentence_classification_head"]
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable == ["classification_heads.sentence_classification_head.out_proj.weight",
                         "classification_heads.sentence_classification_head.out_proj.bias"]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5)
    model.train()
    for _ in range(3):
        optimizer.zero_grad()
        loss, _, _ = crit(model, batch(task))
        loss.backward()
        optimizer.step()
    after = model.state_dict()
    for key, value in before.items():
        if "out_proj" in key and "classification_heads" in key:
            assert not torch.equal(value, after[key]), f"{key} did not train"
        else:
            assert torch.equal(value, after[key]), f"{key} changed"
    # the head is linear: logits = out_proj(features of <s>)
    features = torch.randn(2, 5, head.dense.in_features)
    head.eval()
    torch.testing.assert_close(head(features), head.out_proj(features[:, 0]))


def test_linear_probe_head_is_identity_then_linear():
    head = linear_probe_head(4, 3, 0.0)
    assert torch.equal(head.dense.weight, torch.eye(4)) and not head.dense.weight.requires_grad


@pytest.mark.slow
def test_probe_stage_starts_from_the_previous_stage_and_leaves_its_encoder_untouched(rte_bin, tmp_path):
    common = [rte_bin, *TINY_ROBERTA, "--num-classes", "2", "--user-dir", USER_DIR, "--cpu", "--seed", "1",
              "--optimizer", "adam", "--lr", "1e-3", "--batch-size", "8", "--max-update", "4",
              "--no-epoch-checkpoints", "--log-format", "json", "--log-interval", "1"]
    stage1 = tmp_path / "stage1"
    run_cli("fairseq-train", *common, "--criterion", "sentence_prediction",
            "--classification-head-name", "rte_head", "--save-dir", str(stage1))
    probe = tmp_path / "probe"
    out = run_cli("fairseq-train", *common, "--task", "sentence_prediction_probe", "--criterion", "sentence_prediction",
                  "--classification-head-name", "probe_head", "--restore-file", str(stage1 / "checkpoint_last.pt"),
                  "--reset-optimizer", "--reset-dataloader", "--reset-meters", "--save-dir", str(probe))
    assert "deleting classification head (rte_head)" in out
    finetuned = torch.load(stage1 / "checkpoint_last.pt", weights_only=False)["model"]
    probed = torch.load(probe / "checkpoint_last.pt", weights_only=False)["model"]
    assert encoder_state(finetuned).keys() == encoder_state(probed).keys()
    for key, value in encoder_state(finetuned).items():
        assert torch.equal(value, probed[key]), key
    assert "classification_heads.probe_head.out_proj.weight" in probed
    assert not any(k.startswith("classification_heads.rte_head") for k in probed)
