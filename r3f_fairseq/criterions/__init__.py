"""R3F and SMART criteria; importing this package registers them with fairseq."""

from r3f_fairseq import compat

compat.apply()  # the checkpoint-loading fixes come with every registration path

from r3f_fairseq.criterions import (  # noqa: E402,F401
    label_smoothed_cross_entropy_r3f,
    sentence_prediction_r3f,
    sentence_prediction_smart,
)
