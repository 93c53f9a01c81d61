"""``sentence_prediction_smart``: the SMART baseline (Jiang et al., 2020, Algorithm 1).

    loss = stock sentence_prediction loss
         + smart_lambda * sum_i SymKL( f(x_i) || f(x_i + delta_i) )         smoothness
         + smart_mu     * sum_i SymKL( f(x_i) || f_teacher(x_i) )           Bregman proximal point

delta starts as Gaussian noise N(0, sigma^2) on the token embeddings and takes
``--smart-steps`` (S) normalised gradient-ascent steps on the symmetric KL to
the clean outputs, each projected back onto the ``--smart-eps`` ball (inf or
l2 norm, per token):

    delta <- Proj_eps( delta + eta * g / ||g|| ),   g = d SymKL(f(x), f(x + delta)) / d delta

The teacher of the optional Bregman term is an exponential moving average of
the model (``theta_t~ = beta theta_t~-1 + (1 - beta) theta_t``, in eval mode)
that moves once per optimizer update, whatever --update-freq is (a criterion
call whose parameters have not changed since the last one, i.e. another
micro-batch of the same update, leaves it where it is). It is kept outside the
checkpoint: a restored run starts it again from the restored weights (see
docs/differences.md for why). For --regression-target the squared difference replaces SymKL, as in
R3F. Cost: 3 + 3S forward-pass units (S ascent forward+backward passes, plus
the adversarial forward/backward), the paper's Table 1.

Defaults are SMART's (paper section 4 and mt-dnn): sigma = 1e-5, eta = 1e-3,
eps = 1e-5, S = 1, inf norm, lambda = 1. ``--smart-mu`` defaults to 0 (no
proximal term, as in mt-dnn's released SMART); the paper uses mu = 1 and
beta = 0.99 (0.999 after 10% of training). mt-dnn calls sigma ``adv_noise_var``
but, as here, multiplies a standard normal by it.
"""

import copy
from dataclasses import dataclass, field

import torch
from fairseq.criterions import register_criterion
from fairseq.criterions.sentence_prediction import SentencePredictionConfig, SentencePredictionCriterion
from fairseq.dataclass import ChoiceEnum

from r3f_fairseq.criterions.r3f_config import log_penalty
from r3f_fairseq.criterions.sentence_prediction_r3f import classification_head
from r3f_fairseq.embedding_perturbation import (
    encoder_token_embedding,
    perturbed_token_embeddings,
    recorded_output,
    unwrapped,
)
from r3f_fairseq.regularizers import (
    NORMS,
    EmbeddingNoise,
    check_finite,
    normalized,
    project,
    squared_difference,
    symmetric_kl,
)


@dataclass
class SentencePredictionSmartConfig(SentencePredictionConfig):
    smart_lambda: float = field(default=1.0, metadata={"help": "weight of the adversarial smoothness term; 0 turns it off"})
    smart_noise_var: float = field(
        default=1e-5, metadata={"help": "scale sigma of the initial Gaussian perturbation N(0, sigma^2)"})
    smart_steps: int = field(default=1, metadata={"help": "projected gradient-ascent steps S on the perturbation"})
    smart_step_size: float = field(default=1e-3, metadata={"help": "ascent step size eta"})
    smart_eps: float = field(default=1e-5, metadata={"help": "radius of the ball the perturbation is projected onto"})
    smart_norm: ChoiceEnum(list(NORMS)) = field(
        default="inf", metadata={"help": "norm of the ascent normalisation and projection, per token"})
    smart_mu: float = field(default=0.0, metadata={"help": "weight of the Bregman proximal point term; 0 = off"})
    smart_beta: float = field(default=0.99, metadata={"help": "EMA momentum of the Bregman teacher"})


def check_smart_options(cfg) -> None:
    """Reject meaningless SMART settings at start-up, naming the flag."""
    for flag, value in (("--smart-eps", cfg.smart_eps), ("--smart-beta", cfg.smart_beta)):
        check_finite(flag, value)
    for flag, value in (("--smart-lambda", cfg.smart_lambda), ("--smart-noise-var", cfg.smart_noise_var),
                        ("--smart-steps", cfg.smart_steps), ("--smart-step-size", cfg.smart_step_size),
                        ("--smart-mu", cfg.smart_mu)):
        check_finite(flag, value)
        if value < 0:
            raise ValueError(f"{flag} must be >= 0; got {value}")
    if cfg.smart_lambda > 0 and not cfg.smart_eps > 0:
        raise ValueError(f"--smart-eps must be > 0 when --smart-lambda > 0; got {cfg.smart_eps}")
    if str(cfg.smart_norm) not in NORMS:
        raise ValueError(f"--smart-norm must be one of {', '.join(NORMS)}; got {cfg.smart_norm!r}")
    if not 0 <= cfg.smart_beta < 1:
        raise ValueError(f"--smart-beta must be in [0, 1); got {cfg.smart_beta}")


