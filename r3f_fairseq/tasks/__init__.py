"""Tasks (R4F's 1-Lipschitz head, FreeLB's training step); importing this package registers them."""

from r3f_fairseq.tasks import sentence_prediction_freelb, sentence_prediction_r4f  # noqa: F401
