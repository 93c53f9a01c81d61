"""``sentence_prediction_freelb``: the FreeLB baseline (Zhu et al., 2020) as a task.

FreeLB needs several forward/backward passes per update, so it lives in the
task's ``train_step`` and works with any sentence-prediction criterion (use
the stock ``--criterion sentence_prediction``). ``--adv-steps N`` means what
it means in the official release (zhuchen03/FreeLB, fairseq-RoBERTa): N ascent
steps, so N + 1 passes. For each batch:

    delta_0 = U(-1, 1) * mask * adv_init_mag / sqrt(tokens x dim)      (0 if --adv-init-mag 0)
    for k = 0..N:
        L_k = criterion(model, batch with token embeddings + delta_k)
        backward(L_k / (N + 1))            parameter gradients accumulate: their mean over the passes
        delta_k+1 = delta_k + adv_lr * g / ||g||_2     g = dL_k / d delta, norm per sentence
        delta_k+1 = Proj_{||delta|| <= adv_max_norm}(delta_k+1)          (skipped if 0)

and the optimizer then takes one step with the averaged gradient. As in the
release, every pass uses the dropout masks of the first pass (its random draws
are replayed), so the passes differ only by delta; ``--adv-redraw-dropout``
draws new masks at every pass. Cost: N + 1 forward+backward passes. Under
data-parallel training the gradients are synchronised once, after the last.

Defaults (N = 1, alpha = 0.1, init 0.16, no projection) are of the order of
the release's RoBERTa-large GLUE scripts, which tune them per task (e.g.
STS-B: --adv-steps 2 or 3, --adv-lr 0.1, --rand-init-mag 0.16, --max-norm
0.28; their ``--rand-init-mag`` and ``--max-norm`` are our ``--adv-init-mag``
and ``--adv-max-norm``).
"""

import contextlib
from dataclasses import dataclass, field

import torch
import torch.distributed as dist
from fairseq.tasks import register_task
from fairseq.tasks.sentence_prediction import SentencePredictionConfig, SentencePredictionTask

from r3f_fairseq.embedding_perturbation import encoder_token_embedding, perturbed_token_embeddings
from r3f_fairseq.regularizers import check_finite, freelb_initial_perturbation, normalized, project


@dataclass
class SentencePredictionFreeLBConfig(SentencePredictionConfig):
    adv_steps: int = field(
        default=1, metadata={"help": "ascent steps N on the perturbation, as in the FreeLB release: "
                                     "N + 1 forward/backward passes per update"})
    adv_lr: float = field(default=1e-1, metadata={"help": "ascent step size alpha on the perturbation"})
    adv_init_mag: float = field(
        default=1.6e-1, metadata={"help": "magnitude of the initial uniform perturbation; 0 starts from zero"})
    adv_max_norm: float = field(
        default=0.0, metadata={"help": "radius of the l2 ball (per sentence) the perturbation is projected onto; "
                                       "0 = no projection"})
    adv_redraw_dropout: bool = field(
        default=False, metadata={"help": "draw new dropout masks at every pass (the release reuses the "
                                         "first pass's masks, so the passes differ only by the perturbation)"})


def check_freelb_options(cfg) -> None:
    """Reject meaningless FreeLB settings at start-up, naming the flag."""
    if cfg.adv_steps < 0:
        raise ValueError(f"--adv-steps must be >= 0; got {cfg.adv_steps}")
    for flag, value in (("--adv-lr", cfg.adv_lr), ("--adv-init-mag", cfg.adv_init_mag),
                        ("--adv-max-norm", cfg.adv_max_norm)):
        check_finite(flag, value)
        if value < 0:
            raise ValueError(f"{flag} must be >= 0; got {value}")


class _RandomDraws:
    """A snapshot of torch's generators, to replay the first pass's dropout masks
    in the later passes (backward and the ascent step draw nothing)."""

    def __init__(self, device):
        self.cuda = device.type == "cuda"
        self.cpu_state = torch.get_rng_state()
        self.cuda_state = torch.cuda.get_rng_state(device) if self.cuda else None
        self.device = device

    def replay(self):
        torch.set_rng_state(self.cpu_state)
        if self.cuda:
            torch.cuda.set_rng_state(self.cuda_state, self.device)


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
        passes = self.cfg.adv_steps + 1
        first_pass_draws = _RandomDraws(tokens.device)
        total_loss, first_log = 0.0, None
        for k in range(passes):
            if k > 0 and not self.cfg.adv_redraw_dropout:
                first_pass_draws.replay()
            delta.requires_grad_()
            last = k == passes - 1
            with _gradient_sync(model, enabled=last):
                with torch.autocast("cuda") if isinstance(optimizer, AMPOptimizer) else contextlib.nullcontext():
                    with perturbed_token_embeddings(model, tokens, lambda e: e + delta):
                        loss, sample_size, logging_output = criterion(model, sample)
                loss = loss / passes
                if ignore_grad:
                    loss = loss * 0
                optimizer.backward(loss)
            total_loss = total_loss + loss.detach()
            first_log = first_log or logging_output
            if not last:
                delta = self.ascend(delta.detach(), delta.grad.detach(), keep)
        # metrics of the first pass (closest to clean); loss = the mean over the passes
        logging_output = dict(first_log, loss=total_loss.data)
        return total_loss, sample_size, logging_output
