"""Importing r3f_fairseq is light; our criteria and tasks reach fairseq's registries whatever the import order."""

import subprocess
import sys

import pytest

CHECK = """
import sys
from fairseq.criterions import CRITERION_REGISTRY
from fairseq.tasks import TASK_REGISTRY
missing = [name for name in ("sentence_prediction_r3f", "label_smoothed_cross_entropy_r3f", "sentence_prediction_smart")
           if name not in CRITERION_REGISTRY]
missing += [name for name in ("sentence_prediction_r4f", "sentence_prediction_freelb") if name not in TASK_REGISTRY]
assert not missing, missing
import torch.serialization
assert any("omegaconf" in repr(g) for g in torch.serialization.get_safe_globals()), "compat not applied"
"""


def run(code: str) -> None:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.slow  # two fresh interpreters importing fairseq and torch
@pytest.mark.parametrize("first", [
    # r3f_fairseq first: nothing heavy yet, registration when fairseq is imported
    "import r3f_fairseq, sys\nassert 'torch' not in sys.modules and 'fairseq' not in sys.modules\n",
    # fairseq first, as --user-dir does it
    "import fairseq\nimport r3f_fairseq\n",
])
def test_registered_in_any_import_order(first):
    run(first + CHECK)
