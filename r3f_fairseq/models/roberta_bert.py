"""``--arch roberta_bert``: fairseq RoBERTa with BERT's LayerNorm epsilon.

A BERT-family checkpoint (BERT, MiniLM, ...) converted by
:mod:`r3f_fairseq.conversion.hf_bert` is a post-LN RoBERTa in every respect
but one: its LayerNorms use eps = 1e-12 where fairseq's use 1e-5. On
all-MiniLM-L6-v2 that alone moves the final hidden states by ~3e-3; with
``--layer-norm-eps 1e-12`` (this arch's default) they match BERT within 1e-4.
Everything else (flags, heads, checkpoints, the hub interface) is RoBERTa's.
"""

from fairseq.models import register_model, register_model_architecture
from fairseq.models.roberta import RobertaModel
from fairseq.models.roberta.model import base_architecture
from torch import nn

BERT_LAYER_NORM_EPS = 1e-12


def set_layer_norm_eps(module: nn.Module, eps: float) -> None:
    for m in module.modules():
        if "LayerNorm" in type(m).__name__ and hasattr(m, "eps"):
            m.eps = eps


@register_model("roberta_bert")
class RobertaBertModel(RobertaModel):
    @staticmethod
    def add_args(parser):
        RobertaModel.add_args(parser)
        parser.add_argument("--layer-norm-eps", type=float, metavar="EPS",
                            help=f"epsilon of every LayerNorm (BERT: {BERT_LAYER_NORM_EPS}, fairseq: 1e-5)")

    @classmethod
    def build_model(cls, args, task):
        roberta_bert_architecture(args)
        model = super().build_model(args, task)
        set_layer_norm_eps(model, args.layer_norm_eps)
        return model


@register_model_architecture("roberta_bert", "roberta_bert")
def roberta_bert_architecture(args):
    if getattr(args, "layer_norm_eps", None) is None:
        args.layer_norm_eps = BERT_LAYER_NORM_EPS
    base_architecture(args)
