"""ROUGE-1/2/L/Lsum identical to rouge-score 0.1.2, fast, with files2rouge's sentence splitting.

* :mod:`~r3f_fairseq.rouge.sentences`: sentence splitting and PTB tokenisation;
* :mod:`~r3f_fairseq.rouge.lcs`: the bit-parallel LCS (rouge-score's choice of LCS);
* :mod:`~r3f_fairseq.rouge.scorer`: per-example scores, in several processes;
* :mod:`~r3f_fairseq.rouge.corpus`: corpus means and bootstrap intervals;
* :mod:`~r3f_fairseq.rouge.cli`: the ``r3f-rouge`` command (``python -m r3f_fairseq.rouge``).

Nothing here imports torch or fairseq.
"""

from r3f_fairseq.rouge.cli import main, read_summaries  # noqa: F401
from r3f_fairseq.rouge.corpus import aggregate, markdown  # noqa: F401
from r3f_fairseq.rouge.scorer import METRICS, score, score_pairs  # noqa: F401
from r3f_fairseq.rouge.sentences import ptb_tokenize, split_sentences  # noqa: F401
