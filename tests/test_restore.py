"""Classification heads restore across spectral norm in every direction (compat.py).

Head kinds: plain, R4F over every layer (``all``), R4F over ``out_proj``,
fairseq's ``--spectral-norm-classification-head`` (out_proj), and both flags.
A trained weight must survive any restore: into a spectrally normalised layer
it becomes ``weight_orig`` (with u, v its exact top singular vectors), into a
plain layer it becomes the effective weight ``weight_orig / sigma``.
"""

import copy
import logging

import pytest
import torch

from r3f_fairseq.regularizers import effective_weight, is_spectral_normalized
from tests.helpers import TINY_ROBERTA, USER_DIR, batch, build, run_cli

HEAD = "sentence_classification_head"
KINDS = {
    "plain": [],
    "r4f-all": ["--task", "sentence_prediction_r4f"],
    "r4f-out_proj": ["--task", "sentence_prediction_r4f", "--spectral-norm-head", "out_proj"],
    "fairseq-flag": ["--spectral-norm-classification-head"],
    "both": ["--task", "sentence_prediction_r4f", "--spectral-norm-classification-head"],
}


@pytest.fixture(scope="module")
def models(rte_bin):
    """One tiny RoBERTa of each head kind, with distinct "trained" head weights."""
    built = {}
    for i, (kind, flags) in enumerate(KINDS.items()):
        _, task, model, _ = build(rte_bin, *TINY_ROBERTA, "--num-classes", "2", "--criterion", "sentence_prediction",
                                  "--pooler-dropout", "0", *flags)
        torch.manual_seed(100 + i)
        with torch.no_grad():
            for layer in head_layers(model).values():
                weight = layer.weight_orig if is_spectral_normalized(layer) else layer.weight
                weight.normal_(0, 0.5)
                if is_spectral_normalized(layer):  # as after training: u, v from power iteration
                    layer.weight_u.normal_(), layer.weight_v.normal_()
                layer.bias.normal_(0, 0.5)
        built[kind] = (batch(task), model.eval())
    return built


def head_layers(model):
    head = model.classification_heads[HEAD]
    return {"dense": head.dense, "out_proj": head.out_proj}


def logits(model, sample):
    with torch.no_grad():
        return model(**sample["net_input"], classification_head_name=HEAD)[0]


@pytest.mark.parametrize("source", list(KINDS))
@pytest.mark.parametrize("target", list(KINDS))
def test_every_head_kind_restores_into_every_other(models, source, target, caplog):
    sample, trained = models[source]
    fresh = copy.deepcopy(models[target][1])
    with caplog.at_level(logging.WARNING, logger="r3f_fairseq.compat"):
        fresh.load_state_dict(copy.copy(trained.state_dict()), strict=True)
    for name, layer in head_layers(fresh).items():
        old = head_layers(trained)[name]
        assert torch.equal(layer.bias, old.bias), name
        if is_spectral_normalized(layer) and is_spectral_normalized(old):
            for key in ("weight_orig", "weight_u", "weight_v"):
                assert torch.equal(getattr(layer, key), getattr(old, key)), (name, key)
        elif is_spectral_normalized(layer):  # plain -> SN
            assert torch.equal(layer.weight_orig, old.weight), name
            sigma = torch.dot(layer.weight_u, torch.mv(layer.weight_orig, layer.weight_v))
            torch.testing.assert_close(sigma, torch.linalg.matrix_norm(old.weight, ord=2))
            assert f"{name}.weight: plain in the checkpoint" in caplog.text
        elif is_spectral_normalized(old):  # SN -> plain
            torch.testing.assert_close(layer.weight, effective_weight(old).detach(), rtol=0, atol=0)
            assert f"{name}.weight: spectrally normalised in the checkpoint" in caplog.text
        else:
            assert torch.equal(layer.weight, old.weight), name
    converted = any(is_spectral_normalized(a) != is_spectral_normalized(b)
                    for a, b in zip(head_layers(fresh).values(), head_layers(trained).values()))
    assert bool(caplog.records) == converted
    if not any(is_spectral_normalized(layer) for layer in head_layers(fresh).values()):
        # into a plain head: the same function as the trained model
        torch.testing.assert_close(logits(fresh, sample), logits(trained, sample))


