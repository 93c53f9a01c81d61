"""``sentence_prediction_probe``: a linear probe on a frozen encoder (the paper's probing experiments).

Builds the model as ``sentence_prediction`` does, then

* replaces the classification head ``--classification-head-name`` with a fresh
  *linear* head: fairseq's head layout (``dense``, ``out_proj``) with ``dense``
  fixed to the identity and a linear activation, so the logits are
  ``out_proj(features of <s>)`` and the checkpoint loads like any RoBERTa head;
* freezes every other parameter -- embeddings, all encoder layers, the LM head
  -- so fairseq's optimiser (which only takes parameters with
  ``requires_grad``) trains ``out_proj`` alone.

Restore a fine-tuned checkpoint with ``--restore-file ... --reset-optimizer
--reset-dataloader --reset-meters`` and give the probe a head name the
checkpoint does not have (``--classification-head-name probe_head``): fairseq
then drops the checkpoint's own head and keeps the fresh one.
"""

import logging

import torch
from fairseq.models.roberta.model import RobertaClassificationHead
from fairseq.tasks import register_task
from fairseq.tasks.sentence_prediction import SentencePredictionConfig, SentencePredictionTask

logger = logging.getLogger(__name__)


def linear_probe_head(dim: int, num_classes: int, dropout: float) -> RobertaClassificationHead:
    """A linear classifier in fairseq's head layout: dense = identity (frozen), linear activation."""
    head = RobertaClassificationHead(dim, dim, num_classes, "linear", dropout)
    with torch.no_grad():
        head.dense.weight.copy_(torch.eye(dim))
        head.dense.bias.zero_()
    head.dense.requires_grad_(False)
    return head


def freeze_all_but(model: torch.nn.Module, trainable: torch.nn.Module) -> int:
    """``requires_grad = False`` on every parameter of ``model`` not in ``trainable``; returns the count trained."""
    keep = {id(p) for p in trainable.parameters()}
    for p in model.parameters():
        p.requires_grad_(id(p) in keep)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@register_task("sentence_prediction_probe", dataclass=SentencePredictionConfig)
class SentencePredictionProbeTask(SentencePredictionTask):
    def build_model(self, cfg, from_checkpoint=False):
        model = super().build_model(cfg, from_checkpoint)
        name = self.cfg.classification_head_name
        old = model.classification_heads[name]
        head = linear_probe_head(old.dense.in_features, old.out_proj.out_features, old.dropout.p)
        model.classification_heads[name] = head.to(next(old.parameters()).device)
        trained = freeze_all_but(model, head.out_proj)
        logger.info("probe: encoder frozen, training the linear head %r only (%d parameters)", name, trained)
        return model
