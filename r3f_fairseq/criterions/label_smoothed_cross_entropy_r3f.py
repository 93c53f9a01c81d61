"""``label_smoothed_cross_entropy_r3f``: label-smoothed NLL + lambda * R3F term,
for sequence-to-sequence models (BART with ``--task translation``).

    penalty = sum_{t : target_t != pad} SymKL( p(.|x)_t || p(.|x + z)_t )      (summed over the batch)
    loss    = stock label_smoothed_cross_entropy loss (summed over target tokens)
            + r3f_lambda * penalty * sample_size / B      --r3f-kl-average sentence (default, upstream)
            + r3f_lambda * penalty                        --r3f-kl-average token

fairseq divides the loss by sample_size (target tokens, or sentences with
--sentence-avg). With ``sentence`` (upstream examples/rxf's weighting) the
gradient therefore sees lambda * (KL summed over a target's tokens, averaged
over the B sentences) whatever --sentence-avg says, against the token-averaged
NLL: the paper's lambda. With ``token`` the KL is normalised exactly like the
NLL (per target token), which makes lambda about ntokens/B (~100 on CNN/DM)
times weaker for the same value. Padding positions are masked in both
(upstream also summed the KL over padding).

Noise (``normal`` by default, as upstream) is added to the encoder's source
token embeddings only; the decoder's inputs stay clean. As upstream, the
noised pass's embedding gradient reaches the (shared) embedding matrix
(``--r3f-embedding-grad both``). The penalty is logged as ``symm_kl`` per
sample_size unit, in nats.
"""

from dataclasses import dataclass, field

from fairseq.criterions import register_criterion
from fairseq.dataclass import ChoiceEnum
from fairseq.criterions.label_smoothed_cross_entropy import (
    LabelSmoothedCrossEntropyCriterion,
    LabelSmoothedCrossEntropyCriterionConfig,
)

from r3f_fairseq.criterions.r3f_config import (
    EMBEDDING_GRAD_CHOICES,
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

KL_AVERAGES = ("sentence", "token")


@dataclass
class LabelSmoothedCrossEntropyR3FConfig(LabelSmoothedCrossEntropyCriterionConfig, R3FConfig):
    noise_type: NOISE_TYPE_CHOICES = field(
        default="normal",
        metadata={"help": "distribution of the noise added to the source token embeddings"},
    )
    r3f_embedding_grad: EMBEDDING_GRAD_CHOICES = field(
        default="both",
        metadata={"help": "which passes train the token-embedding matrix: 'both' (as upstream's "
                          "seq2seq R3F) or 'clean' (the noised pass's lookup is detached)"},
    )
    r3f_kl_average: ChoiceEnum(list(KL_AVERAGES)) = field(
        default="sentence",
        metadata={"help": "how the symmetric KL is averaged: 'sentence' (upstream: summed over a "
                          "target's tokens, averaged over sentences) or 'token' (per target token, "
                          "like the NLL; lambda then weighs ~ntokens/B times less)"},
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
        r3f_embedding_grad="both",
        r3f_kl_average="sentence",
        ignore_prefix_size=0,
        report_accuracy=False,
    ):
        super().__init__(task, sentence_avg, label_smoothing, ignore_prefix_size, report_accuracy)
        # NB: the parent keeps label smoothing in self.eps; the noise lives in self.r3f.
        self.r3f = R3FTerm(eps, r3f_lambda, noise_type, r3f_embedding_grad)
        if str(r3f_kl_average) not in KL_AVERAGES:
            raise ValueError(f"--r3f-kl-average must be one of {', '.join(KL_AVERAGES)}; got {r3f_kl_average!r}")
        self.kl_per_sentence = str(r3f_kl_average) == "sentence"

    def forward(self, model, sample, reduce=True):
        if self.r3f.r3f_lambda > 0:
            encoder_token_embedding(model)  # fail on the first batch, not silently
        with recorded_output(model) as clean:
            loss, sample_size, logging_output = super().forward(model, sample, reduce)
        if not self.r3f.active(model):
            return loss, sample_size, logging_output

        net_input = sample["net_input"]
        with perturbed_token_embeddings(model, net_input["src_tokens"], self.r3f.perturb):
            noised = model(**net_input)
        target = model.get_targets(sample, noised)
        clean_logits, noised_logits = clean.output[0], noised[0]
        if self.ignore_prefix_size > 0:
            clean_logits = clean_logits[:, self.ignore_prefix_size :]
            noised_logits = noised_logits[:, self.ignore_prefix_size :]
            target = target[:, self.ignore_prefix_size :]
        penalty = symmetric_kl(clean_logits, noised_logits, mask=target.ne(self.padding_idx))
        if self.kl_per_sentence:  # fairseq divides by sample_size: leaves penalty / B
            penalty = penalty * sample_size / target.size(0)
        loss = loss + self.r3f.r3f_lambda * penalty
        logging_output["loss"] = loss.data
        logging_output["symm_kl"] = penalty.data
        return loss, sample_size, logging_output

    @classmethod
    def reduce_metrics(cls, logging_outputs) -> None:
        super().reduce_metrics(logging_outputs)
        log_penalty("symm_kl", logging_outputs)
