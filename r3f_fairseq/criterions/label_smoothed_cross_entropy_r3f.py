"""``label_smoothed_cross_entropy_r3f``: label-smoothed NLL + lambda * R3F term,
for sequence-to-sequence models (BART with ``--task translation``).

    loss = stock label_smoothed_cross_entropy loss (summed over target tokens)
         + r3f_lambda * sum_{t : target_t != pad} SymKL( p(.|x)_t || p(.|x + z)_t )

Normalisation: both parts are sums over the same non-padding target
positions, and fairseq divides by sample_size -- target tokens, or sentences
with --sentence-avg -- exactly as for the NLL. So lambda weighs a per-token
symmetric KL against a per-token NLL here and a per-sentence KL against a
per-sentence loss in sentence_prediction_r3f: it means the same in both.
(Upstream summed the KL over padding too and rescaled it by ntokens/batch.)

Noise (``normal`` by default, as upstream) is added to the encoder's source
token embeddings only; the decoder's inputs stay clean. The penalty is
logged as ``symm_kl`` per sample_size unit, in nats.
"""

from dataclasses import dataclass, field

from fairseq.criterions import register_criterion
from fairseq.criterions.label_smoothed_cross_entropy import (
    LabelSmoothedCrossEntropyCriterion,
    LabelSmoothedCrossEntropyCriterionConfig,
)

from r3f_fairseq.criterions.r3f_config import (
    NOISE_TYPE_CHOICES,
    R3FConfig,
    R3FTerm,
    log_penalty,
)
from r3f_fairseq.embedding_perturbation import (
    encoder_token_embedding,
    perturbed_token_embeddings,
    recorded_output,
)
from r3f_fairseq.regularizers import symmetric_kl


@dataclass
class LabelSmoothedCrossEntropyR3FConfig(LabelSmoothedCrossEntropyCriterionConfig, R3FConfig):
    noise_type: NOISE_TYPE_CHOICES = field(
        default="normal",
        metadata={"help": "distribution of the noise added to the source token embeddings"},
    )


@register_criterion(
    "label_smoothed_cross_entropy_r3f", dataclass=LabelSmoothedCrossEntropyR3FConfig
)
class LabelSmoothedCrossEntropyR3FCriterion(LabelSmoothedCrossEntropyCriterion):
    def __init__(
        self,
        task,
        sentence_avg,
        label_smoothing,
        eps,
        r3f_lambda,
        noise_type,
        ignore_prefix_size=0,
        report_accuracy=False,
    ):
        super().__init__(task, sentence_avg, label_smoothing, ignore_prefix_size, report_accuracy)
        # NB: the parent keeps label smoothing in self.eps; the noise lives in self.r3f.
        self.r3f = R3FTerm(eps, r3f_lambda, noise_type)

    def forward(self, model, sample, reduce=True):
        if self.r3f.r3f_lambda > 0:
            encoder_token_embedding(model)  # fail on the first batch, not silently
        with recorded_output(model) as clean:
            loss, sample_size, logging_output = super().forward(model, sample, reduce)
        if not self.r3f.active(model):
            return loss, sample_size, logging_output

        net_input = sample["net_input"]
        with perturbed_token_embeddings(model, net_input["src_tokens"], self.r3f.noise):
            noised = model(**net_input)
        target = model.get_targets(sample, noised)
        clean_logits, noised_logits = clean.output[0], noised[0]
        if self.ignore_prefix_size > 0:
            clean_logits = clean_logits[:, self.ignore_prefix_size :]
            noised_logits = noised_logits[:, self.ignore_prefix_size :]
            target = target[:, self.ignore_prefix_size :]
        penalty = symmetric_kl(clean_logits, noised_logits, mask=target.ne(self.padding_idx))
        loss = loss + self.r3f.r3f_lambda * penalty
        logging_output["loss"] = loss.data
        logging_output["symm_kl"] = penalty.data
        return loss, sample_size, logging_output

    @classmethod
    def reduce_metrics(cls, logging_outputs) -> None:
        super().reduce_metrics(logging_outputs)
        log_penalty("symm_kl", logging_outputs)
