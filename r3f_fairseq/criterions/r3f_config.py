"""The R3F flags shared by every R3F criterion, the noised pass's input, and logging.

One dataclass, so ``fairseq-train`` flags (``--eps``, ``--r3f-lambda``,
``--noise-type``, ``--r3f-embedding-grad``) and ``fairseq-hydra-train`` YAML
(``criterion.eps`` ...) mean the same thing in every criterion.
"""

import logging
from dataclasses import dataclass, field

import torch
from fairseq.dataclass import ChoiceEnum, FairseqDataclass
from fairseq.logging import metrics
from torch import Tensor

from r3f_fairseq.regularizers import NOISE_TYPES, EmbeddingNoise, check_r3f_options

logger = logging.getLogger(__name__)

NOISE_TYPE_CHOICES = ChoiceEnum(list(NOISE_TYPES))
EMBEDDING_GRADS = ("clean", "both")
EMBEDDING_GRAD_CHOICES = ChoiceEnum(list(EMBEDDING_GRADS))


@dataclass
class R3FConfig(FairseqDataclass):
    eps: float = field(
        default=1e-5,
        metadata={"help": "noise scale: standard deviation for --noise-type normal, "
                          "half-width for --noise-type uniform"},
    )
    r3f_lambda: float = field(
        default=1.0,
        metadata={"help": "weight of the R3F smoothness term (symmetric KL) against "
                          "the task loss; 0 turns R3F off"},
    )
    noise_type: NOISE_TYPE_CHOICES = field(
        default="uniform",
        metadata={"help": "distribution of the noise added to the token embeddings"},
    )
    r3f_embedding_grad: EMBEDDING_GRAD_CHOICES = field(
        default="clean",
        metadata={"help": "which passes train the token-embedding matrix: 'clean' (the noised "
                          "pass's embedding lookup is detached, as upstream's sentence-prediction "
                          "R3F) or 'both' (as upstream's seq2seq R3F)"},
    )


class R3FTerm:
    """lambda and the noise of one criterion, checked once at start-up, and the
    input of the noised pass: ``perturb(embeddings)``."""

    def __init__(self, eps: float, r3f_lambda: float, noise_type: str, embedding_grad: str = "clean"):
        check_r3f_options(eps, r3f_lambda, str(noise_type))
        if str(embedding_grad) not in EMBEDDING_GRADS:
            raise ValueError(f"--r3f-embedding-grad must be one of {', '.join(EMBEDDING_GRADS)}; "
                             f"got {embedding_grad!r}")
        self.r3f_lambda = float(r3f_lambda)
        self.noise = EmbeddingNoise(str(noise_type), float(eps))
        self.detach_embeddings = str(embedding_grad) == "clean"
        self._precision_checked = False

    def active(self, model) -> bool:
        """The noised pass runs only while training and with lambda > 0: in
        evaluation (and with lambda = 0) the loss is the stock criterion's."""
        return model.training and self.r3f_lambda > 0

    def perturb(self, embeddings: Tensor) -> Tensor:
        """The noised pass's token embeddings: ``embeddings + z``, with the
        lookup detached under ``--r3f-embedding-grad clean``."""
        if self.detach_embeddings:
            embeddings = embeddings.detach()
        noised = self.noise(embeddings)
        if not self._precision_checked:
            self._precision_checked = True
            warn_if_noise_is_rounded_away(embeddings, noised, self.noise.eps)
        return noised


def warn_if_noise_is_rounded_away(embeddings: Tensor, noised: Tensor, eps: float) -> None:
    """Under --fp16/--bf16 the embeddings are half precision, whose resolution
    near typical embedding values (~1e-2) is ~1e-5: most of a 1e-5 noise is
    rounded away. Checked once, on the first noised batch."""
    if embeddings.dtype not in (torch.float16, torch.bfloat16):
        return
    changed = noised.ne(embeddings).float().mean().item()
    if changed < 0.9:
        logger.warning(
            "R3F: --eps %g is below the %s resolution of the token embeddings: the noise changes "
            "only %.0f%% of the embedding entries (the rest is rounded away). Train with --amp "
            "(float32 weights, noise kept) instead of --fp16/--bf16, or raise --eps.",
            eps, str(embeddings.dtype).replace("torch.", ""), 100 * changed)


def log_penalty(name: str, logging_outputs) -> None:
    """Log ``name`` (a per-batch sum) normalised by sample_size, like the loss
    but in nats (no division by log 2). Not rounded: with the paper's eps
    (1e-5) the penalty is often below 1e-6 and would print as 0."""
    if not any(name in log for log in logging_outputs):
        return
    total = sum(log.get(name, 0) for log in logging_outputs)
    sample_size = sum(log.get("sample_size", 0) for log in logging_outputs)
    metrics.log_scalar(name, total / max(sample_size, 1), sample_size)
