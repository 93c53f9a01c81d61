"""Models; importing this package registers them with fairseq."""

from r3f_fairseq import compat

compat.apply()  # the checkpoint-loading fixes come with every registration path

from r3f_fairseq.models import roberta_bert  # noqa: E402,F401
