import math

import pytest
import torch
from torch import nn

from r3f_fairseq.regularizers import (
    EmbeddingNoise,
    check_r3f_options,
    effective_weight,
    largest_singular_value,
    spectral_normalize,
    spectral_normalize_head,
    spectral_norm_to_plain_weight,
    squared_difference,
    symmetric_kl,
)


def test_symmetric_kl_matches_hand_computed_value():
    p, q = [0.7, 0.2, 0.1], [0.4, 0.4, 0.2]
    expected = sum(a * math.log(a / b) for a, b in zip(p, q)) + sum(
        b * math.log(b / a) for a, b in zip(p, q)
    )
    logits_p, logits_q = torch.tensor([p]).log(), torch.tensor([q]).log()
    assert symmetric_kl(logits_p, logits_q).item() == pytest.approx(expected, rel=1e-6)
    # 0.3*ln(7/4) + (-0.2)*ln(1/2) + (-0.1)*ln(1/2) = 0.37583...
    assert expected == pytest.approx(0.3 * math.log(7 / 4) + 0.3 * math.log(2), rel=1e-12)


def test_symmetric_kl_is_symmetric_and_zero_for_equal_inputs():
    torch.manual_seed(0)
    a, b = torch.randn(5, 7), torch.randn(5, 7)
    assert symmetric_kl(a, b).item() == pytest.approx(symmetric_kl(b, a).item(), rel=1e-6)
    assert symmetric_kl(a, b).item() > 0
    assert symmetric_kl(a, a.clone()).item() == 0.0
    # invariant to shifting the logits (same distribution)
    assert symmetric_kl(a, a + 3.0).item() == pytest.approx(0.0, abs=1e-5)


def test_symmetric_kl_matches_torch_kl_div_sum():
    torch.manual_seed(1)
    a, b = torch.randn(4, 6, 11), torch.randn(4, 6, 11)
    la, lb = a.log_softmax(-1), b.log_softmax(-1)
    ref = torch.nn.functional.kl_div(la, lb, log_target=True, reduction="sum") + \
        torch.nn.functional.kl_div(lb, la, log_target=True, reduction="sum")
    assert symmetric_kl(a, b).item() == pytest.approx(ref.item(), rel=1e-5)


def test_symmetric_kl_ignores_masked_positions():
    torch.manual_seed(2)
    a, b = torch.randn(2, 5, 9), torch.randn(2, 5, 9)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    expected = sum(symmetric_kl(a[i, j], b[i, j]).item() for i in range(2) for j in range(5) if mask[i, j])
    assert symmetric_kl(a, b, mask).item() == pytest.approx(expected, rel=1e-5)
    b2 = b.clone()
    b2[0, 3:] = 1e4 * torch.randn(2, 9)  # garbage at padded positions
    assert symmetric_kl(a, b2, mask).item() == pytest.approx(symmetric_kl(a, b, mask).item(), rel=1e-6)


def test_symmetric_kl_runs_in_float32_for_half_inputs():
    a, b = torch.randn(3, 5).half(), torch.randn(3, 5).half()
    out = symmetric_kl(a, b)
    assert out.dtype == torch.float32
    assert out.item() == pytest.approx(symmetric_kl(a.float(), b.float()).item(), rel=1e-6)


def test_squared_difference():
    assert squared_difference(torch.tensor([[1.0], [2.0]]), torch.tensor([[0.5], [4.0]])).item() == 4.25


@pytest.mark.parametrize("eps", [1e-5, 0.3])
def test_normal_noise_has_the_right_scale(eps):
    torch.manual_seed(0)
    z = EmbeddingNoise("normal", eps).sample(torch.zeros(400, 500))
    assert z.mean().abs().item() < 0.01 * eps
    assert z.std().item() == pytest.approx(eps, rel=0.01)
    # Gaussian: about 68.3% within one standard deviation
    assert (z.abs() < eps).float().mean().item() == pytest.approx(0.6827, abs=0.005)


@pytest.mark.parametrize("eps", [1e-5, 0.3])
def test_uniform_noise_has_the_right_range(eps):
    torch.manual_seed(0)
    z = EmbeddingNoise("uniform", eps).sample(torch.zeros(400, 500))
    assert z.abs().max().item() <= eps
    assert z.min().item() < -0.99 * eps and z.max().item() > 0.99 * eps
    assert z.std().item() == pytest.approx(eps / math.sqrt(3), rel=0.01)
    hist = torch.histc(z, bins=10, min=-eps, max=eps) / z.numel()
    assert torch.allclose(hist, torch.full((10,), 0.1), atol=0.005)


