"""``sentence_prediction_r3f``: fairseq's sentence_prediction loss + lambda * R3F term.

    loss = stock sentence_prediction loss (summed over the batch)
         + r3f_lambda * sum_i SymKL( f(x_i) || f(x_i + z_i) )       classification
         + r3f_lambda * sum_i ( f(x_i) - f(x_i + z_i) )^2          --regression-target

Both parts are sums over sentences and fairseq divides the gradient by
sample_size (= sentences), so lambda weighs a per-sentence penalty against a
per-sentence loss. The stock criterion runs unchanged for the clean pass, so
accuracy, MCC (--report-mcc), F1 (--report-acc-and-f1) and Pearson/Spearman
(--report-pearson-and-spearman) are logged exactly as fairseq logs them; the
penalty is logged as ``symm_kl`` (or ``sq_diff`` for regression) per sentence.
Works for any fairseq model with ``classification_heads``: RoBERTa, XLM-R, BART.
"""

from dataclasses import dataclass

from fairseq.criterions import register_criterion
from fairseq.criterions.sentence_prediction import (
    SentencePredictionConfig,
    SentencePredictionCriterion,
)

from r3f_fairseq.criterions.r3f_config import R3FConfig, R3FTerm, log_penalty
from r3f_fairseq.embedding_perturbation import perturbed_token_embeddings, recorded_output
from r3f_fairseq.regularizers import squared_difference, symmetric_kl


@dataclass
class SentencePredictionR3FConfig(SentencePredictionConfig, R3FConfig):
    pass


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
        self.r3f = R3FTerm(cfg.eps, cfg.r3f_lambda, cfg.noise_type)
        self.penalty_name = "sq_diff" if self.regression_target else "symm_kl"

    def forward(self, model, sample, reduce=True):
        head = classification_head(model, self.classification_head_name)
        with recorded_output(head) as clean:
            loss, sample_size, logging_output = super().forward(model, sample, reduce)
        if not self.r3f.active(model):
            return loss, sample_size, logging_output

        net_input = sample["net_input"]
        with perturbed_token_embeddings(model, net_input["src_tokens"], self.r3f.noise):
            noised, _ = model(
                **net_input,
                features_only=True,
                classification_head_name=self.classification_head_name,
            )
        if self.regression_target:
            penalty = squared_difference(clean.output, noised)
        else:
            penalty = symmetric_kl(clean.output, noised)
        loss = loss + self.r3f.r3f_lambda * penalty
        logging_output["loss"] = loss.data
        logging_output[self.penalty_name] = penalty.data
        return loss, sample_size, logging_output

    @staticmethod
    def reduce_metrics(logging_outputs) -> None:
        SentencePredictionCriterion.reduce_metrics(logging_outputs)
        log_penalty("symm_kl", logging_outputs)
        log_penalty("sq_diff", logging_outputs)
