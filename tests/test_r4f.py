"""R4F: spectral normalisation of the classification head (task sentence_prediction_r4f)."""

import pytest
import torch

from r3f_fairseq.regularizers import is_spectral_normalized

R4F = ["--task", "sentence_prediction_r4f", "--criterion", "sentence_prediction_r3f", "--eps", "0.1"]
HEAD = "sentence_classification_head"


def head_layers(model):
    head = model.classification_heads[HEAD]
    return {"dense": head.dense, "out_proj": head.out_proj}


def test_paper_scope_normalises_every_linear_layer_of_the_head(tiny_roberta):
    _, _, model, _ = tiny_roberta(*R4F)
    assert all(is_spectral_normalized(layer) for layer in head_layers(model).values())


def test_out_proj_scope_matches_fairseqs_flag(tiny_roberta):
    _, _, model, _ = tiny_roberta(*R4F, "--spectral-norm-head", "out_proj")
    layers = head_layers(model)
    assert is_spectral_normalized(layers["out_proj"]) and not is_spectral_normalized(layers["dense"])


@pytest.mark.parametrize("scope", ["all", "out_proj"])
def test_largest_singular_value_stays_at_most_one_while_training(tiny_roberta, scope):
    """The weight each training forward actually uses (torch's spectral norm
    sets ``layer.weight`` = weight_orig / sigma in a pre-forward hook) has
    largest singular value <= 1 + 1e-3 at every update, under an aggressive lr."""
    cfg, task, model, crit = tiny_roberta(*R4F, "--spectral-norm-head", scope)
    task.load_dataset("train")
    data = task.dataset("train")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    normalised = {n: l for n, l in head_layers(model).items() if is_spectral_normalized(l)}
    assert set(normalised) == ({"dense", "out_proj"} if scope == "all" else {"out_proj"})
    model.train()
    sigmas = []
    for step in range(30):
        sample = data.collater([data[(8 * step + i) % len(data)] for i in range(8)])
        optimizer.zero_grad()
        loss, _, _ = crit(model, sample)
        for name, layer in normalised.items():
            sigma = torch.linalg.matrix_norm(layer.weight.detach(), ord=2).item()
            sigmas.append(sigma)
            assert sigma <= 1 + 1e-3, (step, name, sigma)
        loss.backward()
        optimizer.step()
    assert min(sigmas) > 0.99  # the constraint is tight: the head is not shrunk below 1


def test_spectrally_normalised_state_loads_into_a_plain_head(tiny_roberta):
    """A checkpoint of an R4F head loads into a plain RoBERTa (e.g. for inference
    without the plugin's task) and computes the same function."""
    from tests.helpers import batch

    cfg, task, model, _ = tiny_roberta(*R4F)
    _, _, plain, _ = tiny_roberta("--criterion", "sentence_prediction_r3f")
    state = model.state_dict()
    assert f"classification_heads.{HEAD}.out_proj.weight_orig" in state
    plain.load_state_dict(state, strict=True)
    sample = batch(task)
    model.eval(), plain.eval()
    with torch.no_grad():
        expected, _ = model(**sample["net_input"], classification_head_name=HEAD)
        got, _ = plain(**sample["net_input"], classification_head_name=HEAD)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_spectrally_normalised_state_reloads_into_a_spectrally_normalised_head(tiny_roberta):
    _, _, model, _ = tiny_roberta(*R4F)
    _, _, again, _ = tiny_roberta(*R4F)
    again.load_state_dict(model.state_dict(), strict=True)
    for name, param in model.state_dict().items():
        assert torch.equal(param, again.state_dict()[name]), name
