"""``sentence_prediction_r3f``: fairseq's sentence_prediction loss + lambda * R3F term.

    loss = stock sentence_prediction loss (summed over the batch)
         + r3f_lambda * sum_i SymKL( f(x_i) || f(x_i + z_i) )       classification
         + r3f_lambda * sum_i ( f(x_i) - f(x_i + z_i) )^2          --regression-target --r3f-regression-penalty sq_diff

Both parts are sums over sentences and fairseq divides the gradient by
sample_size (= sentences), so lambda weighs a per-sentence penalty against a
per-sentence loss, exactly as upstream (examples/rxf) does. The stock criterion
runs unchanged for the clean pass, so accuracy, MCC (--report-mcc), F1
(--report-acc-and-f1) and Pearson/Spearman (--report-pearson-and-spearman) are
logged exactly as fairseq logs them; the penalty is logged as ``symm_kl`` (or
``sq_diff``) per sentence. Works for any fairseq model with
``classification_heads``: RoBERTa, XLM-R, BART.

As upstream, the noised pass reads a detached copy of the token embeddings
(``--r3f-embedding-grad clean``): the embedding matrix learns from the clean
pass only. With ``--regression-target`` upstream adds no term (a softmax over
one output is constant, so its KL is 0); that stays the default, and
``--r3f-regression-penalty sq_diff`` adds our squared-difference term.

``--r3f-joint-forward`` runs the clean and the noised copy of the batch as one
batch of 2B sentences (one forward and one backward with larger matrix
products) instead of two passes. The loss is the same function; only the order
in which the noise and dropout draw random numbers differs.
"""

import logging
from dataclasses import dataclass, field

from fairseq.criterions import register_criterion
from fairseq.dataclass import ChoiceEnum
from fairseq.criterions.sentence_prediction import (
    SentencePredictionConfig,
    SentencePredictionCriterion,
)

from r3f_fairseq.criterions.r3f_config import R3FConfig, R3FTerm, log_penalty
from r3f_fairseq.embedding_perturbation import doubled, on_second_half, perturbed_token_embeddings, recorded_output
from r3f_fairseq.regularizers import squared_difference, symmetric_kl

logger = logging.getLogger(__name__)
REGRESSION_PENALTIES = ("none", "sq_diff")


@dataclass
class SentencePredictionR3FConfig(SentencePredictionConfig, R3FConfig):
    r3f_joint_forward: bool = field(
        default=False,
        metadata={"help": "run the clean and the noised pass as one batch of 2B sentences "
                          "(same loss; one larger forward/backward instead of two)"},
    )
    r3f_regression_penalty: ChoiceEnum(list(REGRESSION_PENALTIES)) = field(
        default="none",
        metadata={"help": "with --regression-target: 'none' (as upstream: no R3F term, the KL of "
                          "one output is 0) or 'sq_diff' (lambda * squared difference of the clean "
                          "and noised predictions)"},
    )


def classification_head(model, name):
    heads = getattr(model, "classification_heads", None)
    if heads is None or name not in heads:
        available = sorted(heads.keys()) if heads is not None else []
        raise ValueError(
            f"--classification-head-name {name!r}: {type(model).__name__} has no such "
            f"classification head (it has: {available or 'none'}); sentence-prediction "
            "criteria need a model with classification_heads (roberta, xlmr, bart) "
            "built by a sentence-prediction task"
        )
    return heads[name]


@register_criterion("sentence_prediction_r3f", dataclass=SentencePredictionR3FConfig)
class SentencePredictionR3FCriterion(SentencePredictionCriterion):
    def __init__(self, cfg: SentencePredictionR3FConfig, task):
        super().__init__(cfg, task)
        self.r3f = R3FTerm(cfg.eps, cfg.r3f_lambda, cfg.noise_type, cfg.r3f_embedding_grad)
        self.penalty_name = "sq_diff" if self.regression_target else "symm_kl"
        self.joint_forward = cfg.r3f_joint_forward
        self.skip_penalty = self.regression_target and str(cfg.r3f_regression_penalty) == "none"
        if self.skip_penalty and self.r3f.r3f_lambda > 0:
            logger.warning("R3F with --regression-target adds no term by default (as upstream "
                           "examples/rxf); --r3f-regression-penalty sq_diff adds lambda * (f(x) - f(x+z))^2")

    def outputs(self, model, net_input):
        return model(**net_input, features_only=True, classification_head_name=self.classification_head_name)

    def clean_and_noised_in_one_batch(self, model, net_input):
        """Head outputs on the batch and on its noised copy, from one forward of 2B sentences."""
        both = doubled(net_input)
        with perturbed_token_embeddings(model, both["src_tokens"], on_second_half(self.r3f.perturb)):
            logits, extra = self.outputs(model, both)
        clean, noised = logits.chunk(2)
        return clean, extra, noised

    def forward(self, model, sample, reduce=True):
        head = classification_head(model, self.classification_head_name)
        if not self.r3f.active(model) or self.skip_penalty:
            return super().forward(model, sample, reduce)
        if self.joint_forward:
            clean, extra, noised = self.clean_and_noised_in_one_batch(model, sample["net_input"])
            loss, sample_size, logging_output = super().forward(_Replay(model, (clean, extra)), sample, reduce)
        else:
            with recorded_output(head) as record:
                loss, sample_size, logging_output = super().forward(model, sample, reduce)
            clean = record.output
            with perturbed_token_embeddings(model, sample["net_input"]["src_tokens"], self.r3f.perturb):
                noised, _ = self.outputs(model, sample["net_input"])
        if self.regression_target:
            penalty = squared_difference(clean, noised)
        else:
            penalty = symmetric_kl(clean, noised)
        loss = loss + self.r3f.r3f_lambda * penalty
        logging_output["loss"] = loss.data
        logging_output[self.penalty_name] = penalty.data
        return loss, sample_size, logging_output

    @staticmethod
    def reduce_metrics(logging_outputs) -> None:
        SentencePredictionCriterion.reduce_metrics(logging_outputs)
        log_penalty("symm_kl", logging_outputs)
        log_penalty("sq_diff", logging_outputs)


class _Replay:
    """Stands in for the model inside the stock criterion, answering its call with
    outputs already computed (the clean half of a joint batch); everything else
    (classification_heads, get_targets, training, ...) is the model's."""

    def __init__(self, model, output):
        self._model, self._output = model, output

    def __call__(self, *args, **kwargs):
        return self._output

    def __getattr__(self, name):
        return getattr(self._model, name)
