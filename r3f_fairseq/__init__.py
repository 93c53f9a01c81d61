"""r3f_fairseq: R3F/R4F fine-tuning (Aghajanyan et al., 2020) as fairseq plugins.

Load with ``fairseq-train --user-dir /path/to/r3f_fairseq`` (or ``import
r3f_fairseq`` in Python). Registration adds the criteria
``sentence_prediction_r3f`` and ``label_smoothed_cross_entropy_r3f``, the
tasks ``sentence_prediction_r4f`` (R4F's 1-Lipschitz head), the baselines
``sentence_prediction_smart`` (criterion) and ``sentence_prediction_freelb``
(task), and applies the checkpoint-loading fixes in
:mod:`r3f_fairseq.compat`.

Registration needs torch and fairseq, which the tools in this package (ROUGE,
data preparation) never use, so importing ``r3f_fairseq`` alone stays light:

* if fairseq is already imported (``--user-dir``: fairseq imports us), we
  register at once;
* otherwise we register the moment ``import fairseq`` completes, so
  ``import r3f_fairseq`` followed by any use of fairseq keeps working;
* :func:`register` does it explicitly (idempotent).
"""

import importlib.abc
import importlib.util
import sys

__version__ = "0.1.0"

from r3f_fairseq.user_dir import USER_DIR  # noqa: E402,F401  (the directory to pass to --user-dir)


def register() -> None:
    """Apply :mod:`r3f_fairseq.compat` and register our criteria, tasks and models with fairseq."""
    from r3f_fairseq import criterions, models, tasks  # noqa: F401  (each applies compat first)


class _RegisterAfterFairseqImport(importlib.abc.MetaPathFinder):
    """Finds ``fairseq`` like the other finders do, and calls :func:`register` once it has loaded."""

    def find_spec(self, name, path=None, target=None):
        if name != "fairseq":
            return None
        sys.meta_path.remove(self)  # one shot; also keeps find_spec below from coming back here
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_register(module):
            exec_module(module)
            register()

        spec.loader.exec_module = exec_then_register
        return spec


if "fairseq" in sys.modules:
    register()
elif not any(isinstance(finder, _RegisterAfterFairseqImport) for finder in sys.meta_path):
    sys.meta_path.insert(0, _RegisterAfterFairseqImport())
