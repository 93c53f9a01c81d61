"""Tasks (R4F's 1-Lipschitz head, FreeLB's training step, linear probes); importing this package registers them."""

from r3f_fairseq import compat

compat.apply()  # the checkpoint-loading fixes come with every registration path

from r3f_fairseq.tasks import (  # noqa: E402,F401
    sentence_prediction_freelb,
    sentence_prediction_probe,
    sentence_prediction_r4f,
)
