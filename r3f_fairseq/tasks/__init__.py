"""Tasks; importing this package registers them with fairseq."""

from r3f_fairseq.tasks import sentence_prediction_r4f  # noqa: F401
