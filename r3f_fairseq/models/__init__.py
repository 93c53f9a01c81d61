"""Models; importing this package registers them with fairseq."""

from r3f_fairseq.models import roberta_bert  # noqa: F401
