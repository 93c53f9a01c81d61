"""``sentence_prediction_r4f``: fairseq's sentence_prediction with a 1-Lipschitz head.

R4F = R3F + spectral normalisation of the classification head. Two scopes:

* ``--spectral-norm-head all`` (default, the paper's R4F): every linear layer
  of the head (``dense`` and ``out_proj``) is spectrally normalised, so the
  whole head -- linear, tanh (1-Lipschitz), linear -- is 1-Lipschitz.
* ``--spectral-norm-head out_proj``: only the output projection, the same as
  fairseq's model flag ``--spectral-norm-classification-head`` (which also
  works with the stock ``--task sentence_prediction``).

Use with ``--criterion sentence_prediction_r3f``. The flag is saved with the
task in every checkpoint, so restore, auto-resume, fairseq-validate and
``from_pretrained`` rebuild the same head (checkpoint loading of spectrally
normalised heads is fixed in :mod:`r3f_fairseq.compat`).
"""

import logging
from dataclasses import dataclass, field

from fairseq.dataclass import ChoiceEnum
from fairseq.tasks import register_task
from fairseq.tasks.sentence_prediction import SentencePredictionConfig, SentencePredictionTask

from r3f_fairseq.regularizers import HEAD_SCOPES, spectral_normalize_head

logger = logging.getLogger(__name__)


@dataclass
class SentencePredictionR4FConfig(SentencePredictionConfig):
    spectral_norm_head: ChoiceEnum(list(HEAD_SCOPES)) = field(
        default="all",
        metadata={"help": "which linear layers of the classification head to spectrally "
                          "normalise: 'all' (the paper's R4F) or 'out_proj' (as fairseq's "
                          "--spectral-norm-classification-head)"},
    )


@register_task("sentence_prediction_r4f", dataclass=SentencePredictionR4FConfig)
class SentencePredictionR4FTask(SentencePredictionTask):
    def build_model(self, cfg, from_checkpoint=False):
        model = super().build_model(cfg, from_checkpoint)
        head = model.classification_heads[self.cfg.classification_head_name]
        layers = spectral_normalize_head(head, str(self.cfg.spectral_norm_head))
        logger.info(
            "R4F: spectral norm on classification head %r, layers: %s",
            self.cfg.classification_head_name, ", ".join(layers),
        )
        return model
