"""R3F criteria; importing this package registers them with fairseq."""

from r3f_fairseq.criterions import label_smoothed_cross_entropy_r3f, sentence_prediction_r3f  # noqa: F401
