"""The maths of R3F and R4F, written once and used by every criterion.

R3F (Aghajanyan et al., 2020, eq. 1) adds to the task loss

    lambda * SymKL( f(x) || f(x + z) ),   z ~ N(0, eps^2 I)  or  U(-eps, eps)

where x are the token embeddings fed to the encoder and f the model's output
distribution. R4F additionally makes the classification head 1-Lipschitz by
spectrally normalising its weight matrices.

This module holds exactly those pieces, and the two the baselines add:

* :class:`EmbeddingNoise`   -- the noise z (type and scale), validated;
* :func:`symmetric_kl`      -- the penalty for distributions (masked, float32),
  and :func:`squared_difference`, its counterpart for scalar (regression)
  outputs;
* :func:`spectral_normalize` and helpers -- R4F's constraint on a head;
* :func:`normalized` and :func:`project` -- the normalised ascent step and the
  projection onto a norm ball of SMART's and FreeLB's adversarial
  perturbations, and :func:`freelb_initial_perturbation`.

To change eps, lambda or the noise, change the flags (``--eps``,
``--r3f-lambda``, ``--noise-type``); to change what they *mean*, change this
file.
"""

import math
from dataclasses import dataclass
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

NOISE_TYPES = ("normal", "uniform")


def check_finite(flag: str, value: float) -> None:
    """NaN and inf pass every ``<`` / ``>`` check silently (``nan < 0`` is False),
    so each numeric flag is first checked here."""
    if not math.isfinite(value):
        raise ValueError(f"{flag} must be a finite number; got {value}")


def check_r3f_options(eps: float, r3f_lambda: float, noise_type: str) -> None:
    """Reject meaningless R3F settings at start-up, naming the flag."""
    if str(noise_type) not in NOISE_TYPES:
        raise ValueError(
            f"--noise-type must be one of {', '.join(NOISE_TYPES)}; got {noise_type!r}"
        )
    check_finite("--eps", eps)
    check_finite("--r3f-lambda", r3f_lambda)
    if r3f_lambda < 0:
        raise ValueError(f"--r3f-lambda must be >= 0; got {r3f_lambda}")
    if r3f_lambda > 0 and not eps > 0:
        raise ValueError(
            f"--eps must be > 0 when --r3f-lambda > 0 (got --eps {eps}, "
            f"--r3f-lambda {r3f_lambda}); use --r3f-lambda 0 to turn R3F off"
        )


@dataclass(frozen=True)
class EmbeddingNoise:
    """The R3F noise z added to token embeddings.

    ``normal``: z ~ N(0, eps^2), eps is the standard deviation.
    ``uniform``: z ~ U(-eps, eps), eps is the half-width.

    Noise is drawn from torch's global generator on the embeddings' device,
    so fairseq's ``--seed`` (re-seeded every update) makes it reproducible.
    It is drawn in float32 and cast to the embeddings' dtype.
    """

    noise_type: str
    eps: float

    def __post_init__(self):
        check_r3f_options(self.eps, 0.0, self.noise_type)
        if self.eps < 0:
            raise ValueError(f"--eps must be >= 0; got {self.eps}")

    def sample(self, like: Tensor) -> Tensor:
        shape_like = torch.empty(like.shape, dtype=torch.float32, device=like.device)
        if str(self.noise_type) == "normal":
            noise = torch.randn_like(shape_like) * self.eps
        else:
            noise = (torch.rand_like(shape_like) * 2.0 - 1.0) * self.eps
        return noise.to(like.dtype)

    def __call__(self, embeddings: Tensor) -> Tensor:
        return embeddings + self.sample(embeddings)


def symmetric_kl(
    logits_p: Tensor, logits_q: Tensor, mask: Optional[Tensor] = None
) -> Tensor:
    """Sum over predictions of KL(p || q) + KL(q || p), in float32.

    ``logits_*`` have shape (..., num_classes); each position along the
    leading dimensions is one prediction. ``mask`` (shape of the leading
    dimensions, True = keep) removes positions such as padding from the sum.
    Uses KL(p||q) + KL(q||p) = sum_c (p_c - q_c) (log p_c - log q_c).
    """
    log_p = F.log_softmax(logits_p.float(), dim=-1)
    log_q = F.log_softmax(logits_q.float(), dim=-1)
    per_prediction = ((log_p.exp() - log_q.exp()) * (log_p - log_q)).sum(dim=-1)
    if mask is not None:
        per_prediction = per_prediction.masked_fill(~mask, 0.0)
    return per_prediction.sum()


def squared_difference(pred_a: Tensor, pred_b: Tensor) -> Tensor:
    """R3F's smoothness term for scalar outputs (regression, e.g. STS-B).

    A softmax over one output is constant, so the symmetric KL is always 0;
    instead we penalise sum_i (f(x_i) - f(x_i + z_i))^2, in float32. Like
    the MSE task loss it is summed over the batch, so lambda weighs it
    against the task loss exactly as it weighs the KL in classification.
    """
    return (pred_a.float() - pred_b.float()).pow(2).sum()


# --------------------------------------------------------------------------
# R4F: spectral normalisation of the classification head
# --------------------------------------------------------------------------
# We use torch.nn.utils.spectral_norm, the variant behind fairseq's own
# --spectral-norm-classification-head, so checkpoints share one layout:
# ``weight_orig`` (the parameter), ``weight_u`` / ``weight_v`` (power-iteration
# vectors); the weight used in forward is weight_orig / (u . weight_orig v).


