"""The R3F flags shared by every R3F criterion, and their logging.

One dataclass, so ``fairseq-train`` flags (``--eps``, ``--r3f-lambda``,
``--noise-type``) and ``fairseq-hydra-train`` YAML (``criterion.eps`` ...)
mean the same thing in every criterion.
"""

from dataclasses import dataclass, field

from fairseq.dataclass import ChoiceEnum, FairseqDataclass
from fairseq.logging import metrics

from r3f_fairseq.regularizers import NOISE_TYPES, EmbeddingNoise, check_r3f_options

NOISE_TYPE_CHOICES = ChoiceEnum(list(NOISE_TYPES))


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


class R3FTerm:
    """lambda and the noise of one criterion, checked once at start-up."""

    def __init__(self, eps: float, r3f_lambda: float, noise_type: str):
        check_r3f_options(eps, r3f_lambda, str(noise_type))
        self.r3f_lambda = float(r3f_lambda)
        self.noise = EmbeddingNoise(str(noise_type), float(eps))

    def active(self, model) -> bool:
        """The noised pass runs only while training and with lambda > 0: in
        evaluation (and with lambda = 0) the loss is the stock criterion's."""
        return model.training and self.r3f_lambda > 0


def log_penalty(name: str, logging_outputs) -> None:
    """Log ``name`` (a per-batch sum) normalised by sample_size, like the loss
    but in nats (no division by log 2). Not rounded: with the paper's eps
    (1e-5) the penalty is often below 1e-6 and would print as 0."""
    if not any(name in log for log in logging_outputs):
        return
    total = sum(log.get(name, 0) for log in logging_outputs)
    sample_size = sum(log.get("sample_size", 0) for log in logging_outputs)
    metrics.log_scalar(name, total / max(sample_size, 1), sample_size)