def test_noise_keeps_dtype_and_is_added():
    x = torch.ones(3, 4, dtype=torch.float64)
    torch.manual_seed(0)
    y = EmbeddingNoise("uniform", 0.5)(x)
    assert y.dtype == torch.float64 and not torch.equal(x, y)
    assert (y - x).abs().max().item() <= 0.5


def test_noise_is_reproducible_under_seed():
    torch.manual_seed(3)
    a = EmbeddingNoise("normal", 1.0).sample(torch.zeros(10))
    torch.manual_seed(3)
    b = EmbeddingNoise("normal", 1.0).sample(torch.zeros(10))
    assert torch.equal(a, b)


@pytest.mark.parametrize(
    "eps, lam, noise, flag",
    [
        (1e-5, 1.0, "gaussian", "--noise-type"),
        (0.0, 1.0, "normal", "--eps"),
        (-1e-5, 1.0, "uniform", "--eps"),
        (1e-5, -0.5, "uniform", "--r3f-lambda"),
    ],
)
def test_bad_options_name_the_flag(eps, lam, noise, flag):
    with pytest.raises(ValueError, match=flag):
        check_r3f_options(eps, lam, noise)


def test_lambda_zero_allows_zero_eps():
    check_r3f_options(0.0, 0.0, "normal")


def test_spectral_normalize_gives_unit_spectral_norm_from_the_start():
    torch.manual_seed(0)
    layer = nn.Linear(16, 8)
    with torch.no_grad():
        layer.weight.mul_(10)
    spectral_normalize(layer)
    assert largest_singular_value(layer) == pytest.approx(1.0, abs=1e-5)
    layer.eval()
    x = torch.randn(4, 16)
    assert torch.allclose(layer(x), x @ effective_weight(layer).t() + layer.bias, atol=1e-6)


def test_spectral_normalize_head_scopes():
    def head():
        m = nn.Module()
        m.dense, m.out_proj = nn.Linear(8, 8), nn.Linear(8, 2)
        return m

    assert spectral_normalize_head(head(), "all") == ["dense", "out_proj"]
    h = head()
    assert spectral_normalize_head(h, "out_proj") == ["out_proj"]
    assert not hasattr(h.dense, "weight_orig")
    with pytest.raises(ValueError, match="--spectral-norm-head"):
        spectral_normalize_head(head(), "dense")


def test_spectral_norm_state_to_plain_weight():
    torch.manual_seed(0)
    layer = spectral_normalize(nn.Linear(6, 3))
    state = {"l." + k: v for k, v in layer.state_dict().items()}
    assert torch.allclose(spectral_norm_to_plain_weight(state, "l."), effective_weight(layer), atol=1e-6)


# --- adversarial perturbations (SMART, FreeLB) -------------------------------------------

from r3f_fairseq.regularizers import freelb_initial_perturbation, normalized, project  # noqa: E402


@pytest.mark.parametrize("norm", ["inf", "l2"])
def test_normalized_has_unit_norm_per_token_and_per_example(norm):
    torch.manual_seed(0)
    g = torch.randn(3, 5, 4)
    token = normalized(g, norm, per="token")
    example = normalized(g, norm, per="example")
    if norm == "inf":
        torch.testing.assert_close(token.abs().amax(-1), torch.ones(3, 5))
        torch.testing.assert_close(example.abs().flatten(1).amax(-1), torch.ones(3))
    else:
        torch.testing.assert_close(token.norm(dim=-1), torch.ones(3, 5))
        torch.testing.assert_close(example.flatten(1).norm(dim=-1), torch.ones(3))
    assert torch.equal(normalized(torch.zeros(2, 3, 4), norm), torch.zeros(2, 3, 4))


def test_project_moves_only_what_is_outside_the_ball():
    inside = torch.full((1, 1, 4), 0.1)  # l2 norm 0.2
    outside = torch.full((1, 1, 4), 1.0)  # l2 norm 2
    assert torch.equal(project(inside, 0.5, "l2"), inside)
    torch.testing.assert_close(project(outside, 0.5, "l2").norm(), torch.tensor(0.5))
    torch.testing.assert_close(project(outside * torch.tensor([1, -1, 1, 0.1]), 0.5, "inf"),
                               torch.tensor([[[0.5, -0.5, 0.5, 0.1]]]))


def test_freelb_initial_perturbation_is_masked_and_scaled_by_length():
    torch.manual_seed(0)
    keep = torch.tensor([[True] * 6, [True] * 2 + [False] * 4])
    delta = freelb_initial_perturbation((2, 6, 8), keep, init_mag=0.2)
    assert delta[1, 2:].abs().max() == 0
    norms = delta.flatten(1).norm(dim=1)
    assert (norms <= 0.2).all() and (norms > 0.05).all()