def is_spectral_normalized(linear: nn.Module) -> bool:
    return hasattr(linear, "weight_orig") and hasattr(linear, "weight_u")


def spectral_normalize(linear: nn.Linear) -> nn.Linear:
    """Spectrally normalise ``linear`` in place (idempotent).

    The power-iteration vectors start at the exact top singular vectors, so
    the largest singular value of the effective weight is 1 from the first
    update on, instead of after many updates' worth of power iterations.
    """
    if not is_spectral_normalized(linear):
        torch.nn.utils.spectral_norm(linear)
    with torch.no_grad():
        u, v = top_singular_vectors(linear.weight_orig)
        linear.weight_u.copy_(u)
        linear.weight_v.copy_(v)
    return linear


def top_singular_vectors(weight: Tensor):
    """(u, v): the left and right singular vectors of ``weight``'s largest
    singular value, in float32, so that ``u . weight v`` is that value."""
    u, _, vh = torch.linalg.svd(weight.detach().float(), full_matrices=False)
    return u[:, 0], vh[0]


def effective_weight(linear: nn.Module) -> Tensor:
    """The weight matrix ``linear`` applies in eval mode."""
    if not is_spectral_normalized(linear):
        return linear.weight
    w = linear.weight_orig
    sigma = torch.dot(linear.weight_u, torch.mv(w, linear.weight_v))
    return w / sigma


def largest_singular_value(linear: nn.Module) -> float:
    return torch.linalg.matrix_norm(effective_weight(linear).detach().float(), ord=2).item()


HEAD_SCOPES = ("all", "out_proj")


def spectral_normalize_head(head: nn.Module, scope: str = "all") -> List[str]:
    """Apply R4F's constraint to a classification head; returns the layer names.

    ``all``: every linear layer of the head (the paper: "all the weight
    matrices" of the head are 1-Lipschitz). ``out_proj``: only the output
    projection, what fairseq's --spectral-norm-classification-head does.
    """
    if scope not in HEAD_SCOPES:
        raise ValueError(f"--spectral-norm-head must be one of {HEAD_SCOPES}; got {scope!r}")
    if scope == "out_proj":
        layers = {"out_proj": head.out_proj}
    else:
        layers = {n: m for n, m in head.named_modules() if isinstance(m, nn.Linear)}
    for layer in layers.values():
        spectral_normalize(layer)
    return sorted(layers)


def spectral_norm_to_plain_weight(state_dict: Dict[str, Tensor], layer_prefix: str) -> Tensor:
    """The effective weight of a spectrally normalised layer stored in a state dict."""
    w = state_dict[layer_prefix + "weight_orig"]
    u = state_dict[layer_prefix + "weight_u"]
    v = state_dict[layer_prefix + "weight_v"]
    return w / torch.dot(u, torch.mv(w, v))


# --------------------------------------------------------------------------
# Adversarial perturbations (the SMART and FreeLB baselines)
# --------------------------------------------------------------------------
# A perturbation delta has the shape of the token embeddings, (batch, time, dim).
# SMART measures it per token (``per="token"``: a norm over dim); FreeLB per
# sentence (``per="example"``: one norm over time x dim).

NORMS = ("inf", "l2")
_TINY = 1e-8  # keeps a zero gradient from dividing by zero (FreeLB's clamp)


def _norm(x: Tensor, norm: str, per: str) -> Tensor:
    dims = (-1,) if per == "token" else tuple(range(1, x.dim()))
    x = x.float()
    if norm == "inf":
        return x.abs().amax(dim=dims, keepdim=True)
    return x.pow(2).sum(dim=dims, keepdim=True).sqrt()


def normalized(grad: Tensor, norm: str = "l2", per: str = "token") -> Tensor:
    """``grad / ||grad||`` (inf or l2 norm, per token or per example): the
    direction of a normalised gradient-ascent step on a perturbation."""
    return (grad.float() / _norm(grad, norm, per).clamp(min=_TINY)).to(grad.dtype)


def project(delta: Tensor, radius: float, norm: str = "l2", per: str = "token") -> Tensor:
    """The closest point to ``delta`` in the ball ``||delta|| <= radius``:
    clamping for the inf norm, rescaling (only if outside) for l2."""
    if norm == "inf":
        return delta.clamp(-radius, radius)
    scale = (radius / _norm(delta, "l2", per).clamp(min=_TINY)).clamp(max=1.0)
    return (delta.float() * scale).to(delta.dtype)


def freelb_initial_perturbation(shape, keep: Tensor, init_mag: float, dtype=torch.float32) -> Tensor:
    """FreeLB's delta_0: U(-1, 1) on real tokens, 0 on padding, scaled per
    sentence by ``init_mag / sqrt(tokens x dim)`` (so its l2 norm is about
    ``init_mag / sqrt(3)`` whatever the sentence length). ``keep``: (batch,
    time), True on real tokens."""
    keep = keep.to(torch.float32).unsqueeze(-1)
    delta = (torch.rand(shape, device=keep.device) * 2.0 - 1.0) * keep
    size = keep.sum(dim=(1, 2)) * shape[-1]
    delta = delta * (init_mag / size.clamp(min=1).sqrt()).view(-1, 1, 1)
    return delta.to(dtype)