@register_criterion("sentence_prediction_smart", dataclass=SentencePredictionSmartConfig)
class SentencePredictionSmartCriterion(SentencePredictionCriterion):
    def __init__(self, cfg: SentencePredictionSmartConfig, task):
        super().__init__(cfg, task)
        check_smart_options(cfg)
        self.cfg = cfg
        self.norm = str(cfg.smart_norm)
        self.initial_noise = EmbeddingNoise("normal", float(cfg.smart_noise_var))
        self.padding_idx = task.source_dictionary.pad()
        self._teacher = []  # [EMA model], not a submodule: never optimised, never checkpointed
        self._teacher_seen = None  # parameter versions the teacher last moved towards

    def divergence(self, clean, other):
        return squared_difference(clean, other) if self.regression_target else symmetric_kl(clean, other)

    def outputs(self, model, net_input):
        out, _ = model(**net_input, features_only=True, classification_head_name=self.classification_head_name)
        return out

    def adversarial_perturbation(self, model, net_input, clean):
        """SMART's delta after S projected ascent steps from Gaussian noise.

        The ascent passes use the bare model (no DistributedDataParallel: they
        differentiate only with respect to delta) and leave no parameter gradients."""
        model = unwrapped(model)
        tokens = net_input["src_tokens"]
        embed = encoder_token_embedding(model)
        keep = tokens.ne(self.padding_idx).unsqueeze(-1)
        template = torch.empty(*tokens.shape, embed.embedding_dim, dtype=embed.weight.dtype, device=tokens.device)
        delta = self.initial_noise.sample(template) * keep
        for _ in range(self.cfg.smart_steps):
            delta.requires_grad_()
            with perturbed_token_embeddings(model, tokens, lambda e: e + delta):
                divergence = self.divergence(clean, self.outputs(model, net_input))
            grad, = torch.autograd.grad(divergence, delta)
            step = delta.detach() + self.cfg.smart_step_size * normalized(grad, self.norm, per="token")
            delta = project(step, self.cfg.smart_eps, self.norm, per="token") * keep
        return delta.detach()

    def teacher_outputs(self, model, net_input):
        """Outputs of the EMA teacher, after moving it one step towards the model
        if the optimizer has updated the model since the teacher last moved."""
        model = unwrapped(model)
        if not self._teacher:
            teacher = copy.deepcopy(model).eval()
            teacher.requires_grad_(False)
            self._teacher.append(teacher)
        teacher = self._teacher[0]
        # an optimizer step changes the parameters in place, which bumps their version
        versions = [p._version for p in model.parameters()]
        with torch.no_grad():
            if versions != self._teacher_seen:
                self._teacher_seen = versions
                for t, p in zip(teacher.parameters(), model.parameters()):
                    t.mul_(self.cfg.smart_beta).add_(p.detach(), alpha=1 - self.cfg.smart_beta)
            return self.outputs(teacher, net_input)

    def forward(self, model, sample, reduce=True):
        head = classification_head(model, self.classification_head_name)
        with recorded_output(head) as clean:
            loss, sample_size, logging_output = super().forward(model, sample, reduce)
        if not model.training or (self.cfg.smart_lambda == 0 and self.cfg.smart_mu == 0):
            return loss, sample_size, logging_output

        net_input = sample["net_input"]
        if self.cfg.smart_lambda > 0:
            delta = self.adversarial_perturbation(model, net_input, clean.output.detach())
            with perturbed_token_embeddings(model, net_input["src_tokens"], lambda e: e + delta):
                adversarial = self.divergence(clean.output, self.outputs(model, net_input))
            loss = loss + self.cfg.smart_lambda * adversarial
            logging_output["smart_adv"] = adversarial.data
        if self.cfg.smart_mu > 0:
            bregman = self.divergence(clean.output, self.teacher_outputs(model, net_input))
            loss = loss + self.cfg.smart_mu * bregman
            logging_output["bregman"] = bregman.data
        logging_output["loss"] = loss.data
        return loss, sample_size, logging_output

    @staticmethod
    def reduce_metrics(logging_outputs) -> None:
        SentencePredictionCriterion.reduce_metrics(logging_outputs)
        log_penalty("smart_adv", logging_outputs)
        log_penalty("bregman", logging_outputs)