def test_a_dropped_head_is_not_converted(models):
    """A head the stock upgrade drops (other number of classes) stays the model's own."""
    _, trained = models["plain"]
    _, r4f = models["r4f-all"]
    fresh = copy.deepcopy(r4f)
    state = copy.copy(trained.state_dict())
    for key in [k for k in state if k.startswith(f"classification_heads.{HEAD}.out_proj")]:
        state[key] = torch.cat([state[key], state[key][:1]])  # 3 classes instead of 2
    own = {k: v.clone() for k, v in fresh.state_dict().items() if "classification_heads" in k}
    fresh.load_state_dict(state, strict=True)
    for key, value in own.items():
        assert torch.equal(fresh.state_dict()[key], value), key


TRAIN = [*TINY_ROBERTA, "--num-classes", "2", "--user-dir", USER_DIR, "--cpu", "--seed", "1",
         "--criterion", "sentence_prediction", "--batch-size", "8", "--no-epoch-checkpoints",
         "--pooler-dropout", "0", "--log-format", "json"]
# a restore that trains one update without changing any weight: plain SGD at lr 0
FROZEN_STEP = ["--optimizer", "sgd", "--lr", "0", "--lr-scheduler", "fixed", "--max-update", "1",
               "--reset-optimizer", "--reset-dataloader", "--reset-meters", "--reset-lr-scheduler"]


def head_state(path):
    import r3f_fairseq  # noqa: F401  (safe globals for torch.load)

    state = torch.load(path, map_location="cpu", weights_only=False)["model"]
    return {k.split(f"{HEAD}.")[1]: v for k, v in state.items() if HEAD in k}


@pytest.mark.slow
def test_restores_through_fairseq_train_and_from_pretrained(rte_bin, bpe_dir, tmp_path):
    """plain -> R4F -> plain through real fairseq-train checkpoints (--restore-file),
    and the R4F checkpoint through RobertaModel.from_pretrained."""
    plain, r4f, back = tmp_path / "plain", tmp_path / "r4f", tmp_path / "back"
    run_cli("fairseq-train", rte_bin, *TRAIN, "--optimizer", "adam", "--lr", "1e-2", "--max-update", "4",
            "--save-dir", str(plain))
    run_cli("fairseq-train", rte_bin, *TRAIN, *FROZEN_STEP, "--task", "sentence_prediction_r4f",
            "--restore-file", str(plain / "checkpoint_last.pt"), "--save-dir", str(r4f))
    trained, restored = head_state(plain / "checkpoint_last.pt"), head_state(r4f / "checkpoint_last.pt")
    for layer in ("dense", "out_proj"):
        assert torch.equal(restored[f"{layer}.weight_orig"], trained[f"{layer}.weight"]), layer

    run_cli("fairseq-train", rte_bin, *TRAIN, *FROZEN_STEP, "--restore-file", str(r4f / "checkpoint_last.pt"),
            "--save-dir", str(back))
    from fairseq.models.roberta import RobertaModel

    local_bpe = dict(bpe="gpt2", gpt2_encoder_json=f"{bpe_dir}/encoder.json", gpt2_vocab_bpe=f"{bpe_dir}/vocab.bpe")
    hubs = [RobertaModel.from_pretrained(str(d), "checkpoint_last.pt", data_name_or_path=rte_bin,
                                         user_dir=USER_DIR, **local_bpe).eval() for d in (r4f, back)]
    assert is_spectral_normalized(hubs[0].model.classification_heads[HEAD].dense)
    assert not is_spectral_normalized(hubs[1].model.classification_heads[HEAD].dense)
    tokens = torch.tensor([[0, 100, 200, 300, 2, 2, 400, 500, 2]])
    torch.testing.assert_close(hubs[1].predict(HEAD, tokens), hubs[0].predict(HEAD, tokens))
    # plain -> fairseq's flag through from_pretrained (an override of the model's config)
    flagged = RobertaModel.from_pretrained(str(plain), "checkpoint_last.pt", data_name_or_path=rte_bin,
                                           user_dir=USER_DIR, spectral_norm_classification_head=True,
                                           **local_bpe).eval()
    out_proj = flagged.model.classification_heads[HEAD].out_proj
    assert is_spectral_normalized(out_proj)
    assert torch.equal(out_proj.weight_orig, trained["out_proj.weight"])
