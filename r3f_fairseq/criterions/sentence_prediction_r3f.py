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

``--r3f-joint-forward`` runs the clean and the noised copy of the batch as one
batch of 2B sentences (one forward and one backward with larger matrix
products) instead of two passes. The loss is the same function; only the order
in which the noise and dropout draw random numbers differs.
"""

from dataclasses import dataclass, field

from fairseq.criterions import register_criterion
from fairseq.criterions.sentence_prediction import (
    SentencePredictionConfig,
    SentencePredictionCriterion,
)

from r3f_fairseq.criterions.r3f_config import R3FConfig, R3FTerm, log_penalty
from r3f_fairseq.embedding_perturbation import doubled, on_second_half, perturbed_token_embeddings, recorded_output
from r3f_fairseq.regularizers import squared_difference, symmetric_kl


@dataclass
class SentencePredictionR3FConfig(SentencePredictionConfig, R3FConfig):
    r3f_joint_forward: bool = field(
        default=False,
        metadata={"help": "run the clean and the noised pass as one batch of 2B sentences "
                          "(same loss; one larger forward/backward instead of two)"},
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
        self.r3f = R3FTerm(cfg.eps, cfg.r3f_lambda, cfg.noise_type)
        self.penalty_name = "sq_diff" if self.regression_target else "symm_kl"
        self.joint_forward = cfg.r3f_joint_forward

    def outputs(self, model, net_input):
        return model(**net_input, features_only=True, classification_head_name=self.classification_head_name)

    def clean_and_noised_in_one_batch(self, model, net_input):
        """Head outputs on the batch and on its noised copy, from one forward of 2B sentences."""
        both = doubled(net_input)
        with perturbed_token_embeddings(model, both["src_tokens"], on_second_half(self.r3f.noise)):
            logits, extra = self.outputs(model, both)
        clean, noised = logits.chunk(2)
        return clean, extra, noised

    def forward(self, model, sample, reduce=True):
        head = classification_head(model, self.classification_head_name)
        if not self.r3f.active(model):
            return super().forward(model, sample, reduce)
        if self.joint_forward:
            clean, extra, noised = self.clean_and_noised_in_one_batch(model, sample["net_input"])
            loss, sample_size, logging_output = super().forward(_Replay(model, (clean, extra)), sample, reduce)
        else:
            with recorded_output(head) as record:
                loss, sample_size, logging_output = super().forward(model, sample, reduce)
            clean = record.output
            with perturbed_token_embeddings(model, sample["net_input"]["src_tokens"], self.r3f.noise):
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
