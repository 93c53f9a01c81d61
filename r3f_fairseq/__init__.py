"""r3f_fairseq: R3F/R4F fine-tuning (Aghajanyan et al., 2020) as fairseq plugins.

Load with ``fairseq-train --user-dir /path/to/r3f_fairseq`` (or ``import
r3f_fairseq`` in Python). Importing registers the criteria
``sentence_prediction_r3f`` and ``label_smoothed_cross_entropy_r3f``, the
tasks ``sentence_prediction_r4f`` (R4F's 1-Lipschitz head), the baselines
``sentence_prediction_smart`` (criterion) and ``sentence_prediction_freelb``
(task), and applies the checkpoint-loading fixes in
:mod:`r3f_fairseq.compat`.
"""

import os

__version__ = "0.1.0"

#: the directory to pass to ``--user-dir``
USER_DIR = os.path.dirname(os.path.abspath(__file__))

from r3f_fairseq import compat  # noqa: E402

compat.apply()

from r3f_fairseq import criterions, models, tasks  # noqa: E402,F401
