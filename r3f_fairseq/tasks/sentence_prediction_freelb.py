"""``sentence_prediction_freelb``: the FreeLB baseline (Zhu et al., 2020) as a task.

FreeLB needs K forward/backward passes per update, so it lives in the task's
``train_step`` and works with any sentence-prediction criterion (use the stock
``--criterion sentence_prediction``). For each batch:

    delta_0 = U(-1, 1) * mask * adv_init_mag / sqrt(tokens x dim)      (0 if --adv-init-mag 0)
    for k = 1..K:
        L_k = criterion(model, batch with token embeddings + delta_{k-1})
        backward(L_k / K)                  parameter gradients accumulate: their mean over k
        delta_k = delta_{k-1} + adv_lr * g / ||g||_2     g = dL_k / d delta, norm per sentence
        delta_k = Proj_{||delta|| <= adv_max_norm}(delta_k)              (skipped if 0)

and the optimizer then takes one step with the averaged gradient. Cost: K
forward+backward passes (3K forward-pass units). Under data-parallel training
the gradients are synchronised once, after the K-th backward.

Defaults (K = 2, alpha = 0.1, init 0.16, no projection) are of the order of
FreeLB's released RoBERTa-large GLUE scripts, which tune them per task (e.g.
STS-B: K = 2, alpha = 0.1, init 0.16, max norm 0.28).
"""

import contextlib
from dataclasses import dataclass, field

import torch
import torch.distributed as dist
from fairseq.tasks import register_task
from fairseq.tasks.sentence_prediction import SentencePredictionConfig, SentencePredictionTask

from r3f_fairseq.embedding_perturbation import encoder_token_embedding, perturbed_token_embeddings
from r3f_fairseq.regularizers import freelb_initial_perturbation, normalized, project


@dataclass
class SentencePredictionFreeLBConfig(SentencePredictionConfig):
    adv_steps: int = field(default=2, metadata={"help": "ascent steps K (forward/backward passes per update)"})
    adv_lr: float = field(default=1e-1, metadata={"help": "ascent step size alpha on the perturbation"})
    adv_init_mag: float = field(
        default=1.6e-1, metadata={"help": "magnitude of the initial uniform perturbation; 0 starts from zero"})
    adv_max_norm: float = field(
        default=0.0, metadata={"help": "radius of the l2 ball (per sentence) the perturbation is projected onto; "
                                       "0 = no projection"})


def check_freelb_options(cfg) -> None:
    """Reject meaningless FreeLB settings at start-up, naming the flag."""
    if cfg.adv_steps < 1:
        raise ValueError(f"--adv-steps must be >= 1; got {cfg.adv_steps}")
    for flag, value in (("--adv-lr", cfg.adv_lr), ("--adv-init-mag", cfg.adv_init_mag),
                        ("--adv-max-norm", cfg.adv_max_norm)):
        if value < 0:
            raise ValueError(f"{flag} must be >= 0; got {value}")


def _gradient_sync(model, enabled: bool):
    """Skip DistributedDataParallel's all-reduce on all but the last backward."""
    distributed = dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
    if enabled or not distributed or not hasattr(model, "no_sync"):
        return contextlib.nullcontext()
    return model.no_sync()


@register_task("sentence_prediction_freelb", dataclass=SentencePredictionFreeLBConfig)
class SentencePredictionFreeLBTask(SentencePredictionTask):
    def __init__(self, cfg, data_dictionary, label_dictionary):
        check_freelb_options(cfg)
        super().__init__(cfg, data_dictionary, label_dictionary)

    def initial_perturbation(self, model, tokens):
        embed = encoder_token_embedding(model)
        shape = (*tokens.shape, embed.embedding_dim)
        keep = tokens.ne(self.source_dictionary.pad())
        if self.cfg.adv_init_mag > 0:
            return freelb_initial_perturbation(shape, keep, self.cfg.adv_init_mag, embed.weight.dtype), keep
        return torch.zeros(shape, dtype=embed.weight.dtype, device=tokens.device), keep

    def ascend(self, delta, grad, keep):
        """One FreeLB step on the perturbation: normalised ascent, then projection."""
        delta = delta + self.cfg.adv_lr * normalized(grad, "l2", per="example")
        if self.cfg.adv_max_norm > 0:
            delta = project(delta, self.cfg.adv_max_norm, "l2", per="example")
        return delta * keep.unsqueeze(-1)

    def train_step(self, sample, model, criterion, optimizer, update_num, ignore_grad=False):
        from fairseq.optim.amp_optimizer import AMPOptimizer

        model.train()
        model.set_num_updates(update_num)
        tokens = sample["net_input"]["src_tokens"]
        delta, keep = self.initial_perturbation(model, tokens)
        steps = self.cfg.adv_steps
        total_loss, first_log = 0.0, None
        for k in range(steps):
            delta.requires_grad_()
            last = k == steps - 1
            with _gradient_sync(model, enabled=last):
                with torch.autocast("cuda") if isinstance(optimizer, AMPOptimizer) else contextlib.nullcontext():
                    with perturbed_token_embeddings(model, tokens, lambda e: e + delta):
                        loss, sample_size, logging_output = criterion(model, sample)
                loss = loss / steps
                if ignore_grad:
                    loss = loss * 0
                optimizer.backward(loss)
            total_loss = total_loss + loss.detach()
            first_log = first_log or logging_output
            if not last:
                delta = self.ascend(delta.detach(), delta.grad.detach(), keep)
        # metrics of the first pass (closest to clean); loss = the mean over the K passes
        logging_output = dict(first_log, loss=total_loss.data)
        return total_loss, sample_size, logging_output
